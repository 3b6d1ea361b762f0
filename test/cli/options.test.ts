/** Option parsers: accepted values and what they become; rejected values (messages are in errors.test.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from 'commander';
import { cellList, lrSchedule, monitor } from '../../src/cli/options.js';

const ok: Array<[string, (v: string) => unknown, string, unknown]> = [
  ['lrSchedule', lrSchedule, 'constant', { kind: 'constant' }],
  ['lrSchedule', lrSchedule, 'plateau', { kind: 'plateau', factor: 0.5, patience: 1, minLr: 1e-6 }],
  ['lrSchedule', lrSchedule, 'plateau:0.2', { kind: 'plateau', factor: 0.2, patience: 1, minLr: 1e-6 }],
  ['lrSchedule', lrSchedule, 'Plateau:0.2:3', { kind: 'plateau', factor: 0.2, patience: 3, minLr: 1e-6 }],
  ['lrSchedule', lrSchedule, 'exponential', { kind: 'exponential', gamma: 0.5 }],
  ['lrSchedule', lrSchedule, 'exponential:0.9', { kind: 'exponential', gamma: 0.9 }],
  ['lrSchedule', lrSchedule, 'cosine', { kind: 'cosine', minLr: 0 }],
  ['monitor', monitor, 'val_loss', 'val_loss'],
  ['cellList', cellList, 'lstm', ['lstm']],
  ['cellList', cellList, 'GRU, simplernn,gru', ['gru', 'simplernn']],
];
for (const [name, parse, input, want] of ok) {
  test(`${name}(${JSON.stringify(input)})`, () => assert.deepEqual(parse(input), want));
}

const bad: Array<[string, (v: string) => unknown, string]> = [
  ['lrSchedule', lrSchedule, 'plateau:1'],
  ['lrSchedule', lrSchedule, 'plateau:0.5:0'],
  ['lrSchedule', lrSchedule, 'plateau:0.5:1.5'],
  ['lrSchedule', lrSchedule, 'plateau:0.5:1:3'],
  ['lrSchedule', lrSchedule, 'exponential:'],
  ['lrSchedule', lrSchedule, 'exponential:2'],
  ['lrSchedule', lrSchedule, 'cosine:0.1'],
  ['lrSchedule', lrSchedule, ''],
  ['monitor', monitor, 'accuracy'],
  ['cellList', cellList, ','],
  ['cellList', cellList, 'lstm,transformer'],
];
for (const [name, parse, input] of bad) {
  test(`${name}(${JSON.stringify(input)}) is rejected`, () => assert.throws(() => parse(input), InvalidArgumentError));
}
