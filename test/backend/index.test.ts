import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadBackend } from '../../src/backend/index.js';
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

test('a small Embedding+LSTM model fits one batch on the loaded backend, without leaking tensors', async () => {
  const { tf, name } = await loadBackend({ requireNative: REQUIRE_NATIVE });
  if (REQUIRE_NATIVE) assert.equal(name, 'tensorflow');
  const model = tf.sequential({
    layers: [
      tf.layers.embedding({ inputDim: 50, outputDim: 8, inputLength: 12 }),
      tf.layers.lstm({ units: 6, recurrentActivation: 'sigmoid' }),
      tf.layers.dense({ units: 1, activation: 'sigmoid' }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'binaryCrossentropy', metrics: ['accuracy'] });
  const x = tf.tensor2d(
    Array.from({ length: 16 * 12 }, (_, i) => (i * 7) % 50),
    [16, 12],
    'int32',
  );
  const y = tf.tensor2d(
    Array.from({ length: 16 }, (_, i) => i % 2),
    [16, 1],
  );
  const before = tf.memory().numTensors;
  const first = (await model.trainOnBatch(x, y)) as number[];
  let last = first;
  for (let i = 0; i < 30; i++) last = (await model.trainOnBatch(x, y)) as number[];
  assert.ok(Number.isFinite(first[0]!) && Number.isFinite(last[0]!));
  assert.ok(last[0]! < first[0]!, `loss should fall on a memorisable batch: ${first[0]} -> ${last[0]}`);
  // Optimizer slots are created on the first step; after that the count must not grow.
  const afterFirstSteps = tf.memory().numTensors;
  await model.trainOnBatch(x, y);
  assert.equal(tf.memory().numTensors, afterFirstSteps, `tensors leaked (before training: ${before})`);
  x.dispose();
  y.dispose();
  model.dispose();
});
