/**
 * Explained predictions by occlusion (the tfjs-free part, shared by the CLI, `rnn serve` and the browser page): each word's contribution is how much the model's log-odds drop when
 * that word is removed from the review (the rest of the review unchanged, then padded/truncated as usual).
 * A model of k ≥ 3 classes explains one class (the predicted one unless asked for another) by the drop of
 * that class's log-probability.
 *
 * Why occlusion and not integrated gradients: it answers exactly "what would the model say without this
 * word", with the same preprocessing (removing a word shifts the window like a shorter review would); it
 * needs only forward passes (one batch of ≤ maxlen+1 rows, ~0.1–0.5 s with the fused layers) and no
 * gradient through the embedding lookup or a baseline choice; and it stays informative when the sigmoid
 * is saturated, because contributions are differences of log-odds rather than of probabilities.
 */
import { cleanReview } from '../data/types.js';
import { padSequences } from '../text/pad.js';
import { argmax, type TextModel } from '../predict/encode.js';

export interface WordContribution {
  /** The word as written in the review (text between spaces, tabs and newlines). */
  text: string;
  /** Its tokens after Keras's tokenization (lower-cased, punctuation removed). */
  tokens: string[];
  /**
   * Binary: logit(p) − logit(p without this word), > 0 pushes towards positive. k ≥ 3 classes: log p(c) −
   * log p(c without this word) for the explained class c, > 0 pushes towards it. 0 when the model never saw it.
   */
  contribution: number;
  /** Probability of `positive` (k ≥ 3 classes: of the explained class) with this word removed. */
  probabilityWithout: number;
  /** False when none of its tokens reached the model (unknown to the vocabulary, or cut off by maxlen). */
  seen: boolean;
}

export interface Explanation {
  /** Binary: `positive` or `negative`. k ≥ 3 classes: the predicted (most probable) class's label. */
  label: string;
  /** Binary: the probability of `positive`. k ≥ 3 classes: the predicted class's. */
  probability: number;
  method: 'occlusion';
  /** k ≥ 3 classes only (absent for a binary model): every class's probability and which class the contributions explain. */
  classes?: ClassesExplained;
  /** Every word of the review in order, with the separators between words in `separators` (separators[i] precedes words[i]). */
  words: WordContribution[];
  separators: string[];
  /** Text after the last word. */
  trailing: string;
}

/** What an explanation of a model of k ≥ 3 classes adds. */
export interface ClassesExplained {
  /** The class names, in order (k of them). */
  labels: string[];
  /** Each class's probability for the review as it is, in class order. */
  probabilities: number[];
  /** Index of the predicted (most probable) class. */
  predicted: number;
  /** Index of the class whose log-probability the contributions measure. */
  explained: number;
}

/** Which class to explain, for a model of k ≥ 3 classes (a binary model always explains the log-odds of `positive`). */
export interface ExplainClass {
  /** The model's class names in order; default their indices ("0", "1", …). */
  labels?: readonly string[];
  /** Index of the class to explain; default the predicted one. */
  target?: number;
}

const EPS = 1e-7;
const logit = (p: number): number => {
  const q = Math.min(1 - EPS, Math.max(EPS, p));
  return Math.log(q / (1 - q));
};
/** A probability's logarithm, with probabilities clipped to [ε, 1 − ε] as logit's (and Keras's cross-entropy's). */
const logProbability = (p: number): number => Math.log(Math.min(1 - EPS, Math.max(EPS, p)));

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
  /**
   * The explanation, given the probabilities of the rows as a predictor lays them out: one per row for a
   * binary model, else k per row, row-major (k is read from their number).
   */
  finish(probs: Float32Array): Explanation;
}

/** Plans the explanation of one review with the model's own preprocessing; `choice` picks the class a model of k ≥ 3 classes explains. */
export function planExplanation(m: TextModel, text: string, choice: ExplainClass = {}): ExplanationPlan {
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
    if (probs.length !== rows.length) return finishClasses(probs);
    const p = probs[0]!;
    return {
      // A binary model's labels are its second (p > 0.5) and first: positive and negative unless its data named others.
      label: p > 0.5 ? (choice.labels?.[1] ?? 'positive') : (choice.labels?.[0] ?? 'negative'),
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
  const finishClasses = (probs: Float32Array): Explanation => {
    const k = probs.length / rows.length;
    if (!Number.isInteger(k) || k < 3)
      throw new Error(`expected 1 or k ≥ 3 probabilities for each of ${rows.length} rows, got ${probs.length}`);
    const labels = choice.labels ? [...choice.labels] : Array.from({ length: k }, (_, c) => String(c));
    if (labels.length !== k) throw new Error(`the model has ${k} classes, but ${labels.length} labels were given`);
    const probabilities = Array.from(probs.subarray(0, k));
    const predicted = argmax(probabilities);
    const c = choice.target ?? predicted;
    if (!Number.isInteger(c) || c < 0 || c >= k) throw new Error(`class ${c} is not one of the model's ${k}`);
    const p = probabilities[c]!;
    return {
      label: labels[predicted]!,
      probability: probabilities[predicted]!,
      method: 'occlusion',
      classes: { labels, probabilities, predicted, explained: c },
      words: words.map((w, i) => {
        const r = rowOf[i]!;
        const tokens = m.tokenizer.textToWords(w);
        if (r < 0) return { text: w, tokens, contribution: 0, probabilityWithout: p, seen: false };
        const without = probs[r * k + c]!;
        return { text: w, tokens, contribution: logProbability(p) - logProbability(without), probabilityWithout: without, seen: true };
      }),
      separators,
      trailing,
    };
  };
  return { ids: padSequences(rows, pre), rows: rows.length, finish };
}

/**
 * An explanation as `rnn predict --explain --json` and `rnn serve` give it: the prediction and every word with
 * its contribution; for k ≥ 3 classes also `probabilities` (keyed by label, in class order) and `explained`
 * (the label whose log-probability the contributions measure).
 */
export function explanationJson(e: Explanation): ExplanationJson {
  const cs = e.classes;
  return {
    label: e.label,
    probability: e.probability,
    ...(cs && {
      probabilities: Object.fromEntries(cs.labels.map((l, c) => [l, cs.probabilities[c]!])),
      explained: cs.labels[cs.explained]!,
    }),
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
  /** k ≥ 3 classes only. */
  probabilities?: Record<string, number>;
  /** k ≥ 3 classes only. */
  explained?: string;
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
