/** Keras `pad_sequences` semantics. Pure: no tfjs. */

/** Where to pad or cut: before the sequence (`pre`, Keras's default) or after it (`post`). */
/** The ends `pad_sequences` pads and truncates at (Keras's `padding` and `truncating`). */
export const PAD_SIDES = ['pre', 'post'] as const;
export type PadSide = (typeof PAD_SIDES)[number];

/** Options of {@link padSequences}. */
export interface PadOptions {
  /** Length of every output row (`maxlen`). */
  maxlen: number;
  /** Where padding goes (`padding`). */
  padding: PadSide;
  /** Which end is cut from longer sequences (`truncating`): `pre` keeps the last maxlen ids. */
  truncating: PadSide;
  /** The pad id (`value`). */
  value: number;
}

export function resolvePadOptions(o: Partial<PadOptions> & { maxlen: number }): PadOptions {
  return { maxlen: o.maxlen, padding: o.padding ?? 'pre', truncating: o.truncating ?? 'pre', value: o.value ?? 0 };
}

/** Pads/truncates into one row-major Int32Array of shape [sequences.length, maxlen]. */
export function padSequences(sequences: readonly (readonly number[])[], options: Partial<PadOptions> & { maxlen: number }): Int32Array {
  const o = resolvePadOptions(options);
  const out = new Int32Array(sequences.length * o.maxlen).fill(o.value);
  sequences.forEach((s, row) => padInto(out, row, s, o));
  return out;
}

/** Writes one padded/truncated sequence into row `row` of `out` (already filled with the pad value). */
export function padInto(out: Int32Array, row: number, s: readonly number[], o: PadOptions): void {
  if (s.length === 0) return;
  const { maxlen, padding, truncating } = o;
  const trunc = s.length <= maxlen ? s : truncating === 'pre' ? s.slice(s.length - maxlen) : s.slice(0, maxlen);
  const start = row * maxlen + (padding === 'pre' ? maxlen - trunc.length : 0);
  for (let i = 0; i < trunc.length; i++) out[start + i] = trunc[i]!;
}
