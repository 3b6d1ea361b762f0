import type { ChalkInstance } from 'chalk';
import type { summarize } from '../models/index.js';
import { count } from './format.js';
import { col, textTable } from './table.js';

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
