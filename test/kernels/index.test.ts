/**
 * Choosing the recurrent kernels (`--kernels`): rnn's oneDNN kernels when the addon loads, tfjs otherwise,
 * and the exact messages when it is missing — as a value: nothing remembers a choice. In CI
 * (RNN_REQUIRE_ONEDNN=1, libdnnl-dev installed by .ci/run) the addon must be active.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { selectKernels, probeOnednn, ONEDNN_FIX, type OnednnAddon } from '../../src/kernels/index.js';
import { loadBackend } from '../../src/backend/index.js';
import { UserError } from '../../src/errors.js';
import { REQUIRE_ONEDNN, runCli, tempDir } from '../helpers.js';

const fake = { Sequence: class {}, onednnVersion: '2.6.3' } as unknown as OnednnAddon;
const missing = { error: 'the oneDNN addon is not built (npm install could not compile it, usually because libdnnl-dev is missing)' };

const cases: Array<{
  pref: 'auto' | 'onednn' | 'tfjs';
  found: { addon?: OnednnAddon; error?: string };
  kernels?: string;
  reason?: string;
  error?: string;
}> = [
  { pref: 'auto', found: { addon: fake }, kernels: 'onednn', reason: 'the oneDNN 2.6.3 addon loaded' },
  { pref: 'onednn', found: { addon: fake }, kernels: 'onednn', reason: 'the oneDNN 2.6.3 addon loaded' },
  { pref: 'tfjs', found: { addon: fake }, kernels: 'tfjs', reason: 'tfjs kernels were requested (--kernels tfjs)' },
  { pref: 'auto', found: missing, kernels: 'tfjs', reason: missing.error },
  {
    pref: 'onednn',
    found: missing,
    error:
      'the oneDNN kernels were requested but are not available: the oneDNN addon is not built (npm install could not compile it, usually because libdnnl-dev is missing)',
  },
];

for (const c of cases) {
  test(`--kernels ${c.pref} with the addon ${c.found.addon ? 'built' : 'missing'}`, () => {
    if (c.error) {
      assert.throws(
        () => selectKernels(c.pref, () => c.found),
        (e: unknown) => e instanceof UserError && e.message === c.error && e.fix === ONEDNN_FIX,
      );
      return;
    }
    assert.deepEqual(
      selectKernels(c.pref, () => c.found),
      { name: c.kernels, reason: c.reason, ...(c.kernels === 'onednn' && { addon: fake }) },
    );
  });
}

test('the kernels are a value of each loaded backend: two loads with other preferences side by side keep their own', async () => {
  const withAddon = await loadBackend({ kernels: 'auto' }, () => ({ addon: fake }));
  const without = await loadBackend({ kernels: 'tfjs' }, () => ({ addon: fake }));
  assert.equal(withAddon.kernels.name, 'onednn');
  assert.equal(without.kernels.name, 'tfjs');
  assert.equal(withAddon.kernels.name, 'onednn', 'a later load does not change an earlier one');
  assert.equal((await loadBackend({ kernels: 'auto' }, () => missing)).kernels.reason, missing.error);
});

test('a missing or broken addon file is reported, not thrown', async () => {
  const dir = await tempDir('rnn-onednn-');
  assert.deepEqual(probeOnednn(path.join(dir, 'rnn_dnnl.node')), missing);
  await writeFile(path.join(dir, 'broken.node'), 'not an ELF file');
  assert.match(probeOnednn(path.join(dir, 'broken.node')).error!, /^the oneDNN addon does not load: .*broken\.node/);
});

test('an addon built by an older rnn (git pull without npm install) is reported by what it lacks', async () => {
  const dir = await tempDir('rnn-onednn-');
  // A CommonJS module stands in for the .node file: require loads either.
  await writeFile(
    path.join(dir, 'old.cjs'),
    'module.exports = { Sequence: class { forward() {} backward() {} forwardIds() {} backwardEmbedding() {} }, adam() {}, movingAverage() {}, onednnVersion: "2.6.3" };',
  );
  assert.deepEqual(probeOnednn(path.join(dir, 'old.cjs')), {
    error:
      'the oneDNN addon is out of date (built by an older rnn: no inputTable, clipByGlobalNorm, Sequence.forwardTable, Sequence.forwardTableAsync)',
  });
});

test('the installed addon loads where it is required (CI)', { skip: !REQUIRE_ONEDNN && 'RNN_REQUIRE_ONEDNN is not set' }, async () => {
  assert.equal(probeOnednn().error, undefined);
  const r = await runCli(['doctor', '--json']);
  const report = JSON.parse(r.stdout) as {
    onednnKernels: { active: boolean; reason: string };
    recurrentKernels: string;
    recipeLayers: string;
  };
  assert.deepEqual(report.onednnKernels, { active: true, reason: `the oneDNN ${probeOnednn().addon!.onednnVersion} addon loaded` });
  assert.match(report.recurrentKernels, /^fused layers on oneDNN 2\.\d+\.\d+ whole-sequence kernels \(rnn's addon\)$/);
  assert.equal(report.recipeLayers, 'bidirectional and pooled models train and predict whole on the oneDNN kernels');
});

test('rnn --kernels: tfjs is honoured by doctor; an unknown value is refused', async () => {
  const r = await runCli(['--kernels', 'tfjs', 'doctor', '--json']);
  const report = JSON.parse(r.stdout) as { onednnKernels: { active: boolean; reason: string } };
  assert.equal(report.onednnKernels.active, false);
  assert.equal(report.onednnKernels.reason, 'tfjs kernels were requested (--kernels tfjs)');
  const text = await runCli(['--kernels', 'tfjs', 'doctor']);
  assert.match(
    text.stdout,
    /^ {2}recipe layers +bidirectional and pooled models run on the fused layers on (TensorFlow LSTMBlockCell\/GRUBlockCell kernels|tfjs ops), layer by layer$/m,
  );
  const bad = await runCli(['--kernels', 'mkl', 'doctor']);
  assert.equal(bad.code, 1);
  assert.equal(
    bad.stderr,
    "error: option '--kernels <name>' argument 'mkl' is invalid. Allowed choices are auto, onednn, tfjs.\n(run with --help for usage)\n",
  );
});
