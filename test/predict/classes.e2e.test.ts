/**
 * Prediction of models of k ≥ 3 classes: the oneDNN predictor and the tfjs one (stock tfjs-layers' `predict`,
 * and the fused layers on the tfjs kernels) give the same k probabilities per review (within 1e-6) on real
 * reviews, for every cell and topology, laid out as `Predictor` says; a binary model's predictor gives one
 * probability per review as before; predictTexts and predictionsOf name the most probable class.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { loadBackend, type TF } from '../../src/backend/index.js';
import { buildModel, MODEL_DEFAULTS, type Topology } from '../../src/models/index.js';
import { tfjsKernels } from '../../src/kernels/index.js';
import { CELLS, type CellType } from '../../src/cells.js';
import { OnednnPredictor } from '../../src/predict/onednn.js';
import { createPredictor, predictArrays, predictTexts, probabilitiesPerRow } from '../../src/predict/index.js';
import { predictionsOf } from '../../src/predict/encode.js';
import { Tokenizer } from '../../src/text/tokenizer.js';
import type { Review } from '../../src/data/index.js';
import { REQUIRE_NATIVE } from '../helpers.js';
import { clippedAdam } from '../../src/train/clip.js';
import { lossFor, OnednnStep } from '../../src/train/onednn-step.js';
import { TfjsStep } from '../../src/train/tfjs-step.js';
import {
  batches,
  interleavedReviews,
  maxAbsDiff,
  onednnKernels,
  ratingClass,
  SIZE,
  skipOnednn as skip,
  TOPOLOGIES,
} from '../onednn-helpers.js';

let tf: TF;
let reviews: Review[] = [];

before(async () => {
  tf = (await loadBackend({ requireNative: REQUIRE_NATIVE })).tf;
  reviews = await interleavedReviews();
});

/**
 * A model of `classes` trained for a few steps on the reviews' ratings, its head then scaled up (so that its
 * classes' probabilities spread), as stock tfjs-layers and fused onto `kernels`.
 */
async function models(
  cell: CellType,
  t: Topology,
  classes: 3 | 8,
  kernels = onednnKernels,
): Promise<{ stock: LayersModel; fused: LayersModel }> {
  const o = { ...MODEL_DEFAULTS, ...SIZE, ...t, cell, seed: 11, classes };
  const stock = buildModel(tf, { ...o, layers: 'stock' }, tfjsKernels('stock'));
  const trained = buildModel(tf, { ...o, layers: 'fused' }, kernels);
  trained.compile({ optimizer: clippedAdam(tf, 1e-2, null), loss: lossFor(classes), metrics: ['accuracy'] });
  const step =
    kernels.name === 'onednn'
      ? await OnednnStep.create(tf, kernels.addon, cell, SIZE.maxlen, trained)
      : new TfjsStep(tf, trained, SIZE.maxlen);
  for (const b of batches(reviews, (r) => ratingClass(r, classes)).slice(0, 6)) await step.step(b.ids, b.y, 1e-2);
  step.syncWeights();
  stock.setWeights(trained.getWeights());
  trained.dispose();
  // The head made bolder: the logits' differences between reviews (and so the probabilities') grow eightfold.
  const weights = stock.getWeights().map((w, i, all) => (i >= all.length - 2 ? tf.mul(w, 8) : w.clone()));
  stock.setWeights(weights);
  const fused = buildModel(tf, { ...o, layers: 'fused' }, kernels);
  fused.setWeights(weights);
  tf.dispose(weights);
  return { stock, fused };
}

function allIds(): Int32Array {
  const all = batches(reviews);
  const ids = new Int32Array(all.reduce((n, b) => n + b.ids.length, 0));
  all.reduce((at, b) => (ids.set(b.ids, at), at + b.ids.length), 0);
  return ids;
}

