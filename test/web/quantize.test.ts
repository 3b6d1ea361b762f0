/**
 * Weight quantization against tfjs's own decoder: what `rnn export --web --quantize` writes is what stock
 * `tf.loadLayersModel` reads back (tfjs-core's io.decodeWeights), within the precision of each format.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { float16Bits, quantizeWeights, type WeightSpec } from '../../src/web/quantize.js';

// Half-precision bit patterns (IEEE 754 binary16), rounding to nearest even.
const HALVES: Array<[number, number]> = [
  [0, 0x0000],
  [-0, 0x8000],
  [1, 0x3c00],
  [-2, 0xc000],
  [0.1, 0x2e66],
  [65504, 0x7bff], // largest half
  [65520, 0x7c00], // rounds up past it: Infinity
  [1e6, 0x7c00],
  [-Infinity, 0xfc00],
  [2 ** -14, 0x0400], // smallest normal
  [2 ** -24, 0x0001], // smallest subnormal
  [2 ** -25, 0x0000], // half of it: ties to even (0)
  [3 * 2 ** -25, 0x0002], // 1.5 of it: ties to even (2)
  [1 + 2 ** -11, 0x3c00], // tie between 1 and the next half: even (1)
  [1 + 3 * 2 ** -11, 0x3c02], // tie: even (the upper one)
  [1e-9, 0x0000],
];
for (const [value, bits] of HALVES) {
  test(`float16Bits(${value}) = 0x${bits.toString(16).padStart(4, '0')}`, () => assert.equal(float16Bits(value), bits));
}
test('float16Bits(NaN) is a NaN', () => {
  const b = float16Bits(NaN);
  assert.equal(b & 0x7c00, 0x7c00);
  assert.notEqual(b & 0x3ff, 0);
});

/** Weights like a trained model's: an embedding, a kernel with outliers, a zero bias, an int32 tensor. */
function sampleWeights(): { specs: WeightSpec[]; values: Float32Array[]; data: ArrayBuffer } {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  const specs: WeightSpec[] = [
    { name: 'embedding/embeddings', shape: [50, 8], dtype: 'float32' },
    { name: 'lstm/kernel', shape: [8, 16], dtype: 'float32' },
    { name: 'lstm/bias', shape: [16], dtype: 'float32' },
    { name: 'counts', shape: [3], dtype: 'int32' },
  ];
  const values = [
    Float32Array.from({ length: 400 }, () => rand() * 0.05),
    Float32Array.from({ length: 128 }, (_, i) => (i === 5 ? 3.5 : rand() * 0.3)),
    new Float32Array(16),
  ];
  const ints = Int32Array.from([1, -2, 3]);
  const bytes = new Uint8Array([...values, ints].reduce((s, a) => s + a.byteLength, 0));
  let at = 0;
  for (const a of [...values, ints]) {
    bytes.set(new Uint8Array(a.buffer), at);
    at += a.byteLength;
  }
  return { specs, values, data: bytes.buffer };
}

for (const how of ['float16', 'uint8'] as const) {
  test(`${how}: tfjs's decodeWeights reads the quantized weights back within ${how}'s precision; int32 is kept`, () => {
    const { specs, values, data } = sampleWeights();
    const q = quantizeWeights(specs, data, how);
    assert.equal(q.data.byteLength, (400 + 128 + 16) * (how === 'float16' ? 2 : 1) + 12);
    const decoded = tf.io.decodeWeights(q.data, q.specs as tf.io.WeightsManifestEntry[]);
    values.forEach((v, i) => {
      const back = decoded[specs[i]!.name]!.dataSync();
      const range = Math.max(...v) - Math.min(...v, 0);
      let worst = 0;
      v.forEach((x, j) => {
        const err = Math.abs(back[j]! - x);
        // float16: 11 significant bits; uint8: half a step of 256 over the range.
        const bound = how === 'float16' ? Math.abs(x) * 2 ** -11 + 2 ** -25 : range / 255 / 2 + 1e-7;
        worst = Math.max(worst, err / bound);
      });
      assert.ok(worst <= 1, `${specs[i]!.name}: error up to ${worst.toFixed(3)}× the bound`);
    });
    assert.deepEqual([...decoded['lstm/bias']!.dataSync()], Array(16).fill(0), 'zeros stay exactly zero');
    assert.deepEqual([...decoded['counts']!.dataSync()], [1, -2, 3]);
    assert.equal(q.specs[3]!.quantization, undefined);
    Object.values(decoded).forEach((t) => t.dispose());
  });
}
