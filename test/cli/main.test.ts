import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { runCli, escapeRegExp as esc, ROOT, REQUIRE_NATIVE } from '../helpers.js';
import { readNativeStatus } from '../../src/backend/native/setup.js';
import type { DoctorReport } from '../../src/backend/doctor.js';

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
