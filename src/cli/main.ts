/**
 * The rnn command line. The only place that reads argv, sets the exit code and prints errors.
 */
import { Command, CommanderError, Option } from 'commander';
import { ExitWith, Interrupted, isUserError, type ErrorCode, type ErrorJson } from '../errors.js';
import { availableCores, resolveCliEnv } from './env.js';
import { packageVersion } from './version.js';
import { registerTrain } from './commands/train.js';
import { registerPretrain } from './commands/pretrain.js';
import { registerEval } from './commands/eval.js';
import { registerPredict } from './commands/predict.js';
import { registerData } from './commands/data.js';
import { registerBench } from './commands/bench.js';
import { registerBenchServe } from './commands/bench-serve.js';
import { registerBenchClasses } from './commands/bench-classes.js';
import { registerBenchNeighbour } from './commands/bench-neighbour.js';
import { chalkFor, type Io } from './render.js';
import type { CliContext } from './context.js';
import { KERNEL_PREFERENCES } from '../kernels/index.js';
import { resolveThreading, threadingEnv, type Threading } from '../kernels/threading.js';
import { registerDoctor } from './commands/doctor.js';
import { registerSetupNative } from './commands/setup-native.js';
import { registerInfo } from './commands/info.js';
import { registerCompare } from './commands/compare.js';
import { registerServe } from './commands/serve.js';
import { registerExport } from './commands/export.js';
import { registerImport } from './commands/import.js';

const EXAMPLES = `
Examples:
  $ rnn train --cell lstm           train on IMDB (downloaded once into data/), save to models/lstm
  $ rnn train --cell gru --epochs 1 --limit 5000 --data aclImdb_v1.tar.gz
  $ rnn eval                        score models/latest on the test split
  $ rnn predict "A moving, beautifully acted film."
  $ cat reviews.txt | rnn predict --json
  $ rnn predict --explain "Not bad at all."   which words pushed the score, and how far
  $ rnn compare --limit 5000 --epochs 2       SimpleRNN vs LSTM vs GRU on one split, one table
  $ rnn serve --port 8080           models/latest over HTTP: curl -d '{"texts":["Great!"]}' -H 'content-type: application/json' localhost:8080/v1/predict
  $ rnn train --cell lstm --epochs 10 --early-stopping 2 --lr-schedule plateau
  $ rnn export --web site --quantize uint8      a static page that predicts and explains in the browser
  $ rnn info                        what models/latest is, how it was trained, how it scored
  $ rnn list                        every model under models/
  $ rnn data --data reviews.csv     dataset statistics
  $ rnn doctor                      which TensorFlow backend runs, and why
  $ rnn doctor --json               the same as JSON
  $ rnn setup-native --force        rebuild the native backend (libtensorflow + binding)

Environment:
  RNN_IMDB_URL           default dataset (URL or path) instead of the Stanford URL
  RNN_DATA_DIR           download cache (default ./data); RNN_MODELS_DIR models (default ./models)
  RNN_REQUIRE_NATIVE=1   fail instead of falling back to pure-JS tfjs
  RNN_SERVE_TOKEN        bearer token rnn serve requires (same as --token)
  RNN_LIBTENSORFLOW      libtensorflow directory, .tar.gz or .whl for setup-native
  RNN_CACHE_DIR          cache for libtensorflow, compiled bindings and decoded reviews (default ~/.cache/rnn)
  OMP_WAIT_POLICY        the oneDNN kernels' OpenMP threads (also GOMP_SPINCOUNT, OMP_NUM_THREADS): rnn sets PASSIVE unless you set one
  NO_COLOR               no colours
`;

