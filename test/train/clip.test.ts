/**
 * Gradient clipping by global norm (`--clip-norm`): tfjs's Adam with the clip (the tfjs path) and the
 * addon's clipByGlobalNorm before its Adam pass (the oneDNN step) both give what Keras gives.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadBackend, type TF } from '../../src/backend/index.js';
import { probeOnednn } from '../../src/kernels/index.js';
import { clippedAdam } from '../../src/train/clip.js';
import { mulberry32 } from '../../src/util/random.js';
import { REQUIRE_NATIVE, REQUIRE_ONEDNN } from '../helpers.js';

let tf: TF;
before(async () => {
  tf = (await loadBackend({ requireNative: REQUIRE_NATIVE })).tf;
});

/**
 * Two variables a = [1, 2], b = [3] and three steps of gradients: joint norms 13 (clipped to 1), 0.37
 * (unclipped) and 10 (clipped). Golden values from Keras 3.15.1 on TensorFlow 2.21 (/tmp/kvenv):
 *
 *     opt = keras.optimizers.Adam(learning_rate=0.1, global_clipnorm=1.0)   # or without global_clipnorm
 *     for ga, gb in STEPS: opt.apply_gradients([(ga, a), (gb, b)])
 */
const STEPS: Array<[number[], number[]]> = [
  [[3, 4], [12]],
  [[0.1, -0.2], [0.3]],
  [[-6, 8], [0]],
];
const KERAS: Array<{ clipNorm: number | null; a: number[]; b: number[] }> = [
  { clipNorm: 1, a: [0.8406549096107483, 1.8213013410568237], b: [2.7462258338928223] },
  { clipNorm: null, a: [0.8636950254440308, 1.7578092813491821], b: [2.7779381275177] },
];

function close(got: ArrayLike<number>, want: number[], what: string): void {
  assert.equal(got.length, want.length, what);
  want.forEach((w, i) => assert.ok(Math.abs(got[i]! - w) < 1e-5, `${what}[${i}]: ${got[i]} vs Keras ${w}`));
}

for (const k of KERAS) {
  test(`clippedAdam(0.1, ${k.clipNorm}) on tfjs = Keras Adam(0.1${k.clipNorm === null ? '' : `, global_clipnorm=${k.clipNorm}`}) over three steps, leaving no tensors`, () => {
    const a = tf.variable(tf.tensor1d([1, 2]));
    const b = tf.variable(tf.tensor1d([3]));
    const opt = clippedAdam(tf, 0.1, k.clipNorm);
    assert.equal(opt.getClassName(), 'Adam', "tfjs's Adam to the model, its checkpoints and NativeStep");
    assert.equal(opt.clipNorm, k.clipNorm);
    for (const [i, [ga, gb]] of STEPS.entries()) {
      const grads = [
        { name: a.name, tensor: tf.tensor1d(ga) },
        { name: b.name, tensor: tf.tensor1d(gb) },
      ];
      const before = tf.memory().numTensors;
      opt.applyGradients(grads);
      // Adam makes its moment variables on the first step (two per weight); after that nothing is added.
      assert.equal(tf.memory().numTensors - before, i === 0 ? 4 : 0, `step ${i + 1}: tensors added`);
      tf.dispose(grads.map((g) => g.tensor));
    }
    close(a.dataSync(), k.a, 'a');
    close(b.dataSync(), k.b, 'b');
    opt.dispose();
    tf.dispose([a, b]);
  });
}

const onednn = probeOnednn();
const skip = REQUIRE_ONEDNN || onednn.addon ? false : `rnn's oneDNN addon is not available: ${onednn.error}`;

test("the addon's clipByGlobalNorm then its adam pass (NativeStep's update) = Keras Adam(0.1, global_clipnorm=1.0)", { skip }, () => {
  const addon = onednn.addon!;
  const params = [Float32Array.from([1, 2]), Float32Array.from([3])];
  const m = params.map((p) => new Float32Array(p.length));
  const v = params.map((p) => new Float32Array(p.length));
  const norms: number[] = [];
  STEPS.forEach(([ga, gb], t) => {
    const grads = [Float32Array.from(ga), Float32Array.from(gb)];
    norms.push(addon.clipByGlobalNorm(grads, 1));
    const c1 = Math.fround(1 - Math.fround(0.9 ** (t + 1)));
    const c2 = Math.fround(1 - Math.fround(0.999 ** (t + 1)));
    params.forEach((p, i) => addon.adam(p, grads[i]!, m[i]!, v[i]!, 0.1, 0.9, 0.999, 1e-7, c1, c2));
  });
  assert.equal(norms[0], 13);
  assert.ok(Math.abs(norms[1]! - Math.sqrt(0.14)) < 1e-7, `step 2's norm ${norms[1]} (float32 inputs)`);
  assert.equal(norms[2], 10);
  close(params[0]!, KERAS[0]!.a, 'a');
  close(params[1]!, KERAS[0]!.b, 'b');
});

test(
  'clipByGlobalNorm over the seed LSTM-sized gradients: the norm in double precision, every element scaled by one float32 factor, nothing scaled below the clip',
  { skip },
  () => {
    const addon = onednn.addon!;
    const rand = mulberry32(3);
    const sizes = [1_000_000, 40_000, 65_536, 512, 128, 1]; // embedding, kernel, recurrent kernel, bias, dense, dense bias
    const grads = sizes.map((n) => Float32Array.from({ length: n }, () => (rand() - 0.5) * 1e-3));
    let ss = 0;
    for (const g of grads) for (const x of g) ss += x * x;
    const norm = Math.sqrt(ss);
    for (const c of [
      { clip: norm * 2, scaled: false },
      { clip: norm / 4, scaled: true },
    ]) {
      const copy = grads.map((g) => g.slice());
      const got = addon.clipByGlobalNorm(copy, c.clip);
      assert.ok(Math.abs(got - norm) <= 1e-12 * norm, `norm ${got} vs ${norm}`);
      const f = c.scaled ? Math.fround(c.clip / got) : 1;
      copy.forEach((g, i) =>
        g.forEach((x, j) => x !== Math.fround(grads[i]![j]! * f) && assert.fail(`gradient ${i}[${j}]: ${x} vs ${grads[i]![j]} · ${f}`)),
      );
      let after = 0;
      for (const g of copy) for (const x of g) after += x * x;
      assert.ok(Math.abs(Math.sqrt(after) - Math.min(norm, c.clip)) < 1e-6 * norm, `norm after clipping ${Math.sqrt(after)}`);
    }
  },
);

test('clipByGlobalNorm checks its arguments', { skip }, () => {
  const addon = onednn.addon!;
  const usage = /^TypeError: clipByGlobalNorm\(grads: Float32Array\[\], clipNorm: positive number\)$/;
  const cases: Array<[string, () => unknown]> = [
    ['a clip of 0', () => addon.clipByGlobalNorm([new Float32Array(2)], 0)],
    ['a NaN clip', () => addon.clipByGlobalNorm([new Float32Array(2)], Number.NaN)],
    ['a Float64Array', () => addon.clipByGlobalNorm([new Float64Array(2) as unknown as Float32Array], 1)],
    ['one array, not a list', () => addon.clipByGlobalNorm(new Float32Array(2) as unknown as Float32Array[], 1)],
  ];
  for (const [name, call] of cases) assert.throws(call, usage, name);
});
