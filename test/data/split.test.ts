/**
 * The splits (src/data/split.ts): the held-out test split of a single-file dataset (seeded, disjoint, in file
 * order, recorded) and training's validation split; stratified by label with three or more labels, on real
 * reviews (IMDB's ratings, and the 3-class CSV of test/three-class.ts), unchanged with two.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLabelCounts, holdOutTest, rowsSha256, splitValidation } from '../../src/data/split.js';
import { BINARY_LABELS, IMDB_RATING_LABELS, labelCounts, type LabelSet, type Review } from '../../src/data/index.js';
import { labelImdb } from '../../src/data/imdb.js';
import { readCsv } from '../../src/data/csv.js';
import { UserError } from '../../src/errors.js';
import { mulberry32, shuffleInPlace } from '../../src/util/random.js';
import { imdb, tempDir } from '../helpers.js';
import { writeThreeClassCsv } from '../three-class.js';

const rows = (n: number, split?: (i: number) => 'train' | 'test'): Review[] =>
  Array.from({ length: n }, (_, i) => ({
    text: `review ${i}`,
    label: (i % 2) as 0 | 1,
    id: `/data/x.csv:${i + 2}`,
    ...(split ? { split: split(i) } : {}),
  }));

const SIZES: Array<{ n: number; share: number; test: number }> = [
  { n: 3000, share: 0.2, test: 600 },
  { n: 10, share: 0.25, test: 3 }, // 2.5 rounds to 3
  { n: 2, share: 0.2, test: 1 }, // at least one row each side
  { n: 5, share: 0.9, test: 4 },
];
for (const c of SIZES) {
  test(`a share of ${c.share} of ${c.n} rows holds out ${c.test}, disjoint, in file order`, () => {
    const all = rows(c.n);
    const h = holdOutTest(all, { testSplit: c.share, seed: 7 });
    assert.equal(h.test.length, c.test);
    assert.equal(h.train.length + h.test.length, c.n);
    const ids = new Set(h.test.map((r) => r.id));
    assert.ok(h.train.every((r) => !ids.has(r.id)));
    for (const part of [h.train, h.test])
      assert.deepEqual(
        part,
        [...part].sort((a, b) => all.indexOf(a) - all.indexOf(b)),
      );
    assert.deepEqual(h.heldOut, {
      method: 'share',
      share: c.share,
      seed: 7,
      trainRows: c.n - c.test,
      testRows: c.test,
      testRowsSha256: rowsSha256(h.test),
    });
  });
}

test('the same seed draws the same rows; another seed other rows', () => {
  const all = rows(1000);
  const a = holdOutTest(all, { testSplit: 0.2, seed: 42 });
  assert.deepEqual(holdOutTest(all, { testSplit: 0.2, seed: 42 }).test, a.test);
  const b = holdOutTest(all, { testSplit: 0.2, seed: 43 });
  assert.notEqual(b.heldOut.testRowsSha256, a.heldOut.testRowsSha256);
  // Golden: the first held-out rows of seed 42, so that a change of the drawing is seen (a model's record would no longer match).
  assert.deepEqual(
    a.test.slice(0, 5).map((r) => r.id.split(':')[1]),
    GOLDEN_SEED_42,
  );
});
// Computed once by holdOutTest itself (rnn 0.1, 2026-11-29); models record testRowsSha256, which eval checks.
const GOLDEN_SEED_42 = ['6', '7', '12', '18', '24'];

test('the row hash names rows by line number, not by the path of the file', () => {
  const here = rows(5);
  const there = here.map((r) => ({ ...r, id: r.id.replace('/data/x.csv', '/elsewhere/y.csv') }));
  assert.equal(rowsSha256(here), rowsSha256(there));
});

test('a split column: the rows it marks, the others trained', () => {
  const all = rows(10, (i) => (i % 5 === 0 ? 'test' : 'train'));
  const h = holdOutTest(all, { testSplit: 0.2, splitColumn: 'split', seed: 1 });
  assert.deepEqual(
    h.test.map((r) => r.text),
    ['review 0', 'review 5'],
  );
  assert.equal(h.train.length, 8);
  assert.equal(h.heldOut.method, 'column');
  assert.equal(h.heldOut.column, 'split');
});

test('a share of 0 holds out nothing', () => {
  const h = holdOutTest(rows(10), { testSplit: 0, seed: 1 });
  assert.equal(h.train.length, 10);
  assert.deepEqual(h.test, []);
  assert.equal(h.heldOut.method, 'none');
});

/** IMDB's training reviews labeled by rating (eight classes), as `--target rating` reads them. */
async function ratedTrain(): Promise<Review[]> {
  return labelImdb(await imdb(), 'rating', 'aclImdb').train;
}

