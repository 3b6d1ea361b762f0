/**
 * Properties of the data cores on generated data (fast-check, fixed seed: test/properties.ts): the CSV reader
 * reads back every row csv-stringify (the csv project's writer, independent of rnn) wrote, whatever the text;
 * the held-out and validation splits never put a review in two splits, give the same split for the same seed,
 * keep file order, and stratify k labels; the duplicate logic keeps the first of each text.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { stringify } from 'csv-stringify/sync';
import { readCsv } from '../../src/data/csv.js';
import { holdOutTest, MIN_TRAIN_REVIEWS_PER_LABEL, splitValidation, stratifies } from '../../src/data/split.js';
import { dropRepeats, duplicateReport, overlapMask } from '../../src/data/duplicates.js';
import { BINARY_LABELS, binaryLabelOf, cleanReview, labelCounts, type LabelSet, type Review } from '../../src/data/index.js';
import { isUserError } from '../../src/errors.js';
import { tempDir } from '../helpers.js';
import { propertyOptions, reviewText } from '../properties.js';

let dir = '';
before(async () => (dir = await tempDir('rnn-data-properties-')));
after(() => fsp.rm(dir, { recursive: true, force: true }));

/** Label columns: binary sentiment in any of its spellings, or 3-5 made-up labels (k classes). */
const labelColumn = fc.oneof(
  fc.constant(['positive', 'negative', 'POS', 'neg', '1', '0']),
  fc.integer({ min: 3, max: 5 }).map((k) => ['bad', 'meh', 'good', 'great', 'über'].slice(0, k)),
);

/** Texts a CSV cell can hold: review-like text plus quotes, commas, line breaks of every kind and a leading BOM. */
const cellText = fc.oneof(
  reviewText(),
  fc.constantFrom('', '"', '""', ',', '\n', '\r', '\r\n', '"quoted, with a comma"', '\uFEFFbom', 'a\r\nb\nc\rd', ' padded '),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
);

let file = 0;
test('the CSV reader reads back every row csv-stringify wrote: the same text (HTML breaks as spaces) and label', async () => {
  await fc.assert(
    fc.asyncProperty(
      labelColumn.chain((names) =>
        fc.tuple(fc.constant(names), fc.array(fc.tuple(cellText, fc.constantFrom(...names)), { minLength: 1, maxLength: 25 })),
      ),
      fc.boolean(),
      async ([, rows], textFirst) => {
        const header = textFirst ? ['review', 'sentiment'] : ['sentiment', 'review'];
        const records = rows.map(([text, label]) => (textFirst ? [text, label] : [label, text]));
        const f = path.join(dir, `rows-${file++}.csv`);
        await fsp.writeFile(f, stringify([header, ...records]));
        const got = await readCsv(f);
        assert.equal(got.reviews.length, rows.length);
        got.reviews.forEach((r, i) => {
          const [text, label] = rows[i]!;
          assert.equal(r.text, cleanReview(text), `row ${i + 2}`);
          const binary = got.labels === BINARY_LABELS;
          assert.equal(binary ? r.label : got.labels.names[r.label], binary ? binaryLabelOf(label) : label.trim());
        });
        await fsp.rm(f);
      },
    ),
    propertyOptions({ numRuns: 100 }),
  );
});

/** Reviews with k labels (each label at least `min` times when asked), some texts repeated, ids as a CSV's rows. */
function reviews(minPerLabel = 0): fc.Arbitrary<{ labels: LabelSet; reviews: Review[] }> {
  return fc.integer({ min: 2, max: 5 }).chain((k) => {
    const labels: LabelSet = k === 2 ? BINARY_LABELS : { names: Array.from({ length: k }, (_, i) => `c${i}`), numeric: false };
    const row = fc.tuple(fc.integer({ min: 0, max: k - 1 }), fc.constantFrom('a', 'b', 'c', 'd', 'same text', 'other text'));
    const base = Array.from({ length: k * minPerLabel }, (_, i) => [i % k, `base ${i}`] as [number, string]);
    return fc.array(row, { minLength: 2, maxLength: 80 }).map((rows) => ({
      labels,
      reviews: [...base, ...rows].map(([label, text], i) => ({ text, label, id: `/d/x.csv:${i + 2}` })),
    }));
  });
}

const ids = (rs: readonly Review[]): string[] => rs.map((r) => r.id);
const inOrder = (part: readonly Review[], all: readonly Review[]): boolean => {
  const pos = new Map(all.map((r, i) => [r.id, i]));
  return part.every((r, i) => i === 0 || pos.get(part[i - 1]!.id)! < pos.get(r.id)!);
};

