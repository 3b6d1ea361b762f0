/** Scoring a saved model on labeled reviews, and predicting new texts, with the model's own preprocessing. */
import type { TF } from '../backend/index.js';
import type { Review } from '../data/index.js';
import { cleanReview } from '../data/index.js';
import type { ModelDir } from '../io/model-dir.js';
import { encode, predictArrays } from '../train/index.js';
import { padSequences } from '../text/pad.js';
import { computeMetrics, type Metrics } from './metrics.js';
import { mulberry32, shuffleInPlace } from '../util/random.js';

export interface EvalResult {
  metrics: Metrics;
  seconds: number;
  /** Inference throughput (tokenizing excluded). */
  samplesPerSec: number;
}

/** The model directory parts scoring needs (a loaded directory, or a model just trained). */
export type Scorable = Pick<ModelDir, 'model' | 'tokenizer'> & { metadata: { preprocessing: Pick<ModelDir['metadata']['preprocessing'], 'maxlen' | 'padding' | 'truncating'> } };

/** Probabilities for labeled reviews, with each review's length in words (after Keras's tokenization). */
export interface Scores {
  probs: Float32Array;
  labels: number[];
  words: Int32Array;
  seconds: number;
  /** Inference throughput (tokenizing excluded). */
  samplesPerSec: number;
}

export function scoreReviews(tf: TF, m: Scorable, reviews: readonly Review[], batchSize: number, onBatch?: (done: number, total: number) => void): Scores {
  const pre = m.metadata.preprocessing;
  const { x, words } = encode(m.tokenizer, reviews.map((r) => r.text), pre);
  const t0 = performance.now();
  const probs = predictArrays(tf, m.model, x, pre.maxlen, batchSize, onBatch);
  const seconds = (performance.now() - t0) / 1000;
  return { probs, labels: reviews.map((r) => r.label), words, seconds, samplesPerSec: reviews.length / seconds };
}

export async function evaluateModel(tf: TF, m: Scorable, reviews: readonly Review[], batchSize: number, onBatch?: (done: number, total: number) => void): Promise<EvalResult> {
  const s = scoreReviews(tf, m, reviews, batchSize, onBatch);
  return { metrics: computeMetrics(s.probs, s.labels), seconds: s.seconds, samplesPerSec: s.samplesPerSec };
}

/** The fixed seed of test subsets (`--limit` of eval, `--test-limit` of compare): every model sees the same reviews. */
export const EVAL_SUBSET_SEED = 20110626;

/** A fixed random subset of `limit` reviews (all of them when limit is undefined or not smaller). */
export function testSubset(reviews: readonly Review[], limit: number | undefined): readonly Review[] {
  if (limit === undefined || limit >= reviews.length) return reviews;
  const copy = [...reviews];
  shuffleInPlace(copy, mulberry32(EVAL_SUBSET_SEED));
  return copy.slice(0, limit);
}

/** One prediction. */
export interface Prediction {
  /** `positive` when probability > 0.5, else `negative`. */
  label: 'positive' | 'negative';
  /** Model output: probability that the review is positive. */
  probability: number;
  /** Words after Keras's tokenization. */
  words: number;
  /** Words the model's vocabulary does not know (dropped, or the OOV id). */
  unknownWords: number;
  /** Ids cut off because the review is longer than maxlen. */
  truncatedIds: number;
}

export function predictTexts(tf: TF, m: ModelDir, texts: readonly string[], batchSize = 256): Prediction[] {
  const pre = m.metadata.preprocessing;
  const stats = texts.map((t) => m.tokenizer.textToSequenceWithStats(cleanReview(t)));
  const x = padSequences(stats.map((s) => s.ids), pre);
  const probs = predictArrays(tf, m.model, x, pre.maxlen, batchSize);
  return stats.map((s, i) => ({
    label: probs[i]! > 0.5 ? 'positive' : 'negative',
    probability: probs[i]!,
    words: s.words,
    unknownWords: s.unknown,
    truncatedIds: Math.max(0, s.ids.length - pre.maxlen),
  }));
}
