import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accuracyByLength, computeMetrics, lengthBounds, rocAuc } from '../../src/eval/metrics.js';

// ROC-AUC cases. Expected values count (positive, negative) pairs ranked correctly, ties counting half, which is
// what sklearn.metrics.roc_auc_score computes; the first case is the example in its documentation (0.75).
const aucCases: Array<{ labels: number[]; scores: number[]; auc: number }> = [
  { labels: [0, 0, 1, 1], scores: [0.1, 0.4, 0.35, 0.8], auc: 0.75 },
  { labels: [0, 1], scores: [0.2, 0.9], auc: 1 },
  { labels: [1, 0], scores: [0.2, 0.9], auc: 0 },
  { labels: [0, 1, 0, 1], scores: [0.5, 0.5, 0.5, 0.5], auc: 0.5 },
  { labels: [0, 0, 1, 1, 1], scores: [0.3, 0.6, 0.6, 0.7, 0.2], auc: 3.5 / 6 },
];
for (const c of aucCases) {
  test(`roc_auc(${JSON.stringify(c.labels)}, ${JSON.stringify(c.scores)}) = ${c.auc}`, () => {
    assert.ok(Math.abs(rocAuc(c.scores, c.labels) - c.auc) < 1e-12);
  });
}

test('ROC-AUC is NaN with one class', () => assert.ok(Number.isNaN(rocAuc([0.1, 0.9], [1, 1]))));

test('accuracy, precision, recall, F1, confusion matrix and Keras BCE', () => {
  const labels = [1, 1, 1, 0, 0, 0, 0, 1];
  const probs = [0.9, 0.6, 0.2, 0.1, 0.7, 0.3, 0.4, 0.8];
  const m = computeMetrics(probs, labels);
  assert.deepEqual(m.confusion, { tp: 3, fp: 1, tn: 3, fn: 1 });
  assert.equal(m.accuracy, 6 / 8);
  assert.equal(m.precision, 3 / 4);
  assert.equal(m.recall, 3 / 4);
  assert.equal(m.f1, 0.75);
  // keras.losses.binary_crossentropy(labels, probs) averaged: mean(-y log p - (1-y) log(1-p)).
  const bce =
    -(Math.log(0.9) + Math.log(0.6) + Math.log(0.2) + Math.log(0.9) + Math.log(0.3) + Math.log(0.7) + Math.log(0.6) + Math.log(0.8)) / 8;
  assert.ok(Math.abs(m.loss - bce) < 1e-6);
  assert.equal(m.count, 8);
});

test('a probability of exactly 0.5 counts as negative, like Keras binary_accuracy', () => {
  assert.deepEqual(computeMetrics([0.5], [1]).confusion, { tp: 0, fp: 0, tn: 0, fn: 1 });
});

test('lengthBounds(256): half maxlen, maxlen, twice maxlen, longer', () => {
  assert.deepEqual(lengthBounds(256), [
    [0, 128],
    [129, 256],
    [257, 512],
    [513, null],
  ]);
  assert.deepEqual(lengthBounds(5), [
    [0, 2],
    [3, 5],
    [6, 10],
    [11, null],
  ]);
});

test('accuracyByLength: each review counted in the bucket of its word count; empty buckets are NaN', () => {
  // words:   1    2    3    6    7    20
  // correct: yes  no   yes  yes  no   yes
  const probs = [0.9, 0.9, 0.2, 0.7, 0.4, 0.6];
  const labels = [1, 0, 0, 1, 1, 1];
  const words = [1, 2, 3, 6, 7, 20];
  const got = accuracyByLength(probs, labels, words, [
    [0, 2],
    [3, 5],
    [6, 10],
    [11, 15],
    [16, null],
  ]);
  assert.deepEqual(
    got.map((b) => [b.min, b.max, b.count]),
    [
      [0, 2, 2],
      [3, 5, 1],
      [6, 10, 2],
      [11, 15, 0],
      [16, null, 1],
    ],
  );
  assert.deepEqual(
    got.map((b) => b.accuracy),
    [0.5, 1, 0.5, Number.NaN, 1],
  );
});
