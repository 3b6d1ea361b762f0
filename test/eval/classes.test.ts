/**
 * k-class metrics (src/eval/classes.ts) against scikit-learn's: test/fixtures/metrics-golden.json, written by
 * test/fixtures/metrics_golden.py from seeded synthetic predictions (k = 3 and k = 8, one class never
 * predicted, a tie, probabilities 0 and 1), within 1e-12.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { computeClassMetrics, confusionMatrix, LOG_LOSS_EPSILON, predictedClasses } from '../../src/eval/classes.js';
import { ROOT } from '../helpers.js';

interface PerClass {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}
interface GoldenCase {
  names: string[];
  numeric: boolean;
  neverPredicted: number;
  labels: number[];
  probabilities: number[][];
  predicted: number[];
  expected: {
    accuracy: number;
    macroF1: number;
    weightedF1: number;
    logLoss: number;
    perClass: PerClass[];
    confusion: number[][];
    meanAbsoluteError?: number;
    withinOneStep?: number;
  };
}
const golden = JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/metrics-golden.json'), 'utf8')) as {
  sklearn: string;
  cases: GoldenCase[];
};

const TOL = 1e-12;
function close(got: number | undefined, want: number, what: string): void {
  assert.ok(got !== undefined && Math.abs(got - want) <= TOL, `${what}: ${got} vs scikit-learn's ${want}`);
}

for (const c of golden.cases) {
  const k = c.names.length;
  test(`k = ${k}: accuracy, macro/weighted F1, per-class P/R/F1/support, confusion, log loss${c.numeric ? ', MAE, within one step' : ''} equal scikit-learn ${golden.sklearn}'s`, () => {
    const probs = Float64Array.from(c.probabilities.flat());
    assert.deepEqual([...predictedClasses(probs, k)], c.predicted, "argmax, the first on a tie (NumPy's)");
    const m = computeClassMetrics(probs, c.labels, { names: c.names, numeric: c.numeric });
    const e = c.expected;
    assert.equal(m.count, c.labels.length);
    close(m.accuracy, e.accuracy, 'accuracy');
    close(m.macroF1, e.macroF1, 'macro-F1');
    close(m.weightedF1, e.weightedF1, 'weighted-F1');
    close(m.logLoss, e.logLoss, 'log loss');
    assert.deepEqual(m.confusion, e.confusion);
    assert.equal(m.perClass.length, k);
    m.perClass.forEach((s, i) => {
      const w = e.perClass[i]!;
      assert.equal(s.label, w.label);
      assert.equal(s.support, w.support);
      close(s.precision, w.precision, `${w.label} precision`);
      close(s.recall, w.recall, `${w.label} recall`);
      close(s.f1, w.f1, `${w.label} F1`);
    });
    // The class never predicted: precision 0/0 is 0 (zero_division=0), and so are its recall and F1.
    const never = m.perClass[c.neverPredicted]!;
    assert.ok(never.support > 0);
    assert.deepEqual([never.precision, never.recall, never.f1], [0, 0, 0]);
    if (c.numeric) {
      close(m.meanAbsoluteError, e.meanAbsoluteError!, 'mean absolute error');
      close(m.withinOneStep, e.withinOneStep!, 'within one step');
    } else {
      assert.equal(m.meanAbsoluteError, undefined);
      assert.equal(m.withinOneStep, undefined);
    }
  });
}

test('a float32 matrix (what models give) scores the same as its float64 copy', () => {
  const c = golden.cases[1]!;
  const f32 = Float32Array.from(c.probabilities.flat());
  const set = { names: c.names, numeric: c.numeric };
  assert.deepEqual(computeClassMetrics(f32, c.labels, set), computeClassMetrics(Float64Array.from(f32), c.labels, set));
});

test('log loss clips to [ε, 1 − ε], ε = 2⁻⁵²; the mean absolute error is in label units, one step is one position in label order', () => {
  assert.equal(LOG_LOSS_EPSILON, 2 ** -52);
  const set = { names: ['1', '4', '7', '10'], numeric: true };
  // True 4 predicted 7 (adjacent: one step, 3 units); true 1 predicted 10 (three steps, 9 units) with p(true) = 0.
  const m = computeClassMetrics([0, 0.2, 0.8, 0, 0, 0, 0, 1], [1, 0], set);
  assert.equal(m.meanAbsoluteError, (3 + 9) / 2);
  assert.equal(m.withinOneStep, 0.5);
  assert.equal(m.logLoss, (-Math.log(0.2) - Math.log(LOG_LOSS_EPSILON)) / 2);
  assert.equal(computeClassMetrics([1, 0, 0], [0], { names: ['a', 'b', 'c'], numeric: false }).logLoss, -Math.log(1 - LOG_LOSS_EPSILON));
});

test('macro-F1 averages over every label of the set, one without reviews or predictions included', () => {
  const m = computeClassMetrics([0.9, 0.1, 0, 0.1, 0.9, 0], [0, 1], { names: ['a', 'b', 'c'], numeric: false });
  assert.equal(m.accuracy, 1);
  assert.deepEqual(
    m.perClass.map((s) => s.f1),
    [1, 1, 0],
  );
  assert.equal(m.macroF1, 2 / 3);
  assert.equal(m.weightedF1, 1);
});

test('confusion rows are true labels, columns predicted; shapes are checked', () => {
  assert.deepEqual(confusionMatrix([0, 0, 2, 1], [0, 2, 2, 0], 3), [
    [1, 0, 1],
    [1, 0, 0],
    [0, 0, 1],
  ]);
  assert.throws(() => computeClassMetrics([0.5, 0.5], [0], { names: ['a', 'b', 'c'], numeric: false }), /expected 1×3/);
  assert.throws(() => computeClassMetrics([0.5, 0.5, 0], [3], { names: ['a', 'b', 'c'], numeric: false }), /not a class index/);
});
