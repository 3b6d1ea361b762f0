/**
 * A checkpoint must fit the model its options build before its weights are put in: a regression of the fuzz
 * campaign (test/fuzz: a checkpoint.json whose vocabSize was edited from 400 to 399 failed inside tfjs with "the
 * tensor should have 3192 values but has 3200", reported as a bug in rnn).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCheckpointFits } from '../../src/train/index.js';
import { UserError } from '../../src/errors.js';

const f = (n: number) => new Float32Array(n);
const fits = { order: [2, 0, 1], weights: [f(3200), f(16), f(4)] };

test('a checkpoint of the model its options build fits', () => {
  assert.doesNotThrow(() => checkCheckpointFits([3200, 16, 4], fits, 3));
  assert.doesNotThrow(() => checkCheckpointFits([3200, 16, 4], { ...fits, bestWeights: [f(3200), f(16), f(4)] }, 3));
});

const unfit: Array<{ name: string; sizes: number[]; ckpt: Parameters<typeof checkCheckpointFits>[1]; what: RegExp }> = [
  {
    name: 'an embedding of 399 words for weights of 400 (fuzz finding)',
    sizes: [3192, 16, 4],
    ckpt: fits,
    what: /its weights have 3 arrays of 3200, 16, 4 values, the model's 3192, 16, 4$/,
  },
  { name: 'a weight fewer', sizes: [3200, 16, 4], ckpt: { ...fits, weights: [f(3200), f(16)] }, what: /its weights have 2 arrays/ },
  {
    name: 'best weights of another size',
    sizes: [3200, 16, 4],
    ckpt: { ...fits, bestWeights: [f(3200), f(16), f(5)] },
    what: /its best weights have/,
  },
  {
    name: 'an order naming review 3 of 3',
    sizes: [3200, 16, 4],
    ckpt: { ...fits, order: [3, 0, 1] },
    what: /names one that is not among the 3$/,
  },
  {
    name: 'an order with a fraction',
    sizes: [3200, 16, 4],
    ckpt: { ...fits, order: [0.5, 0, 1] },
    what: /names one that is not among the 3$/,
  },
];
for (const c of unfit) {
  test(`a checkpoint with ${c.name} is CHECKPOINT_INVALID`, () => {
    assert.throws(
      () => checkCheckpointFits(c.sizes, c.ckpt, 3),
      (e: unknown) => e instanceof UserError && e.code === 'CHECKPOINT_INVALID' && c.what.test(e.message),
    );
  });
}
