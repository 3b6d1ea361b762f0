/** Best-epoch tracking, early-stopping patience and learning-rate schedules on plain numbers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BestTracker, LrScheduler, describeRecipe, describeSchedule, type LrSchedule, type Monitor } from '../../src/train/control.js';

const trackerCases: Array<{ monitor: Monitor; values: number[]; improved: boolean[]; bestEpoch: number; wait: number }> = [
  // SimpleRNN-like collapse measured by Keras in the issue: 74.3% → 79.7% → 52.3% validation accuracy.
  { monitor: 'val_acc', values: [0.743, 0.797, 0.523], improved: [true, true, false], bestEpoch: 2, wait: 1 },
  { monitor: 'val_loss', values: [0.5, 0.4, 0.45, 0.41], improved: [true, true, false, false], bestEpoch: 2, wait: 2 },
  { monitor: 'loss', values: [0.7, 0.7, 0.6], improved: [true, false, true], bestEpoch: 3, wait: 0 },
  { monitor: 'acc', values: [0.5, 0.6, 0.6], improved: [true, true, false], bestEpoch: 2, wait: 1 },
  { monitor: 'val_loss', values: [Number.NaN, 0.9], improved: [false, true], bestEpoch: 2, wait: 0 },
];
for (const c of trackerCases) {
  test(`BestTracker(${c.monitor}) over ${c.values.join(', ')}`, () => {
    const t = new BestTracker(c.monitor);
    assert.deepEqual(
      c.values.map((v, i) => t.update(i + 1, v)),
      c.improved,
    );
    assert.equal(t.bestEpoch, c.bestEpoch);
    assert.equal(t.wait, c.wait);
  });
}

const scheduleCases: Array<{ schedule: LrSchedule; spec: string; improved: boolean[]; lrs: number[] }> = [
  { schedule: { kind: 'constant' }, spec: 'constant', improved: [true, false, false], lrs: [1e-3, 1e-3, 1e-3] },
  { schedule: { kind: 'exponential', gamma: 0.5 }, spec: 'exponential:0.5', improved: [true, true, true], lrs: [1e-3, 5e-4, 2.5e-4] },
  {
    schedule: { kind: 'cosine', minLr: 0 },
    spec: 'cosine',
    improved: [true, true, true, true],
    lrs: [1e-3, 0.00085355339, 0.0005, 0.00014644661],
  },
  // Keras ReduceLROnPlateau(factor=0.5, patience=1): the rate halves after each epoch without improvement.
  {
    schedule: { kind: 'plateau', factor: 0.5, patience: 1, minLr: 1e-6 },
    spec: 'plateau:0.5:1',
    improved: [true, false, true, false, false],
    lrs: [1e-3, 1e-3, 5e-4, 5e-4, 2.5e-4],
  },
  {
    schedule: { kind: 'plateau', factor: 0.1, patience: 2, minLr: 1e-6 },
    spec: 'plateau:0.1:2',
    improved: [true, false, false, false, false, false],
    lrs: [1e-3, 1e-3, 1e-3, 1e-4, 1e-4, 1e-5],
  },
  {
    schedule: { kind: 'plateau', factor: 0.1, patience: 1, minLr: 1e-6 },
    spec: 'plateau:0.1:1',
    improved: [false, false, false, false],
    lrs: [1e-3, 1e-4, 1e-5, 1e-6],
  },
];
for (const c of scheduleCases) {
  test(`LrScheduler ${c.spec}`, () => {
    const s = new LrScheduler(c.schedule, 1e-3, c.lrs.length);
    const got: number[] = [];
    c.improved.forEach((imp, i) => {
      got.push(s.lrAt(i + 1, 0, 1));
      s.afterEpoch(imp);
    });
    got.forEach((v, i) => assert.ok(Math.abs(v - c.lrs[i]!) < 1e-11, `epoch ${i + 1}: ${v} vs ${c.lrs[i]}`));
    assert.equal(describeSchedule(c.schedule), c.spec);
  });
}

test('LrScheduler slanted (ULMFiT): per step, a linear rise to lr over the first cut_frac of the run, then a linear fall to lr/ratio at its last step', () => {
  const s = new LrScheduler({ kind: 'slanted', cutFrac: 0.1, ratio: 32 }, 1e-3, 4);
  const steps = 25; // 4 epochs of 25 steps: 100 steps, the peak at step 10
  const all = Array.from({ length: 4 }, (_, e) => Array.from({ length: steps }, (_, b) => s.lrAt(e + 1, b, steps))).flat();
  const near = (a: number, b: number) => Math.abs(a - b) < 1e-15;
  assert.ok(near(all[0]!, 1e-3 / 32), `first step ${all[0]}`);
  assert.ok(near(all[10]!, 1e-3), `peak ${all[10]}`);
  assert.ok(near(all[5]!, (1e-3 * (1 + 0.5 * 31)) / 32), `half-way up ${all[5]}`);
  assert.ok(near(all[99]!, 1e-3 / 32), `last step ${all[99]}`);
  for (let t = 1; t <= 10; t++) assert.ok(all[t]! > all[t - 1]!, `rising at ${t}`);
  for (let t = 11; t < 100; t++) assert.ok(all[t]! < all[t - 1]!, `falling at ${t}`);
  s.afterEpoch(false); // no plateau logic
  assert.ok(near(s.lrAt(2, 0, steps), all[25]!));
  assert.equal(describeSchedule({ kind: 'slanted', cutFrac: 0.1, ratio: 32 }), 'slanted:0.1:32');
});

const recipeCases: { name: string; o: Parameters<typeof describeRecipe>[0]; want: string }[] = [
  {
    name: "rnn train's defaults",
    o: { lr: 1e-3, lrSchedule: { kind: 'cosine', minLr: 0 }, clipNorm: 1, wordDropout: 0.4, ema: 0.995 },
    want: 'adam lr 0.001 (cosine), clip norm 1, word dropout 0.4, weight average (ema 0.995)',
  },
  {
    name: "Keras's fit (--lr-schedule constant --no-clip-norm --word-dropout 0 --no-ema)",
    o: { lr: 1e-3, lrSchedule: { kind: 'constant' }, clipNorm: null, wordDropout: 0, ema: null },
    want: 'adam lr 0.001 (constant)',
  },
  {
    name: 'a model saved before the clip existed',
    o: { lr: 1e-3, lrSchedule: { kind: 'cosine', minLr: 0 }, wordDropout: 0.4, ema: 0.995 },
    want: 'adam lr 0.001 (cosine), word dropout 0.4, weight average (ema 0.995)',
  },
  { name: 'a model saved before schedules, word dropout and the average existed', o: { lr: 0.002 }, want: 'adam lr 0.002 (constant)' },
  {
    name: 'plateau, no word dropout',
    o: { lr: 1e-3, lrSchedule: { kind: 'plateau', factor: 0.5, patience: 2, minLr: 1e-6 }, wordDropout: 0, ema: 0.99 },
    want: 'adam lr 0.001 (plateau:0.5:2), weight average (ema 0.99)',
  },
];
for (const c of recipeCases) {
  test(`describeRecipe: ${c.name}`, () => assert.equal(describeRecipe(c.o), c.want));
}
