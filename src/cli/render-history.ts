/** Learning curves in the terminal: one sparkline per metric and split, train and validation on one scale. */
import type { ChalkInstance } from 'chalk';
import type { EpochLog } from '../train/types.js';
import { decimal, percent } from './format.js';

const BLOCKS = '▁▂▃▄▅▆▇█';

/** One block character per value, scaled to [lo, hi] (a flat series is drawn mid-height). */
export function sparkline(values: readonly number[], lo: number, hi: number): string {
  return values
    .map((v) => {
      if (!(hi > lo)) return BLOCKS[3];
      const i = Math.round(((v - lo) / (hi - lo)) * (BLOCKS.length - 1));
      return BLOCKS[Math.min(BLOCKS.length - 1, Math.max(0, i))];
    })
    .join('');
}

const pct = (v: number): string => percent(v, 1);
const dec = (v: number): string => decimal(v, 3);

/**
 * E.g.
 * ```
 * learning curves (3 epochs, best epoch 2 by val_acc)
 *   loss      train ▇▄▁ 0.512 → 0.231   val ▃▁▇ 0.402 → 0.451
 *   accuracy  train ▁▅█ 74.1% → 91.0%   val ▁█▆ 81.2% → 84.0%
 * ```
 */
export function renderHistory(history: readonly EpochLog[], c: ChalkInstance, best?: { epoch: number; monitor: string }): string {
  if (history.length === 0) return '';
  const lines = [
    `learning curves (${history.length} epoch${history.length === 1 ? '' : 's'}${best ? `, best epoch ${best.epoch} by ${best.monitor}` : ''})`,
  ];
  const rows: [string, (e: EpochLog) => number | undefined, (e: EpochLog) => number | undefined, (v: number) => string][] = [
    ['loss    ', (e) => e.loss, (e) => e.val_loss, dec],
    ['accuracy', (e) => e.acc, (e) => e.val_acc, pct],
  ];
  for (const [name, train, val, f] of rows) {
    const t = history.map(train).filter((v): v is number => v !== undefined);
    const v = history.map(val).filter((x): x is number => x !== undefined);
    const all = [...t, ...v];
    const lo = Math.min(...all);
    const hi = Math.max(...all);
    const span = (s: number[], color: (x: string) => string): string =>
      `${color(sparkline(s, lo, hi))} ${f(s[0]!)} → ${f(s[s.length - 1]!)}`;
    let line = `  ${name}  train ${span(t, c.blue)}`;
    if (v.length === history.length) line += `   val ${span(v, c.red)}`;
    lines.push(line);
  }
  return lines.join('\n') + '\n';
}
