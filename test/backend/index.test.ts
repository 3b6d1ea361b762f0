import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadBackend } from '../../src/backend/index.js';
import { tfjsKernels } from '../../src/kernels/index.js';
import { buildModel } from '../../src/models/index.js';
import { clippedAdam } from '../../src/train/clip.js';
import { TfjsStep } from '../../src/train/tfjs-step.js';
import { REQUIRE_NATIVE } from '../helpers.js';

test(
  'the native TensorFlow backend is in use (CI sets RNN_REQUIRE_NATIVE=1)',
  { skip: !REQUIRE_NATIVE && 'RNN_REQUIRE_NATIVE is not set' },
  async () => {
    const b = await loadBackend({ requireNative: true });
    assert.equal(b.name, 'tensorflow');
    assert.equal(b.packageName, '@tensorflow/tfjs-node');
    assert.equal(b.native, true);
    assert.match(b.tfVersion ?? '', /^2\.\d+\.\d+/);
  },
);

// rnn's own model code on the loaded backend: the lesson model built by buildModel (its recurrent layer fused, on
// the backend's kernels and on the tfjs kernels side by side), compiled as `rnn train` compiles it, stepped by
// rnn's tfjs stepper. Tensors a step leaks (a fused op's forward or backward that keeps an intermediate) show
// in tf.memory().
for (const cell of ['simplernn', 'lstm', 'gru'] as const) {
  test(`rnn's ${cell} lesson model fits one batch on the loaded backend's kernels and on tfjs's, without leaking tensors`, async () => {
    const run = await loadBackend({ requireNative: REQUIRE_NATIVE });
    const { tf } = run;
    if (REQUIRE_NATIVE) assert.equal(run.name, 'tensorflow');
    const maxlen = 12;
    const ids = Int32Array.from({ length: 16 * maxlen }, (_, i) => (i % maxlen < 3 ? 0 : (i * 7) % 50)); // pre-padded rows
    const labels = Float32Array.from({ length: 16 }, (_, i) => i % 2);
    for (const kernels of [run.kernels, tfjsKernels('the tfjs side of the comparison')]) {
      const model = buildModel(tf, { cell, vocabSize: 50, embeddingDim: 8, maxlen, units: 6, seed: 1, layers: 'fused' }, kernels);
      assert.ok(Object.hasOwn(model.layers[1]!, 'call'), "the recurrent layer's call is rnn's fused op");
      model.compile({ optimizer: clippedAdam(tf, 0.01, 1), loss: 'binaryCrossentropy', metrics: ['accuracy'] });
      const stepper = new TfjsStep(tf, model, maxlen);
      const before = tf.memory().numTensors;
      const first = await stepper.step(ids, labels, 0.01);
      let last = first;
      for (let i = 0; i < 30; i++) last = await stepper.step(ids, labels, 0.01);
      assert.ok(Number.isFinite(first.loss) && Number.isFinite(last.loss));
      assert.ok(last.loss < first.loss, `${kernels.name}: loss should fall on a memorisable batch: ${first.loss} -> ${last.loss}`);
      // Optimizer slots are created on the first step; after that the count must not grow.
      const afterSteps = tf.memory().numTensors;
      await stepper.step(ids, labels, 0.01);
      assert.equal(tf.memory().numTensors, afterSteps, `${kernels.name}: a step leaked tensors (before training: ${before})`);
      model.dispose();
    }
  });
}
