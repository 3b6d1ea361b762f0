/** Option parsers: accepted values and what they become; rejected values (messages are in errors.test.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from 'commander';
import { cellList, lrSchedule, milliseconds, monitor, positiveMilliseconds } from '../../src/cli/options.js';

const ok: Array<[string, (v: string) => unknown, string, unknown]> = [
  ['lrSchedule', lrSchedule, 'constant', { kind: 'constant' }],
  ['lrSchedule', lrSchedule, 'plateau', { kind: 'plateau', factor: 0.5, patience: 1, minLr: 1e-6 }],
  ['lrSchedule', lrSchedule, 'plateau:0.2', { kind: 'plateau', factor: 0.2, patience: 1, minLr: 1e-6 }],
  ['lrSchedule', lrSchedule, 'Plateau:0.2:3', { kind: 'plateau', factor: 0.2, patience: 3, minLr: 1e-6 }],
  ['lrSchedule', lrSchedule, 'exponential', { kind: 'exponential', gamma: 0.5 }],
  ['lrSchedule', lrSchedule, 'exponential:0.9', { kind: 'exponential', gamma: 0.9 }],
  ['lrSchedule', lrSchedule, 'cosine', { kind: 'cosine', minLr: 0 }],
  ['lrSchedule', lrSchedule, 'slanted', { kind: 'slanted', cutFrac: 0.1, ratio: 32 }],
  ['lrSchedule', lrSchedule, 'slanted:0.2:10', { kind: 'slanted', cutFrac: 0.2, ratio: 10 }],
  ['monitor', monitor, 'val_loss', 'val_loss'],
  ['cellList', cellList, 'lstm', ['lstm']],
  ['cellList', cellList, 'GRU, simplernn,gru', ['gru', 'simplernn']],
  ['milliseconds', milliseconds, '0', 0],
  ['milliseconds', milliseconds, '2147483647', 2147483647],
  ['positiveMilliseconds', positiveMilliseconds, '10000', 10000],
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
  ['lrSchedule', lrSchedule, 'slanted:1'],
  ['lrSchedule', lrSchedule, 'slanted:0.1:0.5'],
  ['lrSchedule', lrSchedule, 'slanted:0.1:32:1'],
  ['lrSchedule', lrSchedule, ''],
  ['monitor', monitor, 'accuracy'],
  ['cellList', cellList, ','],
  ['cellList', cellList, 'lstm,transformer'],
  // Beyond 2³¹ − 1 ms a Node timer fires at once (TimeoutOverflowWarning): rnn serve's --timeout would answer every request 503.
  ['milliseconds', milliseconds, '2147483648'],
  ['milliseconds', milliseconds, '-1'],
  ['positiveMilliseconds', positiveMilliseconds, '0'],
  ['positiveMilliseconds', positiveMilliseconds, '3000000000'],
];
for (const [name, parse, input] of bad) {
  test(`${name}(${JSON.stringify(input)}) is rejected`, () => assert.throws(() => parse(input), InvalidArgumentError));
}
