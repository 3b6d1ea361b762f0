/**
 * The label set of a dataset, read from the data (Keras's `StringLookup`, spaCy's textcat labels): its names
 * in class-index order, whether they are numbers, how raw values (a CSV cell, an aclImdb file's polarity or
 * rating) map to class indices, counts per label and Keras's balanced class weights. Two labels are the
 * k = 2 case: the known sentiment pairs map to {@link BINARY_LABELS}, exactly as before labels were data. Pure.
 */
import { UserError } from '../errors.js';

/** The labels of a dataset, stored in metadata.json: a review's `label` is an index into `names`. */
export interface LabelSet {
  /** Label names in class-index order. */
  names: readonly string[];
  /** Every name is a number (stars, ratings): they sort by value, and eval reports errors in label units. */
  numeric: boolean;
}

/** Sentiment: index 0 negative, 1 positive (what the sigmoid's output means). */
export const BINARY_LABELS: LabelSet = Object.freeze({ names: Object.freeze(['negative', 'positive']), numeric: false });

/** What an aclImdb dataset's labels are: the review's polarity (its pos/neg folder) or its rating (`<id>_<rating>.txt`). */
export type ImdbTarget = 'polarity' | 'rating';
export const IMDB_TARGETS: readonly ImdbTarget[] = Object.freeze(['polarity', 'rating']);

/**
 * The ratings aclImdb's file names carry (`--target rating`): 1–4 for the negative reviews, 7–10 for the
 * positive ones (the dataset has no neutral 5 or 6), eight classes in numeric order.
 */
export const IMDB_RATING_LABELS: LabelSet = Object.freeze({
  names: Object.freeze(['1', '2', '3', '4', '7', '8', '9', '10']),
  numeric: true,
});

/** The sentiment values every label column has always accepted (any case), and their class in {@link BINARY_LABELS}. */
const BINARY_VALUES: Readonly<Record<string, 0 | 1>> = { positive: 1, pos: 1, '1': 1, negative: 0, neg: 0, '0': 0 };

/** A known sentiment value (positive/negative, pos/neg, 1/0, any case, trimmed) as 0/1, or undefined. */
export function binaryLabelOf(value: string): 0 | 1 | undefined {
  const v = value.trim().toLowerCase();
  return Object.hasOwn(BINARY_VALUES, v) ? BINARY_VALUES[v] : undefined;
}

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** True for a label that is a decimal number (`3`, `-1`, `4.5`, `1e1`). */
export function isNumericLabel(value: string): boolean {
  return NUMBER.test(value.trim()) && Number.isFinite(Number(value));
}

/** True when the set is {@link BINARY_LABELS} (negative, positive in that order). */
export function isBinaryLabels(labels: LabelSet): boolean {
  return labels.names.length === 2 && labels.names[0] === 'negative' && labels.names[1] === 'positive' && !labels.numeric;
}

/** Numeric names by value; other names by UTF-16 code units (JavaScript's default sort: `B` before `a`). */
function sortNames(names: string[], numeric: boolean): string[] {
  return numeric ? names.sort((a, b) => Number(a) - Number(b)) : names.sort();
}

/**
 * The label set of a dataset's distinct raw label values (trimmed, non-empty), or of `--labels`:
 * - `fixed` (`--labels a,b,c`): those names in that order; it fixes the set as well (a value outside it is
 *   an error the reader reports with its file and row, see {@link labelIndexer}).
 * - values that are all known sentiment values (positive/negative, pos/neg, 1/0, any case): {@link BINARY_LABELS},
 *   even when only one of the two occurs.
 * - values that are all numbers: named by their value (`01` and `1.0` are `1`), in numeric order.
 * - any other values: as written, in code-unit order (case-sensitive).
 */
export function labelSetOf(values: Iterable<string>, fixed?: readonly string[]): LabelSet {
  if (fixed) return fixedLabels(fixed);
  const distinct = [...new Set([...values].map((v) => v.trim()))];
  if (distinct.every((v) => binaryLabelOf(v) !== undefined)) return BINARY_LABELS;
  const numeric = distinct.every(isNumericLabel);
  const names = numeric ? [...new Set(distinct.map((v) => String(Number(v))))] : distinct;
  return { names: sortNames(names, numeric), numeric };
}

/** What is wrong with a `--labels` list (two or more distinct, non-empty names), or undefined. */
export function labelNamesProblem(names: readonly string[]): string | undefined {
  const trimmed = names.map((n) => n.trim());
  if (trimmed.length < 2 || trimmed.some((n) => n === '')) return 'it must name two or more labels, none empty';
  const numeric = trimmed.every(isNumericLabel);
  const seen = new Set<string>();
  for (const n of trimmed) {
    const key = numeric ? String(Number(n)) : n;
    if (seen.has(key)) return `it names the label "${n}" twice`;
    seen.add(key);
  }
  return undefined;
}

/** `--labels`: at least two distinct, non-empty names, kept in the order given. */
function fixedLabels(names: readonly string[]): LabelSet {
  const trimmed = names.map((n) => n.trim());
  const problem = labelNamesProblem(trimmed);
  if (problem) {
    throw new UserError(
      'OPTION_INVALID',
      `--labels ${trimmed.join(',')} is not a list of labels: ${problem}`,
      'Name each label once, comma-separated, e.g. --labels negative,neutral,positive',
    );
  }
  if (trimmed.length === 2 && trimmed[0] === 'negative' && trimmed[1] === 'positive') return BINARY_LABELS;
  return { names: trimmed, numeric: trimmed.every(isNumericLabel) };
}

/**
 * Maps a raw label value to its class index in `labels`, or undefined when it is not one of them:
 * {@link BINARY_LABELS} takes every known sentiment value (any case); numeric labels match by value
 * (`1.0` is `1`); other names match exactly (after trimming).
 */
export function labelIndexer(labels: LabelSet): (value: string) => number | undefined {
  if (isBinaryLabels(labels)) return binaryLabelOf;
  const index = new Map<string, number>();
  const key = (v: string): string => (labels.numeric && isNumericLabel(v) ? String(Number(v)) : v.trim());
  labels.names.forEach((n, i) => index.set(key(n), i));
  return (value) => index.get(key(value));
}

/** Reviews per label (index = class), e.g. `[12500, 12500]`. */
export function labelCounts(reviews: readonly { label: number }[], k: number): number[] {
  const counts = new Array<number>(k).fill(0);
  for (const r of reviews) counts[r.label]!++;
  return counts;
}

/**
 * Keras's `class_weight='balanced'` (scikit-learn's `compute_class_weight('balanced', …)`): each class's
 * weight is n_samples / (k · n_c), so every class contributes the same total weight to the loss. A class
 * without reviews has no weight (training refuses such a class before, see DATA_LABEL_TOO_FEW).
 */
export function balancedClassWeights(counts: readonly number[]): number[] {
  const n = counts.reduce((a, b) => a + b, 0);
  const k = counts.length;
  if (counts.some((c) => !(c > 0))) throw new RangeError(`every class needs reviews for balanced weights (counts ${counts.join(', ')})`);
  return counts.map((c) => n / (k * c));
}

/** The largest class's reviews over the smallest's; Infinity when a label has none. */
export function imbalanceRatio(counts: readonly number[]): number {
  const max = Math.max(...counts);
  const min = Math.min(...counts);
  return min > 0 ? max / min : Infinity;
}

/** `rnn data` warns above this {@link imbalanceRatio}: the largest class has more than 5× the reviews of the smallest. */
export const IMBALANCE_WARNING_RATIO = 5;
