import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { runCli, escapeRegExp as esc, ROOT, REQUIRE_NATIVE } from '../helpers.js';
import { readNativeStatus } from '../../src/backend/native/setup.js';
import type { DoctorReport } from '../../src/backend/doctor.js';
import type { ErrorCode } from '../../src/errors.js';
import { main } from '../../src/cli/main.js';
import { PassThrough, Readable } from 'node:stream';
import { skipOnednn } from '../onednn-helpers.js';

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };

test('rnn --version prints the package version', async () => {
  const r = await runCli(['--version']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, `${pkg.version}\n`);
});

test('rnn --help lists the commands and examples', async () => {
  const r = await runCli(['--help']);
  assert.equal(r.code, 0);
  // The Commands section is commander's list of the registered commands (the examples below it are static text).
  const section = /\nCommands:\n([\s\S]*?)\n\n/.exec(r.stdout)?.[1] ?? '';
  const commands = [...section.matchAll(/^  (\S+)/gm)].map((m) => m[1]);
  assert.deepEqual(commands, [
    'train',
    'pretrain',
    'eval',
    'predict',
    'data|download',
    'bench',
    'compare',
    'serve',
    'export',
    'import',
    'info',
    'list',
    'doctor',
    'setup-native',
    'help',
  ]);
  // Every example runs one of them.
  const examples = [...r.stdout.matchAll(/^  \$ (?:cat \S+ \| )?rnn (\S+)/gm)].map((m) => m[1]!);
  assert.ok(examples.length >= 10, `examples: ${examples.join(', ')}`);
  const names = new Set(commands.flatMap((c) => c!.split('|')));
  for (const e of examples) assert.ok(names.has(e), `the example 'rnn ${e}' names no command`);
  assert.match(r.stdout, /\nEnvironment:\n[\s\S]*RNN_REQUIRE_NATIVE=1/);
});

const usageErrors: Array<{ args: string[]; stderr: string }> = [
  { args: ['frobnicate'], stderr: "error: unknown command 'frobnicate'\n(run with --help for usage)\n" },
  {
    args: ['--backend', 'tpu', 'doctor'],
    stderr:
      "error: option '--backend <name>' argument 'tpu' is invalid. Allowed choices are auto, native, gpu, cpu.\n(run with --help for usage)\n",
  },
];
for (const c of usageErrors) {
  test(`rnn ${c.args.join(' ')} is a usage error with exit 1`, async () => {
    const r = await runCli(c.args);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, c.stderr);
    assert.equal(r.stdout, '');
  });
}

// With --json, a usage error is one JSON line with a code instead (commander's message, and where the usage is).
const jsonUsageErrors: Array<{ args: string[]; error: { code: ErrorCode; message: string; fix: string } }> = [
  {
    args: ['info', '--json', '--bogus'],
    error: { code: 'OPTION_UNKNOWN', message: "unknown option '--bogus'", fix: 'Run `rnn info --help` for usage' },
  },
  {
    args: ['--backend', 'tpu', 'doctor', '--json'],
    error: {
      code: 'OPTION_INVALID',
      message: "option '--backend <name>' argument 'tpu' is invalid. Allowed choices are auto, native, gpu, cpu",
      fix: 'Run `rnn doctor --help` for usage',
    },
  },
  {
    args: ['eval', '--json', '--limit'],
    error: { code: 'OPTION_MISSING_VALUE', message: "option '--limit <n>' argument missing", fix: 'Run `rnn eval --help` for usage' },
  },
  {
    args: ['import', '--json'],
    error: { code: 'COMMAND_ARGUMENT_MISSING', message: "missing required argument 'file'", fix: 'Run `rnn import --help` for usage' },
  },
  {
    args: ['import', 'a.keras', 'b.keras', '--json'],
    error: {
      code: 'COMMAND_TOO_MANY_ARGUMENTS',
      message: "too many arguments for 'import'. Expected 1 argument but got 2",
      fix: 'Run `rnn import --help` for usage',
    },
  },
  {
    args: ['frobnicate', '--json'],
    error: { code: 'COMMAND_UNKNOWN', message: "unknown command 'frobnicate'", fix: 'Run `rnn --help` for usage' },
  },
];
for (const c of jsonUsageErrors) {
  test(`rnn ${c.args.join(' ')} is ${c.error.code} as one JSON line on stderr, exit 1`, async () => {
    const r = await runCli(c.args);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `${JSON.stringify({ error: c.error })}\n`);
    assert.equal(r.stdout, '');
  });
}

test('--json changes nothing for a command without it, nor after --', async () => {
  const serve = await runCli(['serve', '--json']);
  assert.equal(serve.code, 1);
  assert.equal(serve.stderr, "error: unknown option '--json'\n(run with --help for usage)\n");
  // After --, "--json" is a review to label, not the flag.
  const text = await runCli(['predict', '--model', path.join(ROOT, 'nope'), '--', '--json']);
  assert.equal(text.code, 1);
  assert.equal(
    text.stderr,
    `error: model directory ${path.join(ROOT, 'nope')} does not exist. Train one with \`rnn train\` or pass --model DIR\n`,
  );
});

