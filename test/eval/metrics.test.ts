import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeMetrics, rocAuc } from '../../src/eval/metrics.js';

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
  const bce = -(
    Math.log(0.9) + Math.log(0.6) + Math.log(0.2) + Math.log(0.9) + Math.log(0.3) + Math.log(0.7) + Math.log(0.6) + Math.log(0.8)
  ) / 8;
  assert.ok(Math.abs(m.loss - bce) < 1e-6);
  assert.equal(m.count, 8);
});

test('a probability of exactly 0.5 counts as negative, like Keras binary_accuracy', () => {
  assert.deepEqual(computeMetrics([0.5], [1]).confusion, { tp: 0, fp: 0, tn: 0, fn: 1 });
});
