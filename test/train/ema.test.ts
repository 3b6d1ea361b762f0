import { test } from 'node:test';
import assert from 'node:assert/strict';
import { averagePass, WeightAverage } from '../../src/train/ema.js';
import { probeOnednn } from '../../src/kernels/index.js';
import { mulberry32 } from '../../src/util/random.js';
import { REQUIRE_ONEDNN } from '../helpers.js';

// tf.train.ExponentialMovingAverage(decay=m, num_updates=t): decay = min(m, (1 + t) / (10 + t)).
const decays = [
  { momentum: 0.995, updates: 0, decay: 0.1 },
  { momentum: 0.995, updates: 90, decay: 0.91 },
  { momentum: 0.995, updates: 1790, decay: 0.995 },
  { momentum: 0.995, updates: 100000, decay: 0.995 },
  { momentum: 0.5, updates: 8, decay: 0.5 },
];
for (const c of decays) {
  test(`WeightAverage(${c.momentum}) after ${c.updates} updates decays by ${c.decay}`, () => {
    assert.ok(Math.abs(WeightAverage.of(c.momentum, [], c.updates).decay() - c.decay) < 1e-12);
  });
}

test('WeightAverage.update: d·average + (1 − d)·weights per weight, counting updates; the starting weights are copied', () => {
  const start = [Float32Array.from([1, 2]), Float32Array.from([10])];
  const a = WeightAverage.of(0.995, start);
  start[0]![0] = 99;
  a.update([Float32Array.from([3, 4]), Float32Array.from([0])]); // d = 1/10
  assert.deepEqual(
    a.values.map((v) => [...v]),
    [[Math.fround(0.1 * 1 + 0.9 * 3), Math.fround(0.1 * 2 + 0.9 * 4)], [Math.fround(0.1 * 10)]],
  );
  a.update([Float32Array.from([0, 0]), Float32Array.from([0])]); // d = 2/11
  assert.equal(a.updates, 2);
  assert.equal(a.values[1]![0], Math.fround((2 / 11) * Math.fround(1)));
  assert.throws(() => a.update([Float32Array.from([1]), Float32Array.from([0])]), /^Error: weight 0 has 1 values, its average 2$/);
});

const onednn = probeOnednn();
const skip = REQUIRE_ONEDNN || onednn.addon ? false : `rnn's oneDNN addon is not available: ${onednn.error}`;

test(
  "the addon's movingAverage gives the JavaScript pass's bits (1.1M weights, 20 warm-up decays), and checks its arguments",
  { skip },
  () => {
    const addon = onednn.addon!;
    const rand = mulberry32(1);
    const n = 1_088_065; // the seed LSTM's weights: more than one thread's share
    const w = Float32Array.from({ length: n }, () => rand() - 0.5);
    const js = Float32Array.from({ length: n }, () => rand() - 0.5);
    const native = js.slice();
    for (let t = 0; t < 20; t++) {
      const d = WeightAverage.of(0.995, [], t).decay();
      averagePass(js, w, d);
      addon.movingAverage(native, w, d);
      w[t] = w[t]! + 0.25;
    }
    assert.deepEqual(native, js);
    assert.throws(
      () => addon.movingAverage(new Float32Array(2), new Float32Array(3), 0.5),
      /^RangeError: movingAverage: the two arrays differ in length$/,
    );
    assert.throws(
      () => addon.movingAverage(new Float32Array(2), [1, 2] as unknown as Float32Array, 0.5),
      /^TypeError: movingAverage\(average, value: Float32Array, decay: number\)$/,
    );
  },
);
