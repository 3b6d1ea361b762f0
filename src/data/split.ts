/**
 * A held-out test split for single-file datasets (a CSV is one split): `rnn train` holds out a seeded share
 * of the rows (or the rows a split column marks `test`) before its validation split, records which, and
 * `rnn eval` on the same file scores exactly those rows. Pure.
 */
import { createHash } from 'node:crypto';
import { mulberry32, shuffleInPlace } from '../util/random.js';
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

/** The rows of a single-file dataset split into train and test, in file order, with the record of how. */
export function holdOutTest(reviews: readonly Review[], spec: HoldOutSpec): { train: Review[]; test: Review[]; heldOut: HeldOut } {
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
    const n = Math.min(reviews.length - 1, Math.max(1, Math.round(reviews.length * spec.testSplit)));
    const isTest = new Uint8Array(reviews.length);
    for (let i = 0; i < n; i++) isTest[order[i]!] = 1;
    test = reviews.filter((_, i) => isTest[i]);
    train = reviews.filter((_, i) => !isTest[i]);
    heldOut = { method: 'share', share: spec.testSplit, seed: spec.seed };
  } else {
    train = [...reviews];
    test = [];
    heldOut = { method: 'none' };
  }
  return { train, test, heldOut: { ...heldOut, trainRows: train.length, testRows: test.length, testRowsSha256: rowsSha256(test) } };
}
