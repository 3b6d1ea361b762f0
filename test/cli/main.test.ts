import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { runCli, escapeRegExp as esc, ROOT, REQUIRE_NATIVE, withoutTfNotices } from '../helpers.js';
import { readNativeStatus } from '../../src/backend/native/setup.js';
import type { DoctorReport } from '../../src/backend/doctor.js';
import { probeOnednn } from '../../src/kernels/index.js';
import type { ErrorCode } from '../../src/errors.js';
import { main } from '../../src/cli/main.js';
import { PassThrough, Readable } from 'node:stream';

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };

test('rnn --version prints the package version', async () => {
  const r = await runCli(['--version']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, `${pkg.version}\n`);
});

test('rnn --help lists the commands and examples', async () => {
  const r = await runCli(['--help']);
  assert.equal(r.code, 0);
  for (const s of ['doctor', 'setup-native', 'Examples:', '$ rnn doctor', 'RNN_REQUIRE_NATIVE=1'])
    assert.ok(r.stdout.includes(s), `help lacks ${s}`);
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
    withoutTfNotices(text.stderr),
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
    // TF_CPP_MIN_LOG_LEVEL=2 keeps TensorFlow's INFO lines (e.g. cpu_feature_guard) away. TensorFlow 2.21
    // still prints one oneDNN notice before its logging is configured; that one cannot be silenced from JS.
    assert.doesNotMatch(r.stderr, /cpu_feature_guard/);
  }
});

test('rnn doctor with pure JS forced explains and exits 1', async () => {
  const r = await runCli(['--backend', 'cpu', 'doctor']);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /backend\s+✗ cpu \(@tensorflow\/tfjs\): pure JS was requested/);
  assert.match(r.stderr, /^error: the native TensorFlow backend is not available: /);
});

// On the pure-JS backend the fused layers still run on rnn's oneDNN addon when it is built (the default kernels),
// the whole training step in it; --kernels tfjs makes it pure JS throughout (tfjs ops, tfjs's trainOnBatch).
const addon = probeOnednn().addon;
// Only a run that really trains on pure-JS tfjs is warned about: the oneDNN step does not depend on the backend.
const pureJsRuns: Array<{ kernels: string[]; backend: Record<string, string>; warned: boolean }> = [
  {
    kernels: [],
    backend: addon
      ? {
          name: 'cpu',
          recurrentKernels: `oneDNN ${addon.onednnVersion} whole-sequence kernels (rnn's addon)`,
          trainingStep: "rnn's oneDNN addon (embedding, recurrent layer, dense, loss, Adam)",
        }
      : { name: 'cpu', recurrentKernels: 'tfjs ops', trainingStep: 'tfjs trainOnBatch' },
    warned: !addon,
  },
  {
    kernels: ['--kernels', 'tfjs'],
    backend: { name: 'cpu', recurrentKernels: 'tfjs ops', trainingStep: 'tfjs trainOnBatch' },
    warned: true,
  },
];

/** A training run small enough for pure-JS tfjs: 40 real reviews, 8 ids, 4 units, one epoch. */
const TINY_TRAINING = [
  '--limit',
  '40',
  '--maxlen',
  '8',
  '--units',
  '4',
  '--embedding-dim',
  '4',
  '--vocab-size',
  '100',
  '--epochs',
  '1',
  '--seed',
  '1',
];

for (const c of pureJsRuns) {
  test(`rnn --backend cpu ${c.kernels.join(' ')}${c.kernels.length ? ' ' : ''}train ${c.warned ? 'warns loudly before it starts' : 'does not warn'}, then trains on ${c.backend.trainingStep}`, async () => {
    const { tempDir, IMDB_TARBALL } = await import('../helpers.js');
    const work = await tempDir();
    const r = await runCli(['--backend', 'cpu', ...c.kernels, 'train', '--cell', 'lstm', ...TINY_TRAINING, '--out', `${work}/m`], {
      env: { RNN_IMDB_URL: IMDB_TARBALL, RNN_MODELS_DIR: work },
    });
    assert.equal(r.code, 0, r.stderr);
    const warning =
      /^warning: training on pure-JS tfjs \(pure JS was requested\) is more than 100x slower than the native backend\. Run `npm run setup-native`; `rnn doctor` says why it is missing\.$/m;
    assert.equal(warning.test(r.stderr), c.warned, r.stderr);
    assert.match(r.stdout, /^saved lstm model to .*\/m \(acc [\d.]+, val_acc [\d.]+, [\d.]+ samples\/s, seed 1\)\n$/);
    const meta = JSON.parse(readFileSync(path.join(work, 'm', 'metadata.json'), 'utf8')) as { backend: Record<string, string> };
    assert.deepEqual(meta.backend, c.backend, 'what trained the model, as metadata.json records it');
  });
}

// Without the oneDNN kernels a bidirectional, pooled model falls back to the fused layers on the tfjs kernels
// (here tfjs ops, pure JS): train warns so, metadata.json and `rnn info` record it.
test('rnn --backend cpu --kernels tfjs train --bidirectional --pooling max warns that it trains on the fused layers on tfjs ops, and info says so', async () => {
  const { tempDir, IMDB_TARBALL } = await import('../helpers.js');
  const work = await tempDir();
  const env = { RNN_IMDB_URL: IMDB_TARBALL, RNN_MODELS_DIR: work };
  const r = await runCli(
    [
      '--backend',
      'cpu',
      '--kernels',
      'tfjs',
      'train',
      '--cell',
      'gru',
      '--bidirectional',
      '--pooling',
      'max',
      ...TINY_TRAINING,
      '--out',
      `${work}/m`,
    ],
    { env },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /^warning: a bidirectional model trains on the fused layers on tfjs ops without rnn's oneDNN kernels \(tfjs kernels were requested \(--kernels tfjs\)\), several times slower than whole on them\. Install oneDNN \(`apt-get install libdnnl-dev` on Debian\/Ubuntu\), then run `npm run setup-native`\.$/m,
  );
  const meta = JSON.parse(readFileSync(path.join(work, 'm', 'metadata.json'), 'utf8')) as { backend: Record<string, string> };
  assert.deepEqual(meta.backend, { name: 'cpu', recurrentKernels: 'tfjs ops', trainingStep: 'tfjs trainOnBatch' });
  const info = await runCli(['info', '--model', `${work}/m`], { env });
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stdout, /^ {2}kernels +tfjs ops$/m);
});
