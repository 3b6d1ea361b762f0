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

/** The predictions of encoded texts, given their probabilities. */
export function predictionsOf(encoded: EncodedTexts, probs: Float32Array, maxlen: number): Prediction[] {
  return encoded.stats.map((s, i) => ({
    label: probs[i]! > 0.5 ? 'positive' : 'negative',
    probability: probs[i]!,
    words: s.words,
    unknownWords: s.unknown,
    truncatedIds: Math.max(0, s.ids - maxlen),
  }));
}
