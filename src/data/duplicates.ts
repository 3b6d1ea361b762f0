/**
 * Exact duplicates: reviews whose text (after `<br />` cleaning) repeats an earlier review's in the same
 * split, and test reviews whose text is also in the training split. On the official aclImdb: 96 repeats in
 * train, 199 in test, and 123 test reviews that appear verbatim in train. Pure.
 */
import type { LoadedData, Review } from './types.js';

/** Repeats within one split. */
export interface SplitDuplicates {
  /** Reviews whose text an earlier review of the split already has (what `--dedupe` drops). */
  repeats: number;
  /** Distinct texts that occur more than once. */
  texts: number;
  /** Of those texts, how many occur with more than one label (both labels, with two). */
  conflictingLabels: number;
}

/** `rnn data`'s duplicate report. */
export interface DuplicateReport {
  train?: SplitDuplicates;
  test?: SplitDuplicates;
  /** Test reviews whose text is also in train (undefined unless both splits are there). */
  testInTrain?: number;
}

function splitDuplicates(reviews: readonly Review[]): SplitDuplicates {
  const seen = new Map<string, { n: number; label: number; conflicting: boolean }>();
  for (const r of reviews) {
    const s = seen.get(r.text);
    if (s) {
      s.n++;
      if (r.label !== s.label) s.conflicting = true;
    } else seen.set(r.text, { n: 1, label: r.label, conflicting: false });
  }
  let texts = 0;
  let conflictingLabels = 0;
  for (const s of seen.values()) {
    if (s.n > 1) texts++;
    if (s.conflicting) conflictingLabels++;
  }
  return { repeats: reviews.length - seen.size, texts, conflictingLabels };
}

export function duplicateReport(data: Pick<LoadedData, 'train' | 'test'>): DuplicateReport {
  const r: DuplicateReport = {};
  if (data.train.length) r.train = splitDuplicates(data.train);
  if (data.test.length) r.test = splitDuplicates(data.test);
  if (data.train.length && data.test.length) r.testInTrain = overlapMask(data.test, data.train).filter(Boolean).length;
  return r;
}

/** The reviews without those that repeat an earlier review's text (the first of each text is kept, in order). */
export function dropRepeats<T extends Pick<Review, 'text'>>(reviews: readonly T[]): T[] {
  const seen = new Set<string>();
  return reviews.filter((r) => !seen.has(r.text) && seen.add(r.text));
}

/** For each review of `test`, whether its text is also in `train`. */
export function overlapMask(test: readonly Pick<Review, 'text'>[], train: readonly Pick<Review, 'text'>[]): boolean[] {
  const texts = new Set(train.map((r) => r.text));
  return test.map((r) => texts.has(r.text));
}
