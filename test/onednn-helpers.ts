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
import { Tokenizer } from '../src/text/tokenizer.js';
import { readImdbTarball } from '../src/data/imdb.js';
import type { Review } from '../src/data/index.js';
import { IMDB_TARBALL, REQUIRE_ONEDNN } from './helpers.js';

const onednn = probeOnednn();
/** Why oneDNN tests are skipped here (false: they run; with RNN_REQUIRE_ONEDNN=1, as in CI, they always run and fail without the addon). */
export const skipOnednn: string | false = REQUIRE_ONEDNN || onednn.addon ? false : `rnn's oneDNN addon is not available: ${onednn.error}`;
export const addon = onednn.addon as OnednnAddon;
/** The oneDNN kernels as a value, as `loadBackend({ kernels: 'onednn' })` carries them. */
export const onednnKernels: Kernels = { name: 'onednn', addon, reason: 'tests' };

/** 800 real training reviews: positives and negatives interleaved. */
export async function interleavedReviews(): Promise<Review[]> {
  const d = await readImdbTarball(IMDB_TARBALL, ['train']);
  return d.train.slice(0, 400).flatMap((r, i) => [r, d.train[d.train.length - 1 - i]!]);
}

export const SIZE = { vocabSize: 2000, embeddingDim: 24, maxlen: 80, units: 16 };

/** A small lesson model (or one of `topology`) fused onto `kernels`, compiled as `rnn train` compiles it (Adam at 1e-2, optionally clipped). */
export function lessonModel(tf: TF, cell: CellType, kernels: Kernels, clipNorm: number | null = null, topology?: Topology): LayersModel {
  const m = buildModel(tf, { ...MODEL_DEFAULTS, ...SIZE, ...topology, cell, seed: 5, layers: 'fused' }, kernels);
  m.compile({ optimizer: clippedAdam(tf, 1e-2, clipNorm), loss: 'binaryCrossentropy', metrics: ['accuracy'] });
  return m;
}

/** Real review batches of 32 (every third one short, 16), encoded like rnn train does. */
export function batches(reviews: readonly Review[]): Array<{ ids: Int32Array; y: Float32Array }> {
  const tok = new Tokenizer({ numWords: SIZE.vocabSize }).fitOnTexts(reviews.map((r) => r.text));
  const { x } = encode(
    tok,
    reviews.map((r) => r.text),
    { maxlen: SIZE.maxlen, padding: 'pre', truncating: 'pre' },
  );
  const out: Array<{ ids: Int32Array; y: Float32Array }> = [];
  for (let start = 0, k = 0; start < 400; start += k % 3 === 2 ? 16 : 32, k++) {
    const size = k % 3 === 2 ? 16 : 32;
    out.push({
      ids: x.slice(start * SIZE.maxlen, (start + size) * SIZE.maxlen),
      y: Float32Array.from(reviews.slice(start, start + size), (r) => r.label),
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
