import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadBackend, type TF } from '../../src/backend/index.js';
import { train, resolveTrainOptions, type BatchProgress } from '../../src/train/index.js';
import { readImdbTarball } from '../../src/data/imdb.js';
import type { Review } from '../../src/data/index.js';
import { IMDB_TARBALL, REQUIRE_NATIVE } from '../helpers.js';

let tf: TF;
let reviews: Review[] = [];
before(async () => {
  tf = (await loadBackend({ requireNative: REQUIRE_NATIVE })).tf;
  const d = await readImdbTarball(IMDB_TARBALL, ['train']);
  reviews = [...d.train.slice(0, 100), ...d.train.slice(-100)];
});

test('defaults are the seed\'s: 3 epochs, batch 64, adam 1e-3, split 0.2, vocab 10000, dim 100, maxlen 256, 128 units, pre/pre', () => {
  const o = resolveTrainOptions({ cell: 'lstm', seed: 1 });
  assert.deepEqual(o, {
    cell: 'lstm', epochs: 3, batchSize: 64, lr: 1e-3, validationSplit: 0.2, seed: 1, limit: undefined, vocabSize: 10000,
    embeddingDim: 100, maxlen: 256, units: 128, padding: 'pre', truncating: 'pre', oovToken: null, layers: 'fused',
  });
});

test('train(): Keras-style split, one history entry per epoch, batch progress, no tensors left behind', async () => {
  const before = tf.memory().numTensors;
  const batches: BatchProgress[] = [];
  const o = resolveTrainOptions({ cell: 'gru', epochs: 2, batchSize: 32, maxlen: 20, units: 4, embeddingDim: 5, vocabSize: 300, seed: 11, limit: 150 });
  const r = await train(tf, reviews, o, { onBatch: (b) => batches.push(b) });
  assert.deepEqual(r.counts, { train: 120, validation: 30 });
  assert.equal(r.history.length, 2);
  assert.deepEqual(batches.map((b) => `${b.epoch}:${b.batch}/${b.batches}`), ['1:1/4', '1:2/4', '1:3/4', '1:4/4', '2:1/4', '2:2/4', '2:3/4', '2:4/4']);
  for (const e of r.history) for (const k of ['loss', 'acc', 'val_loss', 'val_acc'] as const) assert.ok(Number.isFinite(e[k]), k);
  assert.ok(r.truncatedShare > 0.5, 'most reviews are longer than 20 ids');
  assert.equal(r.tokenizer.documentCount, 150);
  r.model.dispose();
  // Whatever train() created is gone once the model is disposed (optimizer slots belong to the model's optimizer).
  (r.model.optimizer as unknown as { dispose(): void }).dispose();
  assert.equal(tf.memory().numTensors, before);
});
