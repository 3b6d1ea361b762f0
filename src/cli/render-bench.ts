/** `rnn bench` as Markdown: samples/s per implementation, the fastest against stock, Keras when run. */
import type { BenchRow } from '../bench/index.js';
import type { KerasRows } from '../bench/keras.js';
import { decimal } from './format.js';
import { col, markdownTable } from './table.js';

/** The machine line, then one row per cell: training and prediction samples/s of each implementation measured. */
export function renderBench(rows: BenchRow[], machine: string, keras?: KerasRows): string {
  const impls = (['stock', 'fused', 'onednn'] as const).filter((i) => rows.some((r) => r.impl === i));
  const names = impls.map((i) => (i === 'onednn' ? 'oneDNN' : i));
  const best = impls.at(-1)!;
  const half = (what: string) => [
    col(`${what} ${names[0]}`, 'right'),
    ...names.slice(1).map((n) => col(n, 'right')),
    col(`${names.at(-1)}/stock`, 'right'),
    ...(keras ? [col('Keras', 'right'), col(`${names.at(-1)}/Keras`, 'right')] : []),
  ];
  const times = (a: number, b: number | undefined): string => (b ? `${decimal(a / b, 2)}×` : '?');
  const part = (cell: string, key: 'trainSamplesPerSec' | 'predictSamplesPerSec'): string[] => {
    const get = (impl: string): BenchRow => rows.find((r) => r.cell === cell && r.impl === impl)!;
    const top = get(best)[key];
    const k = keras?.rows[cell]?.[key];
    return [
      ...impls.map((i) => decimal(get(i)[key], 1)),
      times(top, get('stock')[key]),
      ...(keras ? [k ? decimal(k, 1) : '?', times(top, k)] : []),
    ];
  };
  const cells = [...new Set(rows.map((r) => r.cell))];
  return (
    `${machine}${keras ? `, Keras ${keras.keras}` : ''}\n` +
    markdownTable(
      [col('cell'), ...half('train samples/s'), ...half('predict samples/s')],
      cells.map((cell) => [cell, ...part(cell, 'trainSamplesPerSec'), ...part(cell, 'predictSamplesPerSec')]),
    )
  );
}
