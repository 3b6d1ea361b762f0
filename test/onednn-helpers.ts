/**
 * What the tests of rnn's oneDNN kernels share: the addon (or why it is missing), a small lesson model,
 * and real IMDB review batches encoded as `rnn train` encodes them.
 */
import assert from 'node:assert/strict';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import type { TF } from '../src/backend/index.js';
import { probeOnednn, type Kernels, type OnednnAddon } from '../src/kernels/index.js';
import { buildModel, MODEL_DEFAULTS, type Topology } from '../src/models/index.js';
import type { CellType } from '../src/cells.js';
import { encode } from '../src/predict/index.js';
import { clippedAdam } from '../src/train/clip.js';
import { lossFor } from '../src/train/onednn-step.js';
import { Tokenizer } from '../src/text/tokenizer.js';
import type { Review } from '../src/data/index.js';
import { REQUIRE_ONEDNN, imdb } from './helpers.js';

const onednn = probeOnednn();
/** Why oneDNN tests are skipped here (false: they run; with RNN_REQUIRE_ONEDNN=1, as in CI, they always run and fail without the addon). */
export const skipOnednn: string | false = REQUIRE_ONEDNN || onednn.addon ? false : `rnn's oneDNN addon is not available: ${onednn.error}`;
export const addon = onednn.addon as OnednnAddon;
/** The oneDNN kernels as a value, as `loadBackend({ kernels: 'onednn' })` carries them. */
export const onednnKernels: Kernels = { name: 'onednn', addon, reason: 'tests' };

/** 800 real training reviews: positives and negatives interleaved. */
export async function interleavedReviews(): Promise<Review[]> {
  const d = await imdb();
  return d.train.slice(0, 400).flatMap((r, i) => [r, d.train[d.train.length - 1 - i]!]);
}

/** Every topology rnn builds: the lesson's (one direction, last state) and the recipe's. */
export const TOPOLOGIES: Topology[] = [
  { bidirectional: false, pooling: 'last' },
  { bidirectional: false, pooling: 'max' },
  { bidirectional: false, pooling: 'mean' },
  { bidirectional: true, pooling: 'last' },
  { bidirectional: true, pooling: 'max' },
  { bidirectional: true, pooling: 'mean' },
];

/** Five rows of T ids at the edges: all padding, a full review, half padding, one word, all padding again; labels alternate. */
export function edgeRows(T: number): { ids: Int32Array; y: Float32Array } {
  const pads = [T, 0, 6, T - 1, T];
  const ids = new Int32Array(pads.length * T);
  pads.forEach((p, b) => {
    for (let t = p; t < T; t++) ids[b * T + t] = 1 + ((b * 31 + t * 7) % 50);
  });
  return { ids, y: Float32Array.from(pads, (_, i) => i % 2) };
}

/** Batches of {@link edgeRows}' rows: all five, one row, one row of padding. */
export const EDGE_BATCHES = [
  ['five rows, two of them all padding', [0, 1, 2, 3, 4]],
  ['one row', [2]],
  ['one row of padding', [0]],
] as const;

/** Rows `rows` of a [n, T] id matrix, in that order. */
export function rowsOf(ids: Int32Array, T: number, rows: readonly number[]): Int32Array {
  return Int32Array.from(rows.flatMap((r) => Array.from(ids.subarray(r * T, (r + 1) * T))));
}

export const SIZE = { vocabSize: 2000, embeddingDim: 24, maxlen: 80, units: 16 };

/**
 * A small lesson model (or one of `topology`, or of `classes` ≥ 3: Dense(k, softmax)) fused onto `kernels`,
 * compiled as `rnn train` compiles it (Adam at 1e-2, optionally clipped).
 */
export function lessonModel(
  tf: TF,
  cell: CellType,
  kernels: Kernels,
  clipNorm: number | null = null,
  topology?: Topology,
  classes = 2,
): LayersModel {
  const m = buildModel(tf, { ...MODEL_DEFAULTS, ...SIZE, ...topology, cell, seed: 5, layers: 'fused', classes }, kernels);
  m.compile({ optimizer: clippedAdam(tf, 1e-2, clipNorm), loss: lossFor(classes), metrics: ['accuracy'] });
  return m;
}

/** IMDB's ratings, in the order of their class indices (a review's rating is in its file name: `train/pos/123_8.txt`). */
export const RATINGS = [1, 2, 3, 4, 7, 8, 9, 10] as const;

/** A review's rating from its id (`train/pos/123_8.txt` → 8). */
export function ratingOf(r: Review): number {
  const m = /_(\d+)\.txt$/.exec(r.id);
  if (!m) throw new Error(`no rating in ${r.id}`);
  return Number(m[1]);
}

/**
 * A review's class among `classes` made from its rating: 8 classes are the eight ratings ({@link RATINGS});
 * 3 are 1–2 (very negative), 3–4 and 7–8 (mixed), 9–10 (very positive).
 */
export function ratingClass(r: Review, classes: 3 | 8): number {
  const rating = ratingOf(r);
  if (classes === 8) return RATINGS.indexOf(rating as (typeof RATINGS)[number]);
  return rating <= 2 ? 0 : rating >= 9 ? 2 : 1;
}

const encodedReviews = new WeakMap<readonly Review[], Int32Array>();

/**
 * `reviews` encoded as `rnn train` encodes them (a tokenizer of {@link SIZE}'s vocabulary fitted on them, padded
 * and cut to its maxlen), once per array: fitting and encoding 800 reviews costs about 2 CPU-s, and the files
 * ask for the same reviews' batches in test after test.
 */
function encodedReviewIds(reviews: readonly Review[]): Int32Array {
  let x = encodedReviews.get(reviews);
  if (!x) {
    const tok = new Tokenizer({ numWords: SIZE.vocabSize }).fitOnTexts(reviews.map((r) => r.text));
    x = encode(
      tok,
      reviews.map((r) => r.text),
      { maxlen: SIZE.maxlen, padding: 'pre', truncating: 'pre' },
    ).x;
    encodedReviews.set(reviews, x);
  }
  return x;
}

/** Real review batches of 32 (every third one short, 16), encoded like rnn train does; labels by `label` (default the review's own, 0/1). */
export function batches(
  reviews: readonly Review[],
  label: (r: Review) => number = (r) => r.label,
): Array<{ ids: Int32Array; y: Float32Array }> {
  const x = encodedReviewIds(reviews);
  const out: Array<{ ids: Int32Array; y: Float32Array }> = [];
  for (let start = 0, k = 0; start < 400; start += k % 3 === 2 ? 16 : 32, k++) {
    const size = k % 3 === 2 ? 16 : 32;
    out.push({
      ids: x.slice(start * SIZE.maxlen, (start + size) * SIZE.maxlen),
      y: Float32Array.from(reviews.slice(start, start + size), label),
    });
  }
  return out;
}

export function maxAbsDiff(a: Tensor[] | Float32Array[], b: Tensor[] | Float32Array[]): number {
  let m = 0;
  a.forEach((t, i) => {
    const x = t instanceof Float32Array ? t : (t.dataSync() as Float32Array);
    const u = b[i]!;
    const y = u instanceof Float32Array ? u : (u.dataSync() as Float32Array);
    assert.equal(x.length, y.length);
    for (let k = 0; k < x.length; k++) m = Math.max(m, Math.abs(x[k]! - y[k]!));
  });
  return m;
}