/** The training reviews in the order training splits them: shuffled by the run's generator (src/train). */
function shuffled<T>(reviews: readonly T[], seed: number): T[] {
  const all = [...reviews];
  shuffleInPlace(all, mulberry32(seed));
  return all;
}

test('two labels keep the unstratified splits exactly, whatever their names (the k = 2 case)', async () => {
  const train = (await imdb()).train;
  const order = shuffled(train, 42);
  const splitAt = Math.floor(order.length * 0.9);
  for (const labels of [undefined, BINARY_LABELS, { names: ['bad', 'good'], numeric: false }]) {
    const v = splitValidation(order, 0.1, labels);
    assert.equal(v.train.length, splitAt);
    assert.ok(v.train.every((r, i) => r === order[i]));
    assert.ok(v.validation.every((r, i) => r === order[splitAt + i]));
    const rows = train.slice(0, 3000).map((r, i) => ({ ...r, id: `x.csv:${i + 2}` }));
    assert.deepEqual(holdOutTest(rows, { testSplit: 0.2, seed: 42, labels }), holdOutTest(rows, { testSplit: 0.2, seed: 42 }));
  }
});

test("the validation split of IMDB's ratings is stratified: each rating's last reviews of the shuffle, its share kept", async () => {
  const order = shuffled(await ratedTrain(), 42);
  const v = splitValidation(order, 0.1, IMDB_RATING_LABELS);
  const all = labelCounts(order, 8);
  assert.deepEqual(all, [5100, 2284, 2420, 2696, 2496, 3009, 2263, 4732]);
  const val = labelCounts(v.validation, 8);
  assert.deepEqual(
    val,
    all.map((n) => n - Math.floor(n * 0.9)),
  );
  assert.deepEqual(val, [510, 229, 242, 270, 250, 301, 227, 474]);
  all.forEach((n, c) => assert.ok(Math.abs(val[c]! / n - 0.1) < 1 / n, `rating ${IMDB_RATING_LABELS.names[c]} keeps its share`));
  // A partition, each side in the shuffled order, the validation reviews the last of their rating.
  assert.equal(v.train.length + v.validation.length, order.length);
  const isVal = new Set(v.validation);
  assert.deepEqual(
    v.train,
    order.filter((r) => !isVal.has(r)),
  );
  assert.deepEqual(
    v.validation,
    order.filter((r) => isVal.has(r)),
  );
  for (let c = 0; c < 8; c++) {
    const ofLabel = order.filter((r) => r.label === c);
    assert.deepEqual(
      ofLabel.slice(ofLabel.length - val[c]!),
      v.validation.filter((r) => r.label === c),
    );
  }
  // Same order, same split; another seed's shuffle, other reviews.
  assert.deepEqual(splitValidation(order, 0.1, IMDB_RATING_LABELS), v);
  const other = splitValidation(shuffled(await ratedTrain(), 43), 0.1, IMDB_RATING_LABELS);
  assert.deepEqual(labelCounts(other.validation, 8), val);
  assert.notDeepEqual(
    other.validation.map((r) => r.id),
    v.validation.map((r) => r.id),
  );
  // No validation split: everything trains.
  assert.deepEqual(splitValidation(order, 0, IMDB_RATING_LABELS), { train: order, validation: [] });
});

test('the 3-class CSV holds out a stratified, seeded test share: 20% of each label, in file order', async () => {
  const { file, rows } = await writeThreeClassCsv(await tempDir(), { every: 8 });
  const csv = await readCsv(file);
  assert.deepEqual(csv.labels, { names: ['negative', 'neutral', 'positive'], numeric: false });
  const counts = labelCounts(csv.reviews, 3);
  assert.deepEqual(counts, [1195, 652, 1278]);
  assert.deepEqual(
    counts,
    ['negative', 'neutral', 'positive'].map((l) => rows.filter((r) => r.label === l).length),
  );
  const h = holdOutTest(csv.reviews, { testSplit: 0.2, seed: 42, labels: csv.labels });
  const test = labelCounts(h.test, 3);
  assert.deepEqual(
    test,
    counts.map((n) => Math.round(n * 0.2)),
  );
  assert.deepEqual(test, [239, 130, 256]);
  assert.deepEqual(h.heldOut, {
    method: 'share',
    share: 0.2,
    seed: 42,
    trainRows: 3125 - 625,
    testRows: 625,
    testRowsSha256: rowsSha256(h.test),
  });
  for (const part of [h.train, h.test])
    assert.deepEqual(
      part,
      [...part].sort((a, b) => csv.reviews.indexOf(a) - csv.reviews.indexOf(b)),
    );
  assert.deepEqual(holdOutTest(csv.reviews, { testSplit: 0.2, seed: 42, labels: csv.labels }), h);
  const again = holdOutTest(csv.reviews, { testSplit: 0.2, seed: 43, labels: csv.labels });
  assert.deepEqual(labelCounts(again.test, 3), test);
  assert.notEqual(again.heldOut.testRowsSha256, h.heldOut.testRowsSha256);
  // Unstratified (as two labels would be), the same seed holds out other shares of each label.
  assert.notDeepEqual(labelCounts(holdOutTest(csv.reviews, { testSplit: 0.2, seed: 42 }).test, 3), test);
});

