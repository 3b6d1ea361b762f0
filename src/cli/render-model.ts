import type { ChalkInstance } from 'chalk';
import type { summarize } from '../models/index.js';
import { count } from './format.js';
import { col, textTable } from './table.js';

/** `gru, 128 units` for the lesson's model; `gru, bidirectional, 128 units each, max over time` for the recipe's. */
export function describeArchitecture(cell: string, h: { units: number; bidirectional?: boolean; pooling?: string }): string {
  const pooling = h.pooling && h.pooling !== 'last' ? `, ${h.pooling} over time` : '';
  return h.bidirectional ? `${cell}, bidirectional, ${h.units} units each${pooling}` : `${cell}, ${h.units} units${pooling}`;
}

/** Keras `model.summary()`-style table. */
export function renderSummary(s: ReturnType<typeof summarize>, c: ChalkInstance): string {
  const rows = s.layers.map((l) => [
    `${l.name} (${l.className})`,
    `(${l.outputShape.map((d) => (d === null ? 'None' : d)).join(', ')})`,
    count(l.params),
  ]);
  return (
    textTable([col('Layer (type)'), col('Output Shape'), col('Param #', 'right')], rows, { chalk: c, gap: 3, rule: '─' }) +
    [
      `Total params: ${count(s.totalParams)}`,
      `Trainable params: ${count(s.trainableParams)}`,
      `Non-trainable params: ${count(s.totalParams - s.trainableParams)}`,
    ].join('\n')
  );
}
