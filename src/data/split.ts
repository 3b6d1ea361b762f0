/**
 * The splits of a dataset's reviews: the held-out test split of a single-file dataset (a CSV is one split:
 * `rnn train` holds out a seeded share of the rows, or the rows a split column marks `test`, before its
 * validation split, records which, and `rnn eval` on the same file scores exactly those rows), and the
 * validation split training takes from the end of its shuffled reviews, like Keras's `validation_split`.
 *
 * With three or more labels both are stratified: each label keeps its share of the reviews on both sides,
 * and a label with too few reviews for that is an error. Two labels are the k = 2 case that keeps the
 * unstratified splits, review for review. Pure.
 */
import { createHash } from 'node:crypto';
import { UserError } from '../errors.js';
import { mulberry32, shuffleInPlace } from '../util/random.js';
import { BINARY_LABELS, labelCounts, type LabelSet } from './labels.js';
import type { HeldOut, Review } from './types.js';

/** The share of a single-file dataset's rows held out for testing when `--test-split` is not given. */
export const TEST_SPLIT_DEFAULT = 0.2;

/** How the rows are split. */
export interface HoldOutSpec {
  /** Share of the rows held out (0: none); ignored with `splitColumn`. */
  testSplit: number;
  /** Split by this CSV column's train/test values instead. */
  splitColumn?: string;
  /** The training run's seed (the held-out rows are drawn from a generator of their own, seeded by it). */
  seed: number;
  /** The reviews' labels (default {@link BINARY_LABELS}): three or more stratify the share. */
  labels?: LabelSet;
  /** The data's name in messages (e.g. the file). */
  where?: string;
}

/** With three or more labels, each label needs this many training reviews (one to train on, one to validate). */
export const MIN_TRAIN_REVIEWS_PER_LABEL = 2;

/** True when the splits are stratified by label: three or more labels (two keep the unstratified splits). */
export function stratifies(labels: LabelSet): boolean {
  return labels.names.length >= 3;
}

/** The smallest number of reviews a label needs so that `held(n)` >= 1 are held out and at least `keep` stay. */
function leastReviews(held: (n: number) => number, keep: number): number {
  let n = keep + 1;
  while (n - held(n) < keep && n < 1e9) n++;
  return n;
}

function tooFew(labels: LabelSet, c: number, n: number, where: string, why: string, fix: string): UserError {
  return new UserError(
    'DATA_LABEL_TOO_FEW',
    `label "${labels.names[c]}" has ${n} review${n === 1 ? '' : 's'} in ${where}, too few ${why}`,
    `Add reviews with that label, leave the label out of the data (and of --labels), or ${fix}`,
  );
}

/**
 * With three or more labels: every label has at least {@link MIN_TRAIN_REVIEWS_PER_LABEL} reviews in
 * `reviews` (the training reviews), or a DATA_LABEL_TOO_FEW error naming the first that has not.
 */
export function checkLabelCounts(reviews: readonly Pick<Review, 'label'>[], labels: LabelSet, where: string): void {
  if (!stratifies(labels)) return;
  labelCounts(reviews, labels.names.length).forEach((n, c) => {
    if (n < MIN_TRAIN_REVIEWS_PER_LABEL)
      throw tooFew(labels, c, n, where, `to train on (each label needs at least ${MIN_TRAIN_REVIEWS_PER_LABEL})`, 'use other data');
  });
}

/**
 * How many reviews of each label to hold out: `held(n_c)` of a label with n_c reviews, with at least
 * `keep` left; a DATA_LABEL_TOO_FEW error otherwise.
 */
function quotas(
  counts: number[],
  labels: LabelSet,
  held: (n: number) => number,
  keep: number,
  where: string,
  why: string,
  fix: string,
): number[] {
  return counts.map((n, c) => {
    const q = held(n);
    if (n - q < keep) throw tooFew(labels, c, n, where, `${why} (it needs at least ${leastReviews(held, keep)})`, fix);
    return q;
  });
}

/** The indices of `order` to hold out: the first `quota[label]` reviews of each label in that order. */
function firstOfEachLabel(reviews: readonly Pick<Review, 'label'>[], order: ArrayLike<number>, quota: number[]): Uint8Array {
  const left = [...quota];
  const picked = new Uint8Array(reviews.length);
  for (let j = 0; j < order.length; j++) {
    const i = order[j]!;
    const c = reviews[i]!.label;
    if (left[c]! > 0) {
      picked[i] = 1;
      left[c]!--;
    }
  }
  return picked;
}

/** The generator of the held-out rows is the run's seed mixed with this, so it is not the training shuffle's. */
const HOLD_OUT_STREAM = 0x7e57_5ee0;

