/**
 * `rnn bench serve`: load-tests `rnn serve` on real IMDB test reviews (latency at one connection, reviews/s under load
 * against `rnn predict --file`, optionally a soak), starting the server as a child process. Registered under `rnn bench`.
 */
import type { Command } from 'commander';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { packageRoot } from '../env.js';
import { UserError } from '../../errors.js';
import { runServeBench, SERVE_BENCH_DEFAULTS, SERVE_BENCH_TARGETS, type ServeBenchResult, type ServerHandle } from '../../bench/serve.js';
import { resolveModelDir } from '../../io/model-dir.js';
import { globalFlags, loadRuntime, type CliContext } from '../context.js';
import { positiveInt, nonNegativeInt } from '../options.js';
import { addDataOptions, loadDataForCli, type DataFlags } from '../data-options.js';
import { StatusLine } from '../progress.js';
import { count } from '../format.js';
import { describeMachine } from '../render.js';
import { renderServeBench } from '../render-serve-bench.js';

interface ServeBenchFlags extends DataFlags {
  model?: string;
  duration: number;
  rounds: number;
  soak: number;
  overload: number;
  json?: boolean;
}

const D = SERVE_BENCH_DEFAULTS;

/** Registers `serve` under `rnn bench`. */
export function registerBenchServe(bench: Command, ctx: CliContext): void {
  const cmd = bench
    .command('serve')
    .description(
      `load-test \`rnn serve\` on real IMDB test reviews: latency at 1 connection, reviews/s at ${D.connections} connections against \`rnn predict --file\`, optionally a soak`,
    )
    .option('--model <dir>', 'model directory (default models/latest)')
    .option('--duration <s>', 'seconds of each measured run', positiveInt, D.durationSeconds)
    .option('--rounds <n>', 'throughput rounds, predict and serve alternated', positiveInt, D.rounds)
    .option(
      '--soak <s>',
      `then ${D.connections} connections for this many seconds, watching the server's memory (0: no soak)`,
      nonNegativeInt,
      D.soakSeconds,
    )
    .option(
      '--overload <s>',
      `then a server with --timeout ${D.overloadTimeoutMs} offered ${D.overloadFactor}× the reviews/s measured for this many seconds, and half of it for ${D.recoverySeconds} s after (0: none)`,
      nonNegativeInt,
      D.overloadSeconds,
    )
    .option('--json', 'print every figure as JSON');
  addDataOptions(cmd).action((flags: ServeBenchFlags, command: Command) => serveBenchCommand(ctx, command, flags));
}

/** The test reviews, the model directory and a way to start `rnn serve`, into the core; its figures out. */
async function serveBenchCommand(ctx: CliContext, command: Command, flags: ServeBenchFlags): Promise<void> {
  const status = new StatusLine(ctx.io.err);
  const modelDir = await resolveModelDir(ctx.env.modelsDir, flags.model);
  const data = await loadDataForCli(ctx, flags, ['test'], status); // before TensorFlow loads: bad data fails at once
  const backend = await loadRuntime(ctx, command);
  const result = await runServeBench(
    backend,
    data.test,
    (serveFlags) => startServe(ctx, command, modelDir, serveFlags),
    { ...D, modelDir, durationSeconds: flags.duration, rounds: flags.rounds, soakSeconds: flags.soak, overloadSeconds: flags.overload },
    (m) => status.update(m, true),
  );
  status.clear();
  const machine = `${describeMachine(backend)}, ${settingsLine(result)}`;
  ctx.io.out.write(
    flags.json ? JSON.stringify({ machine, ...result, targets: SERVE_BENCH_TARGETS }, null, 2) + '\n' : renderServeBench(result, machine),
  );
}

/** What was measured: the model and its kernels, the run lengths, the review pool and predict's batch. */
function settingsLine(r: ServeBenchResult): string {
  const s = r.settings;
  return (
    `model ${r.model.dir} (${r.model.cell}, ${r.model.kernels}), ${s.durationSeconds} s per run after ${s.warmupSeconds} s of warm-up, ` +
    `pool of ${count(s.poolSize)} IMDB test reviews, predict batch ${s.predictBatchSize}`
  );
}

/** How long `rnn serve` may take to print its startup line, and to exit after SIGTERM. */
const SERVE_START_MS = 180_000;
const SERVE_STOP_MS = 60_000;

/**
 * Starts `rnn serve --model DIR --port 0 [FLAGS]` as a child with this run's global flags and environment; resolves
 * once it prints its startup line. Its stderr is kept (the tail names the reason when it fails to start).
 */
function startServe(ctx: CliContext, command: Command, modelDir: string, serveFlags: string[] = []): Promise<ServerHandle> {
  const g = globalFlags(command);
  const args = [
    path.join(packageRoot(), 'bin', 'rnn'),
    '--backend',
    g.backend,
    '--kernels',
    g.kernels,
    ...(g.gpu ? ['--gpu'] : []),
    ...(g.debug ? ['--debug'] : []),
    'serve',
    '--model',
    modelDir,
    '--port',
    '0',
    '--log-level',
    'warn',
    ...serveFlags,
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: ctx.processEnv });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout = (stdout + d.toString()).slice(-4096)));
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8192)));
  const exited = new Promise<number>((resolve) =>
    child.on('close', (code, sig) => resolve(code ?? 128 + (sig ? os.constants.signals[sig] : 0))),
  );
  const stop = async (): Promise<number> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), SERVE_STOP_MS);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  const headers = ctx.env.serveToken ? { authorization: `Bearer ${ctx.env.serveToken}` } : undefined;
  return new Promise<ServerHandle>((resolve, reject) => {
    const fail = (why: string): void => {
      clearTimeout(timer);
      const lines = stderr.split('\n').filter((l) => l.trim() !== '' && !/^(WARNING: All log messages|I0000 )/.test(l));
      const reason = [...lines].reverse().find((l) => l.startsWith('error:')) ?? lines.at(-1);
      reject(
        new UserError(
          'BENCH_SERVE_FAILED',
          `rnn serve ${why}${reason ? `: ${reason.replace(/^error:\s*/, '')}` : ''}`,
          `Check that \`rnn serve --model ${modelDir}\` starts on its own`,
        ),
      );
    };
    const timer = setTimeout(() => {
      fail(`printed no startup line within ${SERVE_START_MS / 1000} s`);
      void stop();
    }, SERVE_START_MS);
    const onData = (): void => {
      const m = /^serving .* on (http:\/\/[^\s,]+)/m.exec(stdout);
      if (!m) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      resolve({ url: m[1]!, headers, stop });
    };
    child.stdout.on('data', onData);
    child.on('error', (e) => fail(`could not be started (${e.message})`));
    void exited.then((code) => fail(`exited with code ${code} before it was ready`));
  });
}
