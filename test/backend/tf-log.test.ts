/**
 * What TensorFlow writes while it loads, shown by its own log level (src/backend/tf-log.ts), on the lines
 * TensorFlow 2.21 writes (captured from `rnn --debug doctor` and with TF_ENABLE_ONEDNN_OPTS=maybe).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tfLoadLog, tfLogLevel } from '../../src/backend/tf-log.js';

const NOTICE = 'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR';
const ONEDNN =
  'I0000 00:00:1796576348.649656   11127 port.cc:153] oneDNN custom operations are on. You may see slightly different numerical results due to floating-point round-off errors from different computation orders. To turn them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.';
const CPU = [
  'I0000 00:00:1796576348.818780   11127 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use available CPU instructions in performance-critical operations.',
  'To enable the following instructions: AVX2 AVX512F AVX512_VNNI AVX512_BF16 AVX_VNNI FMA, in other operations, rebuild TensorFlow with the appropriate compiler flags.',
];
const BAD_OPTS =
  "W0000 00:00:1796576360.058809   11288 port.cc:148] TF_ENABLE_ONEDNN_OPTS is not set to either '0', 'false', '1', or 'true'. Using the default setting: true";
const ERROR = 'E0000 00:00:1796576360.1   11288 some_op.cc:12] something failed';
const load = (...lines: string[]) => lines.join('\n') + '\n';

test("rnn's default level 2: the INFO lines and abseil's notice are held back, a multi-line INFO record whole", () => {
  assert.deepEqual(tfLoadLog(load(NOTICE, ONEDNN, ...CPU), 2), []);
});

test('level 0 (TF_CPP_MIN_LOG_LEVEL=0) shows everything as TensorFlow wrote it', () => {
  assert.deepEqual(tfLoadLog(load(NOTICE, ONEDNN, ...CPU, ERROR), 0), [NOTICE, ONEDNN, ...CPU, ERROR]);
});

test('errors pass at level 2, warnings from level 1 down; level 3 holds back every abseil line', () => {
  assert.deepEqual(tfLoadLog(load(NOTICE, ONEDNN, ERROR), 2), [ERROR]);
  assert.deepEqual(tfLoadLog(load(NOTICE, ONEDNN, ERROR), 3), []);
  const warning = 'W0000 00:00:1.2   1 x.cc:1] a warning';
  assert.deepEqual(tfLoadLog(load(warning, ONEDNN), 1), [warning]);
  assert.deepEqual(tfLoadLog(load(warning, ONEDNN), 2), []);
});

test("what is not abseil's is shown as it came (e.g. a crash message of the library)", () => {
  const other = 'The TensorFlow library was compiled to use AVX instructions, but these are not available on your machine.';
  assert.deepEqual(tfLoadLog(load(NOTICE, other, ONEDNN), 2), [other]);
});

test("a TF_ENABLE_ONEDNN_OPTS TensorFlow cannot read is said in rnn's words at any level but 0", () => {
  const said =
    'warning: TF_ENABLE_ONEDNN_OPTS=maybe is not 0, 1, true or false, so TensorFlow ignores it and keeps its own oneDNN on. Set it to 0 or 1, or unset it';
  for (const level of [1, 2, 3]) assert.deepEqual(tfLoadLog(load(NOTICE, BAD_OPTS, ONEDNN), level, { onednnOpts: 'maybe' }), [said]);
  assert.deepEqual(tfLoadLog(load(NOTICE, BAD_OPTS, ONEDNN), 0, { onednnOpts: 'maybe' }), [NOTICE, BAD_OPTS, ONEDNN]);
});

test('TF_CPP_MIN_LOG_LEVEL is read as TensorFlow reads it', () => {
  assert.deepEqual(['0', '1', '2', '3', undefined, '', 'x', '7', '-1', '2.5'].map(tfLogLevel), [0, 1, 2, 3, 0, 0, 0, 0, 0, 0]);
});