/** The row number of a CSV review (`file:line`), or its whole id. */
function rowOf(r: Review): string {
  return r.id.slice(r.id.lastIndexOf(':') + 1);
}

export function rowsSha256(reviews: readonly Review[]): string {
  return createHash('sha256')
    .update(reviews.map((r) => rowOf(r) + '\n').join(''))
    .digest('hex');
}

/**
 * The rows of a single-file dataset split into train and test, in file order, with the record of how. A share
 * draws a seeded shuffle of the rows and holds out its first `round(share · n)` (at least one row each side);
 * with three or more labels it holds out the first `max(1, round(share · n_c))` rows of each label in that
 * same shuffle instead, and each label must keep {@link MIN_TRAIN_REVIEWS_PER_LABEL} training rows.
 */
export function holdOutTest(reviews: readonly Review[], spec: HoldOutSpec): { train: Review[]; test: Review[]; heldOut: HeldOut } {
  const labels = spec.labels ?? BINARY_LABELS;
  const where = spec.where ?? 'the data';
  let test: Review[];
  let train: Review[];
  let heldOut: Omit<HeldOut, 'trainRows' | 'testRows' | 'testRowsSha256'>;
  if (spec.splitColumn !== undefined) {
    train = reviews.filter((r) => r.split === 'train');
    test = reviews.filter((r) => r.split === 'test');
    heldOut = { method: 'column', column: spec.splitColumn };
  } else if (spec.testSplit > 0) {
    const order = Int32Array.from(reviews.keys());
    shuffleInPlace(order, mulberry32((spec.seed ^ HOLD_OUT_STREAM) >>> 0));
    let isTest: Uint8Array = new Uint8Array(reviews.length);
    if (stratifies(labels)) {
      const share = spec.testSplit;
      const quota = quotas(
        labelCounts(reviews, labels.names.length),
        labels,
        (n) => Math.max(1, Math.round(n * share)),
        MIN_TRAIN_REVIEWS_PER_LABEL,
        where,
        `to hold out ${+(share * 100).toFixed(2)}% for testing and keep ${MIN_TRAIN_REVIEWS_PER_LABEL} for training`,
        'pass a smaller --test-split',
      );
      isTest = firstOfEachLabel(reviews, order, quota);
    } else {
      const n = Math.min(reviews.length - 1, Math.max(1, Math.round(reviews.length * spec.testSplit)));
      for (let i = 0; i < n; i++) isTest[order[i]!] = 1;
    }
    test = reviews.filter((_, i) => isTest[i]);
    train = reviews.filter((_, i) => !isTest[i]);
    heldOut = { method: 'share', share: spec.testSplit, seed: spec.seed };
  } else {
    train = [...reviews];
    test = [];
    heldOut = { method: 'none' };
  }
  checkLabelCounts(train, labels, heldOut.method === 'none' ? where : `the training rows of ${where}`);
  return { train, test, heldOut: { ...heldOut, trainRows: train.length, testRows: test.length, testRowsSha256: rowsSha256(test) } };
}

/**
 * The validation split of training's shuffled reviews, like Keras's `validation_split`: the last
 * `n − floor(n · (1 − share))` reviews validate, the others train, both in the order given. With three or
 * more labels it is stratified: the last `max(1, n_c − floor(n_c · (1 − share)))` reviews of each label
 * validate (at least one of each label left to train on), so every label keeps its share on both sides
 * and the same order gives the same split. Two labels keep the unstratified split exactly.
 */
export function splitValidation<T extends Pick<Review, 'label'>>(
  reviews: readonly T[],
  share: number,
  labels: LabelSet = BINARY_LABELS,
  where = 'the training reviews',
): { train: T[]; validation: T[] } {
  if (!stratifies(labels)) {
    const splitAt = Math.floor(reviews.length * (1 - share));
    return { train: reviews.slice(0, splitAt), validation: reviews.slice(splitAt) };
  }
  checkLabelCounts(reviews, labels, where);
  const held = (n: number): number => (share > 0 ? Math.max(1, n - Math.floor(n * (1 - share))) : 0);
  const quota = quotas(
    labelCounts(reviews, labels.names.length),
    labels,
    held,
    1,
    where,
    `for a validation split of ${+(share * 100).toFixed(2)}% that leaves one to train on`,
    'pass a smaller --validation-split',
  );
  // From the end, like Keras: the last quota[c] reviews of each label.
  const fromEnd = Int32Array.from({ length: reviews.length }, (_, j) => reviews.length - 1 - j);
  const isVal = firstOfEachLabel(reviews, fromEnd, quota);
  return { train: reviews.filter((_, i) => !isVal[i]), validation: reviews.filter((_, i) => isVal[i]) };
}