test('the held-out test split: no review in both splits, all reviews in one, file order, the same split for the same seed', () => {
  fc.assert(
    fc.property(
      reviews(),
      fc.integer({ min: 0, max: 95 }).map((p) => p / 100),
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      (d, share, seed) => {
        let h: ReturnType<typeof holdOutTest>;
        try {
          h = holdOutTest(d.reviews, { testSplit: share, seed, labels: d.labels });
        } catch (e) {
          // Too few reviews of a label for a stratified split: a UserError with its code, never another error.
          assert.ok(isUserError(e) && e.code === 'DATA_LABEL_TOO_FEW', String(e));
          assert.ok(stratifies(d.labels));
          return;
        }
        const test = new Set(ids(h.test));
        assert.ok(
          h.train.every((r) => !test.has(r.id)),
          'a review in both splits',
        );
        assert.equal(h.train.length + h.test.length, d.reviews.length);
        assert.ok(inOrder(h.train, d.reviews) && inOrder(h.test, d.reviews));
        assert.equal(h.heldOut.testRows, h.test.length);
        const again = holdOutTest(d.reviews, { testSplit: share, seed, labels: d.labels });
        assert.deepEqual(ids(again.test), ids(h.test));
        if (share > 0 && !stratifies(d.labels)) {
          assert.equal(h.test.length, Math.min(d.reviews.length - 1, Math.max(1, Math.round(d.reviews.length * share))));
        }
        if (share > 0 && stratifies(d.labels)) {
          const k = d.labels.names.length;
          const all = labelCounts(d.reviews, k);
          const held = labelCounts(h.test, k);
          all.forEach((n, c) => {
            assert.equal(held[c], Math.max(1, Math.round(n * share)), `label ${c}`);
            assert.ok(n - held[c]! >= MIN_TRAIN_REVIEWS_PER_LABEL);
          });
        }
      },
    ),
    propertyOptions(),
  );
});

test('the validation split: a partition in order, the same for the same order; the last share (binary) or each label’s share (k labels)', () => {
  fc.assert(
    fc.property(
      reviews(2),
      fc.integer({ min: 0, max: 90 }).map((p) => p / 100),
      (d, share) => {
        let v: ReturnType<typeof splitValidation<Review>>;
        try {
          v = splitValidation(d.reviews, share, d.labels);
        } catch (e) {
          assert.ok(isUserError(e) && e.code === 'DATA_LABEL_TOO_FEW', String(e));
          return;
        }
        const val = new Set(ids(v.validation));
        assert.ok(v.train.every((r) => !val.has(r.id)));
        assert.equal(v.train.length + v.validation.length, d.reviews.length);
        assert.ok(inOrder(v.train, d.reviews) && inOrder(v.validation, d.reviews));
        assert.deepEqual(ids(splitValidation(d.reviews, share, d.labels).validation), ids(v.validation));
        if (!stratifies(d.labels)) {
          assert.deepEqual(ids(v.validation), ids(d.reviews.slice(Math.floor(d.reviews.length * (1 - share)))));
        } else {
          const k = d.labels.names.length;
          const all = labelCounts(d.reviews, k);
          const held = labelCounts(v.validation, k);
          all.forEach((n, c) => {
            assert.equal(held[c], share > 0 ? Math.max(1, n - Math.floor(n * (1 - share))) : 0, `label ${c}`);
            assert.ok(n - held[c]! >= 1);
          });
        }
      },
    ),
    propertyOptions(),
  );
});

test('duplicates: dropRepeats keeps the first review of each text in order; the report and the overlap mask agree with a set', () => {
  fc.assert(
    fc.property(reviews(), reviews(), (a, b) => {
      const kept = dropRepeats(a.reviews);
      assert.equal(new Set(kept.map((r) => r.text)).size, kept.length);
      assert.deepEqual(ids(kept), ids(a.reviews.filter((r, i) => a.reviews.findIndex((s) => s.text === r.text) === i)));
      const report = duplicateReport({ train: a.reviews, test: b.reviews });
      assert.equal(report.train?.repeats, a.reviews.length - kept.length);
      const trainTexts = new Set(a.reviews.map((r) => r.text));
      const mask = overlapMask(b.reviews, a.reviews);
      assert.deepEqual(
        mask,
        b.reviews.map((r) => trainTexts.has(r.text)),
      );
      assert.equal(report.testInTrain, mask.filter(Boolean).length);
    }),
    propertyOptions(),
  );
});
