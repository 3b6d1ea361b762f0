/** Label sets read from the data (src/data/labels.ts): the known sentiment pairs, numbers, names, --labels, and balanced class weights. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  BINARY_LABELS,
  IMDB_RATING_LABELS,
  balancedClassWeights,
  imbalanceRatio,
  isBinaryLabels,
  labelCounts,
  labelIndexer,
  labelSetOf,
  type LabelSet,
} from '../../src/data/labels.js';
import { UserError } from '../../src/errors.js';
import { ROOT } from '../helpers.js';

const setCases: Array<{ values: string[]; want: LabelSet; why: string }> = [
  { values: ['positive', 'negative'], want: BINARY_LABELS, why: 'the sentiment pair' },
  { values: ['pos', 'NEG', ' Positive '], want: BINARY_LABELS, why: 'any mix of the known values, any case' },
  { values: ['1', '0'], want: BINARY_LABELS, why: '1/0 is sentiment, as it always was' },
  { values: ['positive'], want: BINARY_LABELS, why: 'one known value alone (training refuses it later, eval scores it)' },
  {
    values: ['positive', 'neutral', 'negative'],
    want: { names: ['negative', 'neutral', 'positive'], numeric: false },
    why: 'names in code-unit order',
  },
  { values: ['b', 'B', 'a'], want: { names: ['B', 'a', 'b'], numeric: false }, why: 'case-sensitive: uppercase first' },
  { values: ['10', '9', '1', '2'], want: { names: ['1', '2', '9', '10'], numeric: true }, why: 'numbers by value, not as text' },
  { values: ['-1', '0', '1'], want: { names: ['-1', '0', '1'], numeric: true }, why: 'a 1/0 pair with a third number is numeric' },
  { values: ['4.0', '4', '05', '2.5'], want: { names: ['2.5', '4', '5'], numeric: true }, why: 'numbers named by their value' },
  { values: ['good', 'bad'], want: { names: ['bad', 'good'], numeric: false }, why: 'another pair is two labels of its own' },
  { values: ['1', 'two'], want: { names: ['1', 'two'], numeric: false }, why: 'a name makes the set names' },
];
for (const c of setCases) {
  test(`labels of ${JSON.stringify(c.values)}: ${c.why}`, () => assert.deepEqual(labelSetOf(c.values), c.want));
}

test('BINARY_LABELS: index 0 negative, 1 positive (what the sigmoid means); frozen', () => {
  assert.deepEqual(BINARY_LABELS, { names: ['negative', 'positive'], numeric: false });
  assert.ok(Object.isFrozen(BINARY_LABELS) && Object.isFrozen(BINARY_LABELS.names));
  assert.ok(isBinaryLabels(BINARY_LABELS));
  assert.ok(isBinaryLabels({ names: ['negative', 'positive'], numeric: false }));
  assert.ok(!isBinaryLabels({ names: ['positive', 'negative'], numeric: false }));
  assert.deepEqual(IMDB_RATING_LABELS.names, ['1', '2', '3', '4', '7', '8', '9', '10']);
});

test('--labels fixes the names and their order, and the indexer maps only those', () => {
  const set = labelSetOf(['negative', 'neutral', 'positive'], ['positive', ' neutral', 'negative']);
  assert.deepEqual(set, { names: ['positive', 'neutral', 'negative'], numeric: false });
  const at = labelIndexer(set);
  assert.deepEqual(['positive', 'neutral', 'negative', ' negative ', 'pos', 'Positive'].map(at), [0, 1, 2, 2, undefined, undefined]);
  // negative,positive is the binary set, with every sentiment value it always took.
  assert.equal(labelSetOf([], ['negative', 'positive']), BINARY_LABELS);
  assert.deepEqual(['pos', 'NEG', '1', '0', 'meh'].map(labelIndexer(BINARY_LABELS)), [1, 0, 1, 0, undefined]);
  // Numbers match by value.
  const stars = labelSetOf([], ['1', '2', '3', '4', '5']);
  assert.equal(stars.numeric, true);
  assert.deepEqual(['1', '1.0', '05', '6', 'one'].map(labelIndexer(stars)), [0, 0, 4, undefined, undefined]);
});

test('--labels needs two or more distinct names', () => {
  for (const [fixed, what] of [
    [['a'], '--labels a is not a list of labels: it must name two or more labels, none empty'],
    [['a', ''], '--labels a, is not a list of labels: it must name two or more labels, none empty'],
    [['a', 'b', 'a'], '--labels a,b,a is not a list of labels: it names the label "a" twice'],
    [['1', '1.0'], '--labels 1,1.0 is not a list of labels: it names the label "1.0" twice'],
  ] as const) {
    assert.throws(
      () => labelSetOf([], fixed),
      (e: unknown) => e instanceof UserError && e.code === 'OPTION_INVALID' && e.message === what,
    );
  }
});

test('labelCounts and imbalanceRatio', () => {
  assert.deepEqual(labelCounts([{ label: 2 }, { label: 0 }, { label: 2 }], 4), [1, 0, 2, 0]);
  assert.equal(imbalanceRatio([10, 2, 5]), 5);
  assert.equal(imbalanceRatio([10, 0]), Infinity);
});

interface Golden {
  cases: Array<{ names: string[]; labels: number[]; expected: { balancedClassWeights: number[] } }>;
}
const golden = JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/metrics-golden.json'), 'utf8')) as Golden;

test("balancedClassWeights is Keras's class_weight='balanced': scikit-learn's compute_class_weight within 1e-12", () => {
  for (const c of golden.cases) {
    const got = balancedClassWeights(
      labelCounts(
        c.labels.map((label) => ({ label })),
        c.names.length,
      ),
    );
    const want = c.expected.balancedClassWeights;
    assert.equal(got.length, want.length);
    got.forEach((w, i) => assert.ok(Math.abs(w - want[i]!) <= 1e-12, `class ${i}: ${w} vs ${want[i]}`));
  }
  // n / (k · n_c): balanced data weighs every class 1.
  assert.deepEqual(balancedClassWeights([5, 5, 5]), [1, 1, 1]);
  assert.deepEqual(balancedClassWeights([30, 10]), [40 / 60, 40 / 20]);
  assert.throws(() => balancedClassWeights([3, 0, 2]), RangeError);
});
