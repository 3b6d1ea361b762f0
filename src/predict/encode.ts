/**
 * Texts into padded ids and ids' probabilities into predictions: the tfjs-free part of prediction, shared
 * by the CLI, \`rnn serve\` and the browser page (src/web).
 */
import { cleanReview } from '../data/types.js';
import type { Tokenizer } from '../text/tokenizer.js';
import { padSequences, type PadOptions } from '../text/pad.js';

/** How texts become ids: Keras's pad_sequences options of a model. */
export type PadSpec = Pick<PadOptions, 'maxlen' | 'padding' | 'truncating'>;

/** What encoding needs of a model: its tokenizer and preprocessing. */
export interface TextModel {
  tokenizer: Tokenizer;
  metadata: { preprocessing: PadSpec };
}

/** One prediction. */
export interface Prediction {
  /**
   * Binary model: its second label (`positive`) when probability > 0.5, else its first (`negative`). k ≥ 3
   * classes: the most probable class's label.
   */
  label: string;
  /** Binary model: its output, the probability of its second label (`positive`). k ≥ 3 classes: the most probable class's probability. */
  probability: number;
  /**
   * k ≥ 3 classes only: every class's probability keyed by its label, in label order (absent for a binary model;
   * JSON lists integer-like keys in ascending order, which is label order for numeric labels).
   */
  probabilities?: Record<string, number>;
  /** Words after Keras's tokenization. */
  words: number;
  /** Words the model's vocabulary does not know (dropped, or the OOV id). */
  unknownWords: number;
  /** Ids cut off because the review is longer than maxlen. */
  truncatedIds: number;
}

/** Texts encoded for a model: the padded ids [n·maxlen] and what {@link predictionsOf} reports beside each probability. */
export interface EncodedTexts {
  x: Int32Array;
  stats: { words: number; unknown: number; ids: number }[];
}

/** Encodes new texts (HTML line breaks cleaned as in training) with the model's own preprocessing. */
export function encodeTexts(m: TextModel, texts: readonly string[]): EncodedTexts {
  const pre = m.metadata.preprocessing;
  const seqs = texts.map((t) => m.tokenizer.textToSequenceWithStats(cleanReview(t)));
  return {
    x: padSequences(
      seqs.map((s) => s.ids),
      pre,
    ),
    stats: seqs.map((s) => ({ words: s.words, unknown: s.unknown, ids: s.ids.length })),
  };
}

/**
 * The predictions of encoded texts, given their probabilities as a predictor lays them out (src/predict:
 * `Predictor`): one per text for a binary model; for a model of k ≥ 3 classes, k per text, row-major, with
 * `labels` the k class names in order (their number says the model is not binary).
 */
export function predictionsOf(encoded: EncodedTexts, probs: Float32Array, maxlen: number, labels?: readonly string[]): Prediction[] {
  const k = labels && labels.length > 2 ? labels.length : 0;
  if (k > 0 && probs.length !== encoded.stats.length * k)
    throw new Error(`expected ${k} probabilities for each of ${encoded.stats.length} texts, got ${probs.length} values`);
  return encoded.stats.map((s, i) => {
    const rest = { words: s.words, unknownWords: s.unknown, truncatedIds: Math.max(0, s.ids - maxlen) };
    if (k === 0) {
      const [negative, positive] = labels ?? ['negative', 'positive'];
      return { label: probs[i]! > 0.5 ? positive! : negative!, probability: probs[i]!, ...rest };
    }
    const row = probs.subarray(i * k, (i + 1) * k);
    const top = argmax(row);
    return {
      label: labels![top]!,
      probability: row[top]!,
      probabilities: Object.fromEntries(labels!.map((l, c) => [l, row[c]!])),
      ...rest,
    };
  });
}

/** Index of the largest value (the first of equal ones, as tfjs's argMax). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let c = 1; c < values.length; c++) if (values[c]! > values[best]!) best = c;
  return best;
}
