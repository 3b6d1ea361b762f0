/**
 * Word dropout, a data augmentation for training batches: every word of a padded review is dropped with
 * probability `p` and the words left close up, padded again on the review's padding side (as Keras's
 * pad_sequences would pad the shorter review). Each epoch sees other words dropped, so the model cannot
 * lean on a few words it memorised (a film's title, an actor's name); the model itself is unchanged.
 */
import type { PadSide } from '../text/pad.js';

/** Drops words of the [rows, maxlen] id batch `x` in place; ids equal to `padValue` are padding. */
export function dropWords(x: Int32Array, maxlen: number, p: number, rand: () => number, padding: PadSide, padValue = 0): void {
  if (p <= 0) return;
  for (let start = 0; start < x.length; start += maxlen) {
    const row = x.subarray(start, start + maxlen);
    if (padding === 'pre') {
      // Words close up towards the end, scanning backwards so each write lands at or after its read.
      let w = maxlen;
      for (let t = maxlen - 1; t >= 0; t--) {
        const id = row[t]!;
        if (id !== padValue && rand() >= p) row[--w] = id;
      }
      row.fill(padValue, 0, w);
    } else {
      let w = 0;
      for (let t = 0; t < maxlen; t++) {
        const id = row[t]!;
        if (id !== padValue && rand() >= p) row[w++] = id;
      }
      row.fill(padValue, w);
    }
  }
}
