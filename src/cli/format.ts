/**
 * How rnn writes numbers, in one place: every command's output, tables and reports go through these, so a
 * missing value or a percentage looks the same everywhere.
 */

/** The mark of a value that does not exist (no validation split, one class only, an empty bucket). */
export const MISSING = '–';

function present(v: number | null | undefined): v is number {
  return v !== null && v !== undefined && !Number.isNaN(v);
}

/** 0.8823 → `88.2%` (`digits` decimals, 1 by default); missing → {@link MISSING}. */
export function percent(v: number | null | undefined, digits = 1): string {
  return present(v) ? `${(v * 100).toFixed(digits)}%` : MISSING;
}

/** A fixed number of decimals (a loss, a ROC-AUC); missing → {@link MISSING}. */
export function decimal(v: number | null | undefined, digits: number): string {
  return present(v) ? v.toFixed(digits) : MISSING;
}

/** 1029441 → `1,029,441`. */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** `12s`, `4m05s`, `1h02m`; `?` when unknown (an ETA before the first batch). */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** Sizes: `4.4 MB` from 100 kB up, else `12,345 B`. */
export function bytes(n: number): string {
  return n >= 1e5 ? megabytes(n) : `${count(n)} B`;
}

/** `84.1 MB` (downloads, files). */
export function megabytes(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}

/** A signed contribution: `+0.80`, `−2.00` (a true minus sign). */
export function signed(x: number, digits = 2): string {
  return `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(digits)}`;
}

/** A learning rate as given (`0.001`, `0.000293`): three significant digits. */
export function learningRate(lr: number): string {
  return String(Number(lr.toPrecision(3)));
}
