import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { dropWords } from '../../src/train/augment.js';
import { encode } from '../../src/predict/index.js';
import { Tokenizer } from '../../src/text/tokenizer.js';
import { mulberry32 } from '../../src/util/random.js';
import { imdb } from '../helpers.js';

const MAXLEN = 256;
let texts: string[] = [];
before(async () => {
  const d = await imdb();
  texts = [...d.train.slice(0, 100), ...d.train.slice(-100)].map((r) => r.text);
});

function rows(x: Int32Array): Int32Array[] {
  return Array.from({ length: x.length / MAXLEN }, (_, i) => x.subarray(i * MAXLEN, (i + 1) * MAXLEN));
}

/** Whether `small` is `big` with some elements left out (order kept). */
function isSubsequence(small: readonly number[], big: readonly number[]): boolean {
  let j = 0;
  for (const v of big) if (j < small.length && small[j] === v) j++;
  return j === small.length;
}

for (const padding of ['pre', 'post'] as const) {
  test(`dropWords on 200 real reviews, ${padding} padding: p = 0.25 drops about a quarter of the words, keeps their order, pads again on the ${padding} side`, () => {
    const tokenizer = new Tokenizer({ numWords: 10000 });
    tokenizer.fitOnTexts(texts);
    const original = encode(tokenizer, texts, { maxlen: MAXLEN, padding, truncating: 'pre' }).x;
    const x = original.slice();
    dropWords(x, MAXLEN, 0.25, mulberry32(5), padding);
    let words = 0;
    let kept = 0;
    rows(x).forEach((row, i) => {
      const before = [...rows(original)[i]!].filter((id) => id !== 0);
      const after = [...row].filter((id) => id !== 0);
      words += before.length;
      kept += after.length;
      assert.ok(isSubsequence(after, before), `row ${i}: the words left are the review's, in order`);
      const expected =
        padding === 'pre'
          ? [...new Array<number>(MAXLEN - after.length).fill(0), ...after]
          : [...after, ...new Array<number>(MAXLEN - after.length).fill(0)];
      assert.deepEqual([...row], expected, `row ${i}: one block of words, padded on the ${padding} side`);
    });
    assert.ok(words > 30000, `${words} words`);
    // Binomial: the dropped share's standard deviation is √(0.25·0.75/words) < 0.0025.
    assert.ok(Math.abs(1 - kept / words - 0.25) < 0.01, `dropped ${(1 - kept / words).toFixed(4)} of ${words} words`);

    const again = original.slice();
    dropWords(again, MAXLEN, 0.25, mulberry32(5), padding);
    assert.deepEqual(again, x, 'the same random numbers drop the same words');
    const other = original.slice();
    dropWords(other, MAXLEN, 0.25, mulberry32(6), padding);
    assert.notDeepEqual(other, x, 'other random numbers drop other words');
  });
}

test('dropWords: p = 0 leaves the batch alone and draws no random numbers; padding-only rows stay padding', () => {
  const x = Int32Array.from([0, 0, 3, 4, 5, 0, 0, 0, 0, 0]);
  let draws = 0;
  dropWords(x, 5, 0, () => (draws++, 0), 'pre');
  assert.deepEqual([...x], [0, 0, 3, 4, 5, 0, 0, 0, 0, 0]);
  assert.equal(draws, 0);
  dropWords(x, 5, 0.5, () => (draws++, 0.9), 'pre');
  assert.deepEqual([...x], [0, 0, 3, 4, 5, 0, 0, 0, 0, 0], 'every draw above p keeps the word');
  assert.equal(draws, 3, 'one draw per word, none for padding');
  dropWords(x, 5, 0.5, () => 0.1, 'pre');
  assert.deepEqual([...x], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 'every draw below p drops the word');
});
