/**
 * The pure-JS backend end to end: tiny training runs with `--backend cpu`, the warnings they print and what
 * metadata.json and `rnn info` record of them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { IMDB_TARBALL, runCli, tempDir } from '../helpers.js';
import { probeOnednn } from '../../src/kernels/index.js';

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
