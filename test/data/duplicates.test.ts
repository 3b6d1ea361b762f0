/** Exact duplicates within a split and between splits (rnn data, --dedupe, --exclude-overlap): small cases, then the real archive. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dropRepeats, duplicateReport, overlapMask } from '../../src/data/duplicates.js';
import type { Review } from '../../src/data/index.js';

const r = (text: string, label: 0 | 1 = 1, id = text): Review => ({ text, label, id });

const REPORTS: Array<{ name: string; train: Review[]; test: Review[]; want: ReturnType<typeof duplicateReport> }> = [
  {
    name: 'no duplicates',
    train: [r('a'), r('b')],
    test: [r('c')],
    want: { train: { repeats: 0, texts: 0, conflictingLabels: 0 }, test: { repeats: 0, texts: 0, conflictingLabels: 0 }, testInTrain: 0 },
  },
  {
    name: 'a text three times, another twice with both labels',
    train: [r('a'), r('b', 1), r('a'), r('b', 0), r('a')],
    test: [r('a'), r('z')],
    want: { train: { repeats: 3, texts: 2, conflictingLabels: 1 }, test: { repeats: 0, texts: 0, conflictingLabels: 0 }, testInTrain: 1 },
  },
  { name: 'one split only (a CSV)', train: [r('x'), r('x')], test: [], want: { train: { repeats: 1, texts: 1, conflictingLabels: 0 } } },
  {
    name: 'case and spacing differ: not duplicates',
    train: [r('Good film'), r('good film'), r('Good  film')],
    test: [],
    want: { train: { repeats: 0, texts: 0, conflictingLabels: 0 } },
  },
];
for (const c of REPORTS) {
  test(`duplicateReport: ${c.name}`, () => assert.deepEqual(duplicateReport({ train: c.train, test: c.test }), c.want));
}

test('dropRepeats keeps the first review of each text, in order', () => {
  const kept = dropRepeats([r('a', 1, '1'), r('b', 0, '2'), r('a', 0, '3'), r('c', 1, '4'), r('b', 1, '5')]);
  assert.deepEqual(
    kept.map((x) => x.id),
    ['1', '2', '4'],
  );
});

test('overlapMask flags the test reviews whose text is in train', () => {
  assert.deepEqual(overlapMask([r('a'), r('q'), r('b'), r('a')], [r('b'), r('a')]), [true, false, true, true]);
});