/** Builds the program; exported for tests. Each command reads the global flags from its own parse (`globalFlags`). */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command();
  program
    .name('rnn')
    .description('Train, evaluate and serve SimpleRNN / LSTM / GRU sentiment classifiers for movie reviews (TensorFlow.js on Node)')
    .version(packageVersion(), '-V, --version')
    .option('--debug', 'show stack traces and native build output')
    .option('--no-color', 'no colours in output')
    .addOption(new Option('--backend <name>', 'TensorFlow backend').choices(['auto', 'native', 'gpu', 'cpu']).default('auto'))
    .option('--gpu', 'use @tensorflow/tfjs-node-gpu (same as --backend gpu)')
    .addOption(
      new Option('--kernels <name>', "recurrent kernels of the fused layers: auto (rnn's oneDNN addon when built, else tfjs), onednn, tfjs")
        .choices([...KERNEL_PREFERENCES])
        .default('auto'),
    )
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', EXAMPLES)
    .configureOutput({
      writeOut: (s) => ctx.io.out.write(s),
      writeErr: (s) => ctx.io.err.write(s),
    })
    .exitOverride();
  registerTrain(program, ctx);
  registerPretrain(program, ctx);
  registerEval(program, ctx);
  registerPredict(program, ctx);
  registerData(program, ctx);
  const bench = registerBench(program, ctx);
  registerBenchServe(bench, ctx);
  registerBenchClasses(bench, ctx);
  registerBenchNeighbour(bench, ctx);
  registerCompare(program, ctx);
  registerServe(program, ctx);
  registerExport(program, ctx);
  registerImport(program, ctx);
  registerInfo(program, ctx);
  registerDoctor(program, ctx);
  registerSetupNative(program, ctx);
  return program;
}

/** The codes of commander's usage errors (`CommanderError.code`); any other is COMMAND_USAGE. */
const COMMANDER_CODES: Record<string, ErrorCode> = {
  'commander.invalidArgument': 'OPTION_INVALID',
  'commander.unknownOption': 'OPTION_UNKNOWN',
  'commander.optionMissingArgument': 'OPTION_MISSING_VALUE',
  'commander.missingMandatoryOptionValue': 'OPTION_REQUIRED',
  'commander.conflictingOption': 'OPTION_CONFLICT',
  'commander.unknownCommand': 'COMMAND_UNKNOWN',
  'commander.missingArgument': 'COMMAND_ARGUMENT_MISSING',
  'commander.excessArguments': 'COMMAND_TOO_MANY_ARGUMENTS',
};

/**
 * Whether errors are printed as JSON: `--json` is among the arguments (before a `--`) and the command they
 * name takes `--json`, or they name no command rnn has (then the error is about that).
 */
function jsonErrorsWanted(program: Command, argv: readonly string[]): boolean {
  const { cmd, args } = namedCommand(program, argv);
  return args.includes('--json') && (cmd === program || cmd.options.some((o) => o.long === '--json'));
}

/** The command `argv` names (the program when it names none), and the arguments before a `--`. */
function namedCommand(program: Command, argv: readonly string[]): { cmd: Command; args: readonly string[] } {
  const end = argv.indexOf('--');
  const args = end < 0 ? argv : argv.slice(0, end);
  let cmd = program;
  for (const a of args) cmd = cmd.commands.find((c) => c.name() === a || c.aliases().includes(a)) ?? cmd;
  return { cmd, args };
}

/** `rnn train`, `rnn` … : how the user calls a command. */
function commandPath(cmd: Command): string {
  return cmd.parent ? `${commandPath(cmd.parent)} ${cmd.name()}` : cmd.name();
}

/** Every command of the program, the program first. */
function allCommands(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap(allCommands)];
}

/**
 * Runs the CLI and returns the exit code. `threading` is what `run` resolved and wrote into the environment
 * before anything loaded the oneDNN addon; by default it is resolved from `env` (tests).
 */
