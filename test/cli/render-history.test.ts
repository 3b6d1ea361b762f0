import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Chalk } from 'chalk';
import { renderHistory, sparkline } from '../../src/cli/render-history.js';
import type { EpochLog } from '../../src/train/types.js';

const c = new Chalk({ level: 0 });

const sparkCases: Array<[number[], number, number, string]> = [
  [[0, 0.5, 1], 0, 1, '▁▅█'],
  [[1, 0.5, 0], 0, 1, '█▅▁'],
  [[0.3, 0.3], 0.3, 0.3, '▄▄'],
  [[2], 0, 1, '█'],
];
for (const [values, lo, hi, want] of sparkCases) {
  test(`sparkline(${values.join(',')})`, () => assert.equal(sparkline(values, lo, hi), want));
}

const e = (epoch: number, loss: number, acc: number, val_loss?: number, val_acc?: number): EpochLog => ({
  epoch,
  loss,
  acc,
  val_loss,
  val_acc,
  lr: 1e-3,
  best: false,
  seconds: 1,
  samplesPerSec: 1,
});

test('renderHistory: one line per metric, train and validation on one scale, best epoch named', () => {
  const out = renderHistory([e(1, 0.6, 0.65, 0.47, 0.79), e(2, 0.55, 0.73, 0.6, 0.67), e(3, 0.5, 0.78, 0.6, 0.66)], c, {
    epoch: 1,
    monitor: 'val_acc',
  });
  assert.equal(
    out,
    'learning curves (3 epochs, best epoch 1 by val_acc)\n' +
      '  loss      train █▅▃ 0.600 → 0.500   val ▁██ 0.470 → 0.600\n' +
      '  accuracy  train ▁▅▇ 65.0% → 78.0%   val █▂▂ 79.0% → 66.0%\n',
  );
  assert.equal(
    renderHistory([e(1, 0.7, 0.5)], c),
    'learning curves (1 epoch)\n  loss      train ▄ 0.700 → 0.700\n  accuracy  train ▄ 50.0% → 50.0%\n',
  );
  assert.equal(renderHistory([], c), '');
});