for (const cell of CELLS)
  test(
    `${cell}, 8 classes, every topology: the oneDNN predictor = the tfjs one = stock tfjs-layers (within 1e-6) on 400 real reviews`,
    { skip },
    async () => {
      const ids = allIds();
      const n = ids.length / SIZE.maxlen;
      for (const t of TOPOLOGIES) {
        const what = `${t.bidirectional ? 'bidirectional' : 'one direction'}, pooling ${t.pooling}`;
        const { stock, fused } = await models(cell, t, 8);
        const want = tf.tidy(() => (stock.predict(tf.tensor2d(ids, [n, SIZE.maxlen], 'int32')) as Tensor).dataSync() as Float32Array);
        assert.equal(want.length, n * 8);
        const before = tf.memory().numTensors;
        const onednn = createPredictor(tf, { model: fused, cell, kernels: onednnKernels }, SIZE.maxlen);
        assert.ok(onednn instanceof OnednnPredictor, what);
        assert.equal(onednn.classes, 8);
        const viaTfjs = createPredictor(tf, { model: fused, cell, kernels: tfjsKernels('asked') }, SIZE.maxlen);
        assert.ok(!(viaTfjs instanceof OnednnPredictor));
        assert.equal(viaTfjs.classes, 8);
        const got = predictArrays(onednn, ids, 64);
        const tfjs = predictArrays(viaTfjs, ids, 64);
        assert.equal(got.length, n * 8);
        assert.ok(maxAbsDiff([got], [want]) < 1e-6, `${what}: oneDNN vs stock ${maxAbsDiff([got], [want])}`);
        assert.ok(maxAbsDiff([got], [tfjs]) < 1e-6, `${what}: oneDNN vs tfjs ${maxAbsDiff([got], [tfjs])}`);
        for (let i = 0; i < n; i++) {
          const row = got.subarray(i * 8, i * 8 + 8);
          assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5, 'each row sums to 1');
        }
        assert.ok(Math.max(...got) > 0.25 && Math.min(...got) < 0.05, `the probabilities spread (${Math.min(...got)}–${Math.max(...got)})`);
        assert.equal(tf.memory().numTensors, before);
        stock.dispose();
        fused.dispose();
      }
    },
  );

test('a binary model: one probability per review (classes 2), as before', { skip }, () => {
  const o = { ...MODEL_DEFAULTS, ...SIZE, cell: 'gru' as const, seed: 11 };
  const [stock, fused] = [
    buildModel(tf, { ...o, layers: 'stock' }, tfjsKernels('stock')),
    buildModel(tf, { ...o, layers: 'fused' }, onednnKernels),
  ];
  const ids = allIds();
  for (const kernels of [onednnKernels, tfjsKernels('asked')]) {
    const p = createPredictor(tf, { model: fused, cell: 'gru', kernels }, SIZE.maxlen);
    assert.equal(p.classes, 2);
    assert.equal(predictArrays(p, ids, 64).length, ids.length / SIZE.maxlen);
  }
  assert.deepEqual([probabilitiesPerRow(2), probabilitiesPerRow(3), probabilitiesPerRow(8)], [1, 3, 8]);
  stock.dispose();
  fused.dispose();
});

test('predictTexts and predictionsOf: the most probable class, its probability and every class in order; binary predictions unchanged', async () => {
  const { stock, fused } = await models('lstm', TOPOLOGIES[0]!, 3, tfjsKernels('asked'));
  const texts = reviews.slice(0, 12).map((r) => r.text);
  const tokenizer = new Tokenizer({ numWords: SIZE.vocabSize }).fitOnTexts(texts);
  const m = {
    model: fused,
    kernels: tfjsKernels('asked'),
    tokenizer,
    metadata: { cell: 'lstm' as const, preprocessing: { maxlen: SIZE.maxlen, padding: 'pre' as const, truncating: 'pre' as const } },
  };
  const labels = ['bad', 'mixed', 'good'];
  const named = predictTexts(tf, m, texts, 5, labels);
  const indexed = predictTexts(tf, m, texts);
  assert.equal(named.length, texts.length);
  named.forEach((p, i) => {
    assert.deepEqual(Object.keys(p.probabilities!), labels, 'keyed by label, in label order');
    const probs = Object.values(p.probabilities!);
    const top = probs.indexOf(Math.max(...probs));
    assert.equal(p.label, labels[top]);
    assert.equal(p.probability, probs[top]);
    assert.equal(indexed[i]!.label, String(top), 'without names, the class index');
    assert.deepEqual(Object.keys(p), ['label', 'probability', 'probabilities', 'words', 'unknownWords', 'truncatedIds']);
  });
  // predictionsOf on a binary model's probabilities: the fields and values it always gave.
  const encoded = {
    x: new Int32Array(0),
    stats: [
      { words: 3, unknown: 1, ids: 2 },
      { words: 9, unknown: 0, ids: 9 },
    ],
  };
  assert.deepEqual(predictionsOf(encoded, Float32Array.of(0.75, 0.5), 8), [
    { label: 'positive', probability: 0.75, words: 3, unknownWords: 1, truncatedIds: 0 },
    { label: 'negative', probability: 0.5, words: 9, unknownWords: 0, truncatedIds: 1 },
  ]);
  const probs = Float32Array.of(0.2, 0.3, 0.5, 0.6, 0.3, 0.1);
  assert.deepEqual(
    predictionsOf(encoded, probs, 8, labels).map((p) => [p.label, p.probability, p.probabilities]),
    [
      ['good', probs[2], { bad: probs[0], mixed: probs[1], good: probs[2] }],
      ['bad', probs[3], { bad: probs[3], mixed: probs[4], good: probs[5] }],
    ],
  );
  assert.throws(() => predictionsOf(encoded, Float32Array.of(0.2, 0.8), 8, labels), /expected 3 probabilities for each of 2 texts/);
  stock.dispose();
  fused.dispose();
});