export async function main(
  argv: string[],
  io: Io,
  env: NodeJS.ProcessEnv,
  stdin: NodeJS.ReadableStream & { isTTY?: boolean } = process.stdin,
  threading: Threading = resolveThreading(env, availableCores()),
): Promise<number> {
  const cliEnv = resolveCliEnv(env);
  const colorAllowed = cliEnv.colorAllowed && !argv.includes('--no-color');
  const ctx: CliContext = {
    io,
    env: cliEnv,
    processEnv: env,
    chalkOut: chalkFor(io.out, colorAllowed),
    chalkErr: chalkFor(io.err, colorAllowed),
    stdin,
    stdinIsTTY: stdin.isTTY === true,
    argv,
    threading,
  };
  const program = buildProgram(ctx);
  // Stack traces with --debug, also for errors that come before the flags are parsed.
  const debug = (): boolean => program.opts<{ debug?: boolean }>().debug === true || argv.includes('--debug');
  const json = jsonErrorsWanted(program, argv);
  // With --json, commander's usage errors are printed below as JSON instead of by commander (help still goes to stdout).
  if (json) for (const cmd of allCommands(program)) cmd.configureOutput({ outputError: () => {}, writeErr: () => {} });
  const printJson = (error: ErrorJson): void => {
    io.err.write(`${JSON.stringify({ error })}\n`);
  };
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version exit with code 0; otherwise commander printed its message, unless it is ours to print as JSON.
      if (e.exitCode === 0) return 0;
      if (json) {
        // One line: commander adds its "(Did you mean …?)" on a line of its own.
        const message = e.message
          .replace(/^error:\s*/, '')
          .replace(/\s*\n\s*/g, ' ')
          .replace(/\.+$/, '');
        const fix = `Run \`${commandPath(namedCommand(program, argv).cmd)} --help\` for usage`;
        printJson({ code: COMMANDER_CODES[e.code] ?? 'COMMAND_USAGE', message, fix });
      }
      return 1;
    }
    const c = ctx.chalkErr;
    if (e instanceof ExitWith) return e.exitCode;
    if (e instanceof Interrupted) {
      io.err.write(`${c.yellow('interrupted:')} ${e.message}\n`);
      return e.exitCode;
    }
    if (isUserError(e)) {
      if (json) printJson(e.toJSON());
      else io.err.write(`${c.red('error:')} ${e.line}\n`);
      if (debug() && e.stack) io.err.write(`${e.stack}\n`);
      return 1;
    }
    const err = e as Error;
    const bug = 'This is a bug in rnn: rerun with --debug and report the output';
    if (json) printJson({ code: 'INTERNAL', message: String(err?.message ?? e).replace(/\.+$/, ''), fix: bug });
    else io.err.write(`${c.red('error:')} ${err?.message ?? String(e)}. ${bug}\n`);
    if (debug() && err?.stack) io.err.write(`${err.stack}\n`);
    return 1;
  }
}

/**
 * The variables `run` sets in its process's environment before `main`, and the threading they give: what a
 * caller of `main` in a process of its own sets too (the tests' in-process runs, test/helpers.ts).
 */
export function processSettings(argv: readonly string[], env: NodeJS.ProcessEnv): { set: Record<string, string>; threading: Threading } {
  const set: Record<string, string> = {};
  // TensorFlow reads this when its library loads: keep its C++ INFO lines off stderr unless --debug or the user set it.
  if (!argv.includes('--debug') && resolveCliEnv(env).tfLogLevel === undefined) set.TF_CPP_MIN_LOG_LEVEL = '2';
  // OpenMP (under the oneDNN addon) reads these when the addon loads, which no command has done yet; what the
  // user left unset gets rnn's default (src/kernels/threading.ts), also for the processes rnn starts.
  const threading = resolveThreading(env, availableCores());
  Object.assign(set, threadingEnv(threading));
  return { set, threading };
}

/** Entry point for bin/rnn: the one place the process exits, and the one that sets its environment. */
export async function run(): Promise<void> {
  const argv = process.argv.slice(2);
  const { set, threading } = processSettings(argv, process.env);
  Object.assign(process.env, set);
  const code = await main(argv, { out: process.stdout, err: process.stderr }, process.env, process.stdin, threading);
  process.stdout.write('', () => process.exit(code));
}