/** `n` rows of each label, as a CSV's would be. */
function rowsOf(perLabel: number[]): Review[] {
  return perLabel.flatMap((n, label) =>
    Array.from({ length: n }, (_, i) => ({ text: `r${label}.${i}`, label, id: `/d/x.csv:${label * 100 + i + 2}` })),
  );
}

const THREE: LabelSet = { names: ['negative', 'neutral', 'positive'], numeric: false };

function rejectsTooFew(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UserError, String(e));
    assert.equal(e.code, 'DATA_LABEL_TOO_FEW');
    assert.equal(e.message, message);
    assert.match(e.fix, /^Add reviews with that label, leave the label out of the data \(and of --labels\), or /);
    return true;
  });
}

test('a label with too few reviews for the splits is a clear error, never an empty class', () => {
  rejectsTooFew(
    () => holdOutTest(rowsOf([10, 2, 10]), { testSplit: 0.2, seed: 1, labels: THREE, where: 'x.csv' }),
    'label "neutral" has 2 reviews in x.csv, too few to hold out 20% for testing and keep 2 for training (it needs at least 3)',
  );
  rejectsTooFew(
    () => holdOutTest(rowsOf([40, 6, 40]), { testSplit: 0.8, seed: 1, labels: THREE, where: 'x.csv' }),
    'label "neutral" has 6 reviews in x.csv, too few to hold out 80% for testing and keep 2 for training (it needs at least 8)',
  );
  // --labels naming a label the data does not have.
  rejectsTooFew(
    () => holdOutTest(rowsOf([10, 0, 10]), { testSplit: 0.2, seed: 1, labels: THREE, where: 'x.csv' }),
    'label "neutral" has 0 reviews in x.csv, too few to hold out 20% for testing and keep 2 for training (it needs at least 3)',
  );
  rejectsTooFew(
    () => holdOutTest(rowsOf([10, 1, 10]), { testSplit: 0, seed: 1, labels: THREE, where: 'x.csv' }),
    'label "neutral" has 1 review in x.csv, too few to train on (each label needs at least 2)',
  );
  // A split column: the rows marked train must have every label.
  const marked = rowsOf([4, 3, 4]).map((r, i) => ({ ...r, split: (r.label === 1 && i % 2 === 0 ? 'test' : 'train') as 'train' | 'test' }));
  rejectsTooFew(
    () => holdOutTest(marked, { testSplit: 0.2, splitColumn: 'split', seed: 1, labels: THREE, where: 'x.csv' }),
    'label "neutral" has 1 review in the training rows of x.csv, too few to train on (each label needs at least 2)',
  );
  rejectsTooFew(
    () => splitValidation(rowsOf([10, 1, 10]), 0.1, THREE),
    'label "neutral" has 1 review in the training reviews, too few to train on (each label needs at least 2)',
  );
  rejectsTooFew(
    () => splitValidation(rowsOf([10, 3, 10]), 0.7, THREE, 'the 23 training reviews'),
    'label "neutral" has 3 reviews in the 23 training reviews, too few for a validation split of 70% that leaves one to train on (it needs at least 4)',
  );
  // Just enough: 3 rows hold out one and train two; two training reviews validate one and train one.
  const h = holdOutTest(rowsOf([3, 3, 3]), { testSplit: 0.2, seed: 1, labels: THREE });
  assert.deepEqual(labelCounts(h.test, 3), [1, 1, 1]);
  const v = splitValidation(h.train, 0.1, THREE);
  assert.deepEqual(labelCounts(v.validation, 3), [1, 1, 1]);
  assert.deepEqual(labelCounts(v.train, 3), [1, 1, 1]);
  assert.doesNotThrow(() => checkLabelCounts(rowsOf([2, 2, 2]), THREE, 'x'));
  // Two labels: the split is today's, whatever the counts.
  assert.doesNotThrow(() => splitValidation(rowsOf([10, 1]), 0.1));
});
