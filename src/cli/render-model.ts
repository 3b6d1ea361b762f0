import type { ChalkInstance } from 'chalk';
import type { summarize } from '../models/index.js';
import type { SelfTrainingRecord } from '../train/types.js';
import { count, percent } from './format.js';
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

/**
 * A self-trained model's teacher and pseudo-labels in one line: `10,750 pseudo-labels of 22,182 unlabeled texts
 * (the teacher's surest 50% of each class: 5,400 negative, 5,350 positive; teacher epoch 13, val_acc 88.0%)`.
 */
export function describeSelfTraining(r: SelfTrainingRecord & { source?: { path: string } }, labels: readonly string[]): string {
  const kept = r.kept.reduce((a, b) => a + b, 0);
  const perClass = r.kept.map((k, c) => `${count(k)} ${labels[c] ?? c}`).join(', ');
  const t = r.teacher.history[r.teacher.weightsEpoch - 1];
  return (
    `${count(kept)} pseudo-labels of ${count(r.pool)} unlabeled texts${r.source ? ` of ${r.source.path}` : ''} (the teacher's surest ` +
    `${percent(r.share, 0)} of each class: ${perClass}; teacher epoch ${r.teacher.weightsEpoch}` +
    `${t?.val_acc !== undefined ? `, val_acc ${percent(t.val_acc)}` : ''})`
  );
}
