import type { ChalkInstance } from 'chalk';
import type { summarize } from '../models/index.js';

/** Keras `model.summary()`-style table. */
export function renderSummary(s: ReturnType<typeof summarize>, c: ChalkInstance): string {
  const rows = s.layers.map((l) => [`${l.name} (${l.className})`, `(${l.outputShape.map((d) => (d === null ? 'None' : d)).join(', ')})`, l.params.toLocaleString('en-US')]);
  const head = ['Layer (type)', 'Output Shape', 'Param #'];
  const w = [0, 1, 2].map((i) => Math.max(head[i]!.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => `${r[0]!.padEnd(w[0]!)}   ${r[1]!.padEnd(w[1]!)}   ${r[2]!.padStart(w[2]!)}`;
  const rule = '─'.repeat(w[0]! + w[1]! + w[2]! + 6);
  return [
    c.bold(line(head)),
    rule,
    ...rows.map(line),
    rule,
    `Total params: ${s.totalParams.toLocaleString('en-US')}`,
    `Trainable params: ${s.trainableParams.toLocaleString('en-US')}`,
    `Non-trainable params: ${(s.totalParams - s.trainableParams).toLocaleString('en-US')}`,
  ].join('\n');
}
