/** Scoring a saved model on labeled reviews, and predicting new texts, with the model's own preprocessing. */
import type { TF } from '../backend/index.js';
import type { Review } from '../data/index.js';
import { cleanReview } from '../data/index.js';
import type { ModelDir } from '../io/model-dir.js';
import { encode, predictArrays } from '../train/index.js';
import { padSequences } from '../text/pad.js';
import { computeMetrics, type Metrics } from './metrics.js';

export interface EvalResult {
  metrics: Metrics;
  seconds: number;
  /** Inference throughput (tokenizing excluded). */
  samplesPerSec: number;
}

export async function evaluateModel(tf: TF, m: ModelDir, reviews: readonly Review[], batchSize: number, onBatch?: (done: number, total: number) => void): Promise<EvalResult> {
  const pre = m.metadata.preprocessing;
  const { x } = encode(m.tokenizer, reviews.map((r) => r.text), pre);
  const t0 = performance.now();
  const probs = predictArrays(tf, m.model, x, pre.maxlen, batchSize, onBatch);
  const seconds = (performance.now() - t0) / 1000;
  return { metrics: computeMetrics(probs, reviews.map((r) => r.label)), seconds, samplesPerSec: reviews.length / seconds };
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
