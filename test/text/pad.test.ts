/** pad_sequences semantics; expected rows are what keras.utils.pad_sequences (Keras 3.15.1) returned for the calls in the comments. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { padSequences } from '../../src/text/pad.js';

const seqs = [[1, 2, 3, 4, 5], [6, 7], [], [8, 9, 10]];
const cases: Array<{ name: string; opts: Parameters<typeof padSequences>[1]; rows: number[][] }> = [
  // keras.utils.pad_sequences(seqs, maxlen=3)
  {
    name: "defaults: padding='pre', truncating='pre'",
    opts: { maxlen: 3 },
    rows: [
      [3, 4, 5],
      [0, 6, 7],
      [0, 0, 0],
      [8, 9, 10],
    ],
  },
  // pad_sequences(seqs, maxlen=3, padding='post', truncating='post')
  {
    name: "padding='post', truncating='post'",
    opts: { maxlen: 3, padding: 'post', truncating: 'post' },
    rows: [
      [1, 2, 3],
      [6, 7, 0],
      [0, 0, 0],
      [8, 9, 10],
    ],
  },
  // pad_sequences(seqs, maxlen=4, padding='post', truncating='pre', value=-1)
  {
    name: "padding='post', truncating='pre', value=-1",
    opts: { maxlen: 4, padding: 'post', truncating: 'pre', value: -1 },
    rows: [
      [2, 3, 4, 5],
      [6, 7, -1, -1],
      [-1, -1, -1, -1],
      [8, 9, 10, -1],
    ],
  },
  // pad_sequences(seqs, maxlen=6)
  {
    name: 'maxlen longer than every sequence',
    opts: { maxlen: 6 },
    rows: [
      [0, 1, 2, 3, 4, 5],
      [0, 0, 0, 0, 6, 7],
      [0, 0, 0, 0, 0, 0],
      [0, 0, 0, 8, 9, 10],
    ],
  },
];
for (const c of cases) {
  test(`pad_sequences ${c.name}`, () => {
    const out = padSequences(seqs, c.opts);
    const rows = seqs.map((_, i) => [...out.subarray(i * c.opts.maxlen, (i + 1) * c.opts.maxlen)]);
    assert.deepEqual(rows, c.rows);
  });
}
