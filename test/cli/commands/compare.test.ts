/** The compare report as the terminal and Markdown show it, exactly, from a fixed report. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Chalk } from 'chalk';
import { bucketLabel, compareMarkdown, renderCompare } from '../../../src/cli/commands/compare.js';
import type { CompareReport } from '../../../src/compare/index.js';
import { resolveTrainOptions } from '../../../src/train/options.js';
import type { Metrics } from '../../../src/eval/metrics.js';

const metrics = (accuracy: number, f1: number, rocAuc: number): Metrics => ({
  loss: 0.4,
  accuracy,
  precision: 0.8,
  recall: 0.8,
  f1,
  rocAuc,
  confusion: { tp: 1, fp: 1, tn: 1, fn: 1 },
  count: 4,
});
const { cell: _cell, ...options } = resolveTrainOptions({ cell: 'lstm', seed: 42 });

test('bucketLabel', () => {
  assert.equal(bucketLabel({ min: 0, max: 128 }), '≤ 128 words');
  assert.equal(bucketLabel({ min: 129, max: 256 }), '129–256 words');
  assert.equal(bucketLabel({ min: 513, max: null }), '> 512 words');
});

// A made-up report with a missing value of each kind: a bucket without reviews, and a cell without validation reviews.
const report: CompareReport = {
  createdAt: '2026-11-28T00:00:00.000Z',
  data: { path: 'aclImdb_v1.tar.gz', trainReviews: 20000, validationReviews: 5000, testReviews: 25000 },
  options,
  rows: [
    {
      cell: 'simplernn',
      preset: 'lesson',
      init: false,
      name: 'simplernn',
      options: { ...options, cell: 'simplernn' },
      dir: '/m/simplernn',
      params: 1029441,
      epochs: 3,
      trainSeconds: 80.4,
      secondsPerEpoch: 27,
      samplesPerSec: 901.2,
      bestValAcc: 0.7862,
      bestValEpoch: 1,
      weightsEpoch: 1,
      history: [],
      test: metrics(0.7882, 0.79, 0.8712),
      byLength: [
        { min: 0, max: 128, count: 10, accuracy: 0.8 },
        { min: 129, max: 256, count: 5, accuracy: 0.6 },
        { min: 257, max: 512, count: 0, accuracy: Number.NaN },
        { min: 513, max: null, count: 1, accuracy: 1 },
      ],
    },
    {
      cell: 'gru',
      preset: 'lesson',
      init: false,
      name: 'gru',
      options: { ...options, cell: 'gru' },
      dir: '/m/gru',
      params: 1088769,
      epochs: 3,
      trainSeconds: 3700,
      secondsPerEpoch: 1233,
      samplesPerSec: 1200.7,
      bestValAcc: null,
      bestValEpoch: null,
      weightsEpoch: 3,
      history: [],
      test: metrics(0.9, 0.9012, Number.NaN),
      byLength: [
        { min: 0, max: 128, count: 10, accuracy: 0.9 },
        { min: 129, max: 256, count: 5, accuracy: 0.8 },
        { min: 257, max: 512, count: 0, accuracy: Number.NaN },
        { min: 513, max: null, count: 1, accuracy: 0 },
      ],
    },
  ],
  files: { json: '/m/report.json', markdown: '/m/report.md' },
};

test('compareMarkdown: one row per cell, then accuracy by length; missing values as –', () => {
  assert.equal(
    compareMarkdown(report),
    [
      '# rnn compare',
      '',
      '20,000 training / 5,000 validation reviews, 25,000 test reviews from `aclImdb_v1.tar.gz`; 3 epochs, batch 32, maxlen 256, seed 42; adam lr 0.001 (cosine), clip norm 1, word dropout 0.4, weight average (ema 0.995); best epoch by val_acc kept.',
      '',
      '| cell | params | train time | samples/s | best val acc (epoch) | saved epoch | test acc | F1 | ROC-AUC |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
      '| simplernn | 1,029,441 | 1m20s | 901 | 78.6% (1) | 1 of 3 | 78.8% | 79.0% | 0.871 |',
      '| gru | 1,088,769 | 1h01m | 1201 | – | 3 of 3 | 90.0% | 90.1% | – |',
      '',
      '## Test accuracy by review length',
      '',
      '| cell | ≤ 128 words (10) | 129–256 words (5) | 257–512 words (0) | > 512 words (1) |',
      '|---|---:|---:|---:|---:|',
      '| simplernn | 80.0% | 60.0% | – | 100.0% |',
      '| gru | 90.0% | 80.0% | – | 0.0% |',
      '',
    ].join('\n'),
  );
});

test('renderCompare: the same tables for the terminal, columns aligned, and where the reports are', () => {
  assert.equal(
    renderCompare(report, new Chalk({ level: 0 })),
    [
      '20,000 training / 5,000 validation / 25,000 test reviews · 3 epochs, batch 32, maxlen 256, seed 42 · adam lr 0.001 (cosine), clip norm 1, word dropout 0.4, weight average (ema 0.995) · best epoch by val_acc kept',
      '',
      'cell          params  train time  samples/s  best val acc (epoch)  saved epoch  test acc     F1  ROC-AUC',
      'simplernn  1,029,441       1m20s        901             78.6% (1)       1 of 3     78.8%  79.0%    0.871',
      'gru        1,088,769       1h01m       1201                     –       3 of 3     90.0%  90.1%        –',
      '',
      'test accuracy by length  ≤ 128 words (10)  129–256 words (5)  257–512 words (0)  > 512 words (1)',
      'simplernn                           80.0%              60.0%                  –           100.0%',
      'gru                                 90.0%              80.0%                  –             0.0%',
      '',
      'reports: /m/report.md, /m/report.json',
      '',
    ].join('\n'),
  );
});
