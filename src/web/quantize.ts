/**
 * Weight quantization as tfjs's converter writes it: each weight of the manifest gets a `quantization`
 * field that stock `tf.loadLayersModel` reads and dequantizes (tfjs-core's `io.decodeWeights`):
 *
 * - `float16`: IEEE half precision (`{dtype: 'float16'}`), 2 bytes a value;
 * - `uint8`: affine, per tensor (`{dtype: 'uint8', min, scale}`; value = q · scale + min), 1 byte a value.
 *
 * Pure (no tfjs), so that it is tested against tfjs's own decoder.
 */

/** How weights are stored in an export. */
export const QUANTIZATIONS = ['none', 'float16', 'uint8'] as const;
export type Quantization = (typeof QUANTIZATIONS)[number];

/** One weight of a weights manifest (the fields this module reads and writes). */
export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool' | string;
  quantization?: { dtype: 'float16' | 'uint8' | 'uint16'; min?: number; scale?: number; original_dtype?: string };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The half-precision bits of a float32 value, rounded to nearest even (overflow to ±Infinity, NaN kept). */
export function float16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Infinity or NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // too large: Infinity
  if (e <= 0) {
    // Subnormal half (or zero): shift the mantissa with its implicit 1 into place, rounding to nearest even.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let m = mant >>> shift;
    if (rest > half || (rest === half && (m & 1) === 1)) m++;
    return sign | m;
  }
  let h = sign | (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++; // may carry into the exponent: still correct
  return h;
}

/**
 * The weights of `specs` (float32 values concatenated in `data`) quantized: new specs with their
 * `quantization` field, and the new bytes. Non-float32 weights are kept as they are.
 */
export function quantizeWeights(
  specs: readonly WeightSpec[],
  data: ArrayBuffer,
  how: Exclude<Quantization, 'none'>,
): { specs: WeightSpec[]; data: ArrayBuffer } {
  const out: Uint8Array[] = [];
  const newSpecs: WeightSpec[] = [];
  let offset = 0;
  for (const spec of specs) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const bytes = n * 4;
    if (spec.dtype !== 'float32') {
      out.push(new Uint8Array(data, offset, bytes));
      newSpecs.push({ ...spec });
      offset += bytes;
      continue;
    }
    const values = new Float32Array(data.slice(offset, offset + bytes));
    offset += bytes;
    if (how === 'float16') {
      const q = new Uint16Array(n);
      for (let i = 0; i < n; i++) q[i] = float16Bits(values[i]!);
      out.push(new Uint8Array(q.buffer));
      newSpecs.push({ ...spec, quantization: { dtype: 'float16', original_dtype: 'float32' } });
    } else {
      let min = Infinity;
      let max = -Infinity;
      for (const v of values) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
      if (n === 0) min = max = 0;
      // As tfjs-converter: the range is widened to include 0, so that 0 is exact (zero biases, padding rows).
      min = Math.min(min, 0);
      max = Math.max(max, 0);
      const scale = max > min ? (max - min) / 255 : 1;
      const zero = Math.round(-min / scale);
      min = -zero * scale; // nudged so that 0 is a representable value
      const q = new Uint8Array(n);
      for (let i = 0; i < n; i++) q[i] = Math.max(0, Math.min(255, Math.round((values[i]! - min) / scale)));
      out.push(q);
      newSpecs.push({ ...spec, quantization: { dtype: 'uint8', min, scale, original_dtype: 'float32' } });
    }
  }
  const total = out.reduce((s, a) => s + a.byteLength, 0);
  const joined = new Uint8Array(total);
  let at = 0;
  for (const a of out) {
    joined.set(a, at);
    at += a.byteLength;
  }
  return { specs: newSpecs, data: joined.buffer };
}

/** Bytes one value of a weight takes as stored. */
export function storedBytesPerValue(spec: WeightSpec): number {
  const q = spec.quantization?.dtype;
  return q === 'uint8' ? 1 : q === 'float16' || q === 'uint16' ? 2 : 4;
}
