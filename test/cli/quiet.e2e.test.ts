/**
 * Quiet by default: commands that load TensorFlow print only rnn's own lines on stderr (TensorFlow 2.21 writes
 * its start-up lines before its log level applies; rnn's stdio shim holds them back), and with --debug
 * TensorFlow's lines appear. The model is a Keras-trained fixture imported here, so nothing is trained.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { IMDB_TARBALL, REQUIRE_NATIVE, ROOT, runCli as runCliAnyhow, tempDir, type RunCliOptions } from '../helpers.js';
import { loadBackend } from '../../src/backend/index.js';

/** TensorFlow writes its own lines to its process's stderr: each command here is a process of its own. */
const runCli = (args: string[], opts: RunCliOptions = {}) => runCliAnyhow(args, { ...opts, spawn: true });

const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'keras');
let work = '';
let env: NodeJS.ProcessEnv = {};
let model = '';
let native = false;

before(async () => {
  native = (await loadBackend({ requireNative: REQUIRE_NATIVE })).native;
  work = await tempDir('rnn-quiet-');
  env = { RNN_IMDB_URL: IMDB_TARBALL, RNN_MODELS_DIR: path.join(work, 'models'), RNN_DATA_DIR: path.join(work, 'data') };
  model = path.join(work, 'models', 'gru');
  const r = await runCli(
    ['import', path.join(FIXTURES, 'gru.keras'), '--tokenizer', path.join(FIXTURES, 'tokenizer.json'), '--out', model],
    { env },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '', 'import loads TensorFlow too');
});
after(() => fsp.rm(work, { recursive: true, force: true }));

test('rnn predict "fine": one line on stdout, nothing on stderr', async () => {
  const r = await runCli(['predict', '--model', model, 'fine'], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^(positive|negative)  0\.\d{4}  "fine"( .*)?\n$/);
});

test('rnn doctor and rnn eval: stderr holds exactly their own lines', async (t) => {
  if (!native) return t.skip('doctor exits 1 without the native backend');
  const doctor = await runCli(['doctor'], { env });
  assert.equal(doctor.code, 0, doctor.stderr);
  assert.equal(doctor.stderr, '');
  const ev = await runCli(['eval', '--model', model, '--limit', '200', '--json'], { env });
  assert.equal(ev.code, 0, ev.stderr);
  assert.equal(ev.stderr, '');
  assert.equal(JSON.parse(ev.stdout).data.reviews, 200);
});

test('a failing train: the one error line, nothing else', async () => {
  const csv = path.join(work, 'one-class.csv');
  await fsp.writeFile(csv, 'review,sentiment\n"good",positive\n"great",positive\n');
  const r = await runCli(['train', '--cell', 'lstm', '--data', csv], { env });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error: [^\n]+\n$/);
});

/** A line TensorFlow's C++ logging writes at level INFO: `I1208 04:21:14.123456  2210 file.cc:227] …`. */
const TF_INFO_LINE = /^I\d{4} [\d:.]+\s+\d+ \w+\.cc:\d+\] /m;

test('--debug: TensorFlow writes its start-up lines itself', async (t) => {
  if (!native) return t.skip('only the native backend writes them');
  const r = await runCli(['--debug', 'predict', '--model', model, 'fine'], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$/m);
  // An info line of TensorFlow's own (which ones depends on the CPU: port.cc's oneDNN line on Intel hosts,
  // cpu_feature_guard.cc's alone on an AMD EPYC one).
  assert.match(r.stderr, TF_INFO_LINE);
});

test('TF_CPP_MIN_LOG_LEVEL set by the user is the level applied', async (t) => {
  if (!native) return t.skip('only the native backend writes them');
  const all = await runCli(['predict', '--model', model, 'fine'], { env: { ...env, TF_CPP_MIN_LOG_LEVEL: '0' } });
  assert.match(all.stderr, TF_INFO_LINE);
  const none = await runCli(['predict', '--model', model, 'fine'], { env: { ...env, TF_CPP_MIN_LOG_LEVEL: '3' } });
  assert.equal(none.stderr, '');
});
