/**
 * Explained predictions by occlusion (the tfjs-free part, shared by the CLI, `rnn serve` and the browser page): each word's contribution is how much the model's log-odds drop when
 * that word is removed from the review (the rest of the review unchanged, then padded/truncated as usual).
 *
 * Why occlusion and not integrated gradients: it answers exactly "what would the model say without this
 * word", with the same preprocessing (removing a word shifts the window like a shorter review would); it
 * needs only forward passes (one batch of ≤ maxlen+1 rows, ~0.1–0.5 s with the fused layers) and no
 * gradient through the embedding lookup or a baseline choice; and it stays informative when the sigmoid
 * is saturated, because contributions are differences of log-odds rather than of probabilities.
 */
import { cleanReview } from '../data/types.js';
import { padSequences } from '../text/pad.js';
import type { TextModel } from '../predict/encode.js';

export interface WordContribution {
  /** The word as written in the review (text between spaces, tabs and newlines). */
  text: string;
  /** Its tokens after Keras's tokenization (lower-cased, punctuation removed). */
  tokens: string[];
  /** logit(p) − logit(p without this word): > 0 pushes towards positive. 0 when the model never saw it. */
  contribution: number;
  /** Probability of `positive` with this word removed. */
  probabilityWithout: number;
  /** False when none of its tokens reached the model (unknown to the vocabulary, or cut off by maxlen). */
  seen: boolean;
}

export interface Explanation {
  label: 'positive' | 'negative';
  probability: number;
  method: 'occlusion';
  /** Every word of the review in order, with the separators between words in `separators` (separators[i] precedes words[i]). */
  words: WordContribution[];
  separators: string[];
  /** Text after the last word. */
  trailing: string;
}

const EPS = 1e-7;
const logit = (p: number): number => {
  const q = Math.min(1 - EPS, Math.max(EPS, p));
  return Math.log(q / (1 - q));
};

/** Splits a review into words and the whitespace between them, with each word's token ids. */
function segment(
  m: Pick<TextModel, 'tokenizer'>,
  text: string,
): { words: string[]; separators: string[]; trailing: string; ids: number[][] } {
  const parts = text.split(/([ \t\n]+)/);
  const words: string[] = [];
  const separators: string[] = [];
  let sep = '';
  for (let i = 0; i < parts.length; i++) {
    if (i % 2 === 1) {
      sep += parts[i]!;
    } else if (parts[i] !== '') {
      words.push(parts[i]!);
      separators.push(sep);
      sep = '';
    }
  }
  const ids = words.map((w) => m.tokenizer.textToSequenceWithStats(w).ids);
  const whole = m.tokenizer.textToSequenceWithStats(text).ids;
  const joined = ids.flat();
  if (joined.length === whole.length && joined.every((v, i) => v === whole[i])) return { words, separators, trailing: sep, ids };
  // A tokenizer with other filters or split character: fall back to Keras's own tokens as the words.
  const tokens = m.tokenizer.textToWords(text);
  return {
    words: tokens,
    separators: tokens.map((_, i) => (i === 0 ? '' : ' ')),
    trailing: '',
    ids: tokens.map((t) => m.tokenizer.textToSequenceWithStats(t).ids),
  };
}

/**
 * The forward rows that explain one review (the review whole, then once without each word that reaches the
 * model) and how their probabilities become the explanation: lets a caller run the rows on its own
 * predictor, batched with other work (`rnn serve`).
 */
export interface ExplanationPlan {
  /** Padded ids [rows·maxlen]; row 0 is the review whole. */
  ids: Int32Array;
  rows: number;
  /** The explanation, given the probabilities of the rows. */
  finish(probs: Float32Array): Explanation;
}

/** Plans the explanation of one review with the model's own preprocessing. */
export function planExplanation(m: TextModel, text: string): ExplanationPlan {
  const pre = m.metadata.preprocessing;
  const { words, separators, trailing, ids } = segment(m, cleanReview(text));
  const all = ids.flat();
  // Which id positions reach the model after truncation.
  const keepFrom = pre.truncating === 'pre' ? Math.max(0, all.length - pre.maxlen) : 0;
  const keepTo = pre.truncating === 'pre' ? all.length : Math.min(all.length, pre.maxlen);
  const rows: number[][] = [all];
  const rowOf: number[] = [];
  let pos = 0;
  for (const w of ids) {
    const start = pos;
    pos += w.length;
    const seen = w.length > 0 && pos > keepFrom && start < keepTo;
    rowOf.push(seen ? rows.length : -1);
    if (seen) rows.push([...all.slice(0, start), ...all.slice(pos)]);
  }
  const finish = (probs: Float32Array): Explanation => {
    const p = probs[0]!;
    return {
      label: p > 0.5 ? 'positive' : 'negative',
      probability: p,
      method: 'occlusion',
      words: words.map((w, i) => {
        const r = rowOf[i]!;
        const tokens = m.tokenizer.textToWords(w);
        if (r < 0) return { text: w, tokens, contribution: 0, probabilityWithout: p, seen: false };
        return { text: w, tokens, contribution: logit(p) - logit(probs[r]!), probabilityWithout: probs[r]!, seen: true };
      }),
      separators,
      trailing,
    };
  };
  return { ids: padSequences(rows, pre), rows: rows.length, finish };
}

/** An explanation as `rnn predict --explain --json` and `rnn serve` give it: the prediction and every word with its contribution. */
export function explanationJson(e: Explanation): ExplanationJson {
  return {
    label: e.label,
    probability: e.probability,
    method: e.method,
    words: e.words.map((w) => ({
      word: w.text,
      tokens: w.tokens,
      contribution: Number(w.contribution.toFixed(6)),
      probabilityWithout: w.probabilityWithout,
      seen: w.seen,
    })),
  };
}

/** The JSON form of an {@link Explanation}. */
export interface ExplanationJson {
  label: Explanation['label'];
  probability: number;
  method: Explanation['method'];
  words: { word: string; tokens: string[]; contribution: number; probabilityWithout: number; seen: boolean }[];
}

/** How a word is shown: its direction, and 0 (plain), 1 (coloured) or 2 (strong) by its contribution over the review's largest. */
export interface WordStrength {
  sign: 1 | -1;
  level: 0 | 1 | 2;
}

/**
 * Each word's strength, as `rnn predict --explain` colours it and the exported page marks it: words under
 * 15% of the largest contribution stay plain, from 50% they are strong; words the model never saw are plain.
 */
export function wordStrengths(e: Explanation): WordStrength[] {
  const max = Math.max(1e-9, ...e.words.map((w) => Math.abs(w.contribution)));
  return e.words.map((w) => {
    const r = w.seen ? w.contribution / max : 0;
    return { sign: r < 0 ? -1 : 1, level: Math.abs(r) < 0.15 ? 0 : Math.abs(r) >= 0.5 ? 2 : 1 };
  });
}

/** How many most positive and most negative words `rnn predict --explain` lists by default. */
export const TOP_WORDS = 5;

/** The `n` words pushing most towards `direction` (positive: largest contributions), strongest first. */
export function topWords(e: Explanation, direction: 'positive' | 'negative', n: number): WordContribution[] {
  const sign = direction === 'positive' ? 1 : -1;
  return e.words
    .filter((w) => w.seen && sign * w.contribution > 0)
    .sort((a, b) => sign * (b.contribution - a.contribution))
    .slice(0, n);
}