test('an error that is not a UserError is a bug: INTERNAL with --json, "This is a bug in rnn" without', async () => {
  // In process: stdin that fails on its first read, before predict loads anything.
  const run = async (argv: string[]): Promise<{ code: number; stderr: string }> => {
    let stderr = '';
    const err = new PassThrough().on('data', (d) => (stderr += d));
    const stdin = new Readable({ read: () => stdin.destroy(new Error('the disk is on fire')) });
    const code = await main(argv, { out: new PassThrough(), err }, { NO_COLOR: '1' }, stdin);
    return { code, stderr };
  };
  const bug = 'This is a bug in rnn: rerun with --debug and report the output';
  assert.deepEqual(await run(['predict', '--json']), {
    code: 1,
    stderr: `${JSON.stringify({ error: { code: 'INTERNAL', message: 'the disk is on fire', fix: bug } })}\n`,
  });
  assert.deepEqual(await run(['predict']), { code: 1, stderr: `error: the disk is on fire. ${bug}\n` });
});

test("rnn doctor reports the backend and the native setup's recorded status; exits 0 exactly when it is native", async () => {
  const r = await runCli(['doctor', '--json']);
  const report = JSON.parse(r.stdout) as DoctorReport;
  assert.equal(report.versions.tfjs, '4.22.0');
  assert.equal(report.versions.rnn, pkg.version);
  assert.equal(r.code, report.ok ? 0 : 1);
  // What the last native setup (npm ci's postinstall, or rnn setup-native) recorded is what doctor reports.
  const recorded = await readNativeStatus(ROOT);
  assert.deepEqual(report.libtensorflow.setup, recorded);
  if (REQUIRE_NATIVE) {
    assert.equal(r.code, 0, r.stderr);
    assert.equal(report.backend.name, 'tensorflow');
    assert.equal(report.backend.native, true);
    assert.ok(recorded?.ok, `the native setup recorded a success: ${JSON.stringify(recorded)}`);
    assert.equal(report.versions.tensorflow, recorded.tfVersion, 'the TensorFlow the setup probed is the one loaded');
    assert.equal(report.libtensorflow.source, recorded.libtensorflowSource);
    const human = await runCli(['doctor']);
    assert.equal(human.code, 0, human.stderr);
    assert.match(
      human.stdout,
      new RegExp(`^  TensorFlow +${esc(recorded.tfVersion!)} \\(libtensorflow from ${esc(recorded.libtensorflowSource!)}\\)$`, 'm'),
    );
    // TensorFlow's start-up lines (port.cc's oneDNN notice, cpu_feature_guard) are below rnn's default log level.
    assert.equal(r.stderr, '');
    assert.match(human.stdout, /^  TF start-up log +✓ held by rnn's stdio shim and shown by TF_CPP_MIN_LOG_LEVEL=2$/m);
  }
});

test('rnn doctor with pure JS forced explains and exits 1', async () => {
  const r = await runCli(['--backend', 'cpu', 'doctor']);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /backend\s+✗ cpu \(@tensorflow\/tfjs\): pure JS was requested/);
  assert.match(r.stderr, /^error: the native TensorFlow backend is not available: /);
});

// rnn's threading default reaches OpenMP: the CLI writes it into the environment before the addon (and with it
// libgomp, which reads it once) loads. OMP_DISPLAY_ENV=verbose makes libgomp print what it read; its spin count
// tells the policies apart (0 passive, 300,000 unset, 30,000,000,000 active). A value the user set wins.
test(
  "rnn doctor: OpenMP waits passively by rnn's default, or as the user's OMP_WAIT_POLICY says, and doctor says which",
  { skip: skipOnednn },
  async () => {
    const unset = { OMP_WAIT_POLICY: undefined, GOMP_SPINCOUNT: undefined, OMP_NUM_THREADS: undefined, OMP_DISPLAY_ENV: 'verbose' };
    for (const [env, value, spin, source] of [
      [unset, 'PASSIVE', '0', 'rnn'],
      [{ ...unset, OMP_WAIT_POLICY: 'ACTIVE' }, 'ACTIVE', '30000000000', 'user'],
    ] as const) {
      const r = await runCli(['doctor', '--json'], { env });
      assert.match(r.stderr, new RegExp(`GOMP_SPINCOUNT = '${spin}'`), 'what libgomp read');
      const report = JSON.parse(r.stdout) as DoctorReport;
      assert.deepEqual(report.threading.settings[0], { name: 'OMP_WAIT_POLICY', value, source });
      const human = await runCli(['doctor'], { env });
      assert.match(
        human.stdout,
        new RegExp(
          `^  kernel threads +\\d+ threads? \\(.*OMP_WAIT_POLICY=${value} \\(${source === 'rnn' ? "rnn's default" : 'set by you'}\\)`,
          'm',
        ),
      );
    }
  },
);
