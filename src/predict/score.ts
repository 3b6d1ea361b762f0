/** Scoring a model on labeled reviews with its own preprocessing: probabilities, then metrics. */
import type { TF } from '../backend/index.js';
import type { Review } from '../data/index.js';
import { computeMetrics } from '../eval/metrics.js';
import { computeClassMetrics, type MetricLabels, type ModelMetrics } from '../eval/classes.js';
import { mulberry32, shuffleInPlace } from '../util/random.js';
import { createPredictor, encode, predictArrays, runnable, type InferenceModel } from './index.js';

export interface EvalResult {
  metrics: ModelMetrics;
  /** The metrics of the reviews not excluded, when some were (`rnn eval --exclude-overlap`). */
  without?: { excluded: number; metrics: ModelMetrics };
  seconds: number;
  /** Inference throughput (tokenizing excluded). */
  samplesPerSec: number;
}

/** Probabilities for labeled reviews, with each review's length in words (after Keras's tokenization). */
export interface Scores {
  probs: Float32Array;
  labels: number[];
  words: Int32Array;
  seconds: number;
  /** Inference throughput (tokenizing excluded). */
  samplesPerSec: number;
}

export function scoreReviews(
  tf: TF,
  m: InferenceModel,
  reviews: readonly Review[],
  batchSize: number,
  onBatch?: (done: number, total: number) => void,
): Scores {
  const pre = m.metadata.preprocessing;
  const { x, words } = encode(
    m.tokenizer,
    reviews.map((r) => r.text),
    pre,
  );
  const t0 = performance.now();
  const probs = predictArrays(createPredictor(tf, runnable(m), pre.maxlen), x, batchSize, onBatch);
  const seconds = (performance.now() - t0) / 1000;
  return { probs, labels: reviews.map((r) => r.label), words, seconds, samplesPerSec: reviews.length / seconds };
}

/**
 * The metrics of probabilities (one per review for a binary model, k per review for k ≥ 3 labels) against the
 * reviews' class indices.
 */
export function metricsOf(probs: Float32Array, labels: readonly number[], set: MetricLabels): ModelMetrics {
  return set.names.length > 2 ? computeClassMetrics(probs, labels, set) : computeMetrics(probs, labels);
}

/**
 * Metrics of `reviews` (class indices into `set`, the model's labels); with `exclude` (a flag per review),
 * also the metrics of the reviews it does not flag.
 */
export function evaluateModel(
  tf: TF,
  m: InferenceModel,
  reviews: readonly Review[],
  set: MetricLabels,
  batchSize: number,
  onBatch?: (done: number, total: number) => void,
  exclude?: readonly boolean[],
): EvalResult {
  const s = scoreReviews(tf, m, reviews, batchSize, onBatch);
  const r: EvalResult = { metrics: metricsOf(s.probs, s.labels, set), seconds: s.seconds, samplesPerSec: s.samplesPerSec };
  if (exclude) {
    const k = s.probs.length / reviews.length;
    const keep = reviews.map((_, i) => !exclude[i]);
    r.without = {
      excluded: keep.filter((x) => !x).length,
      metrics: metricsOf(
        s.probs.filter((_, j) => keep[Math.floor(j / k)]),
        s.labels.filter((_, i) => keep[i]),
        set,
      ),
    };
  }
  return r;
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
