/** The one place numbers are written: every command's tables and reports go through these. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytes, count, decimal, duration, learningRate, MISSING, percent, signed } from '../../src/cli/format.js';

const cases: Array<[string, string, string]> = [
  ['percent(0.88234)', percent(0.88234), '88.2%'],
  ['percent(0.88234, 2)', percent(0.88234, 2), '88.23%'],
  ['percent(null)', percent(null), MISSING],
  ['percent(undefined)', percent(undefined), MISSING],
  ['percent(NaN)', percent(Number.NaN), MISSING],
  ['decimal(0.87123, 3)', decimal(0.87123, 3), '0.871'],
  ['decimal(NaN, 4)', decimal(Number.NaN, 4), MISSING],
  ['count(1029441)', count(1029441), '1,029,441'],
  ['duration(12.4)', duration(12.4), '12s'],
  ['duration(80.4)', duration(80.4), '1m20s'],
  ['duration(3725)', duration(3725), '1h02m'],
  ['duration(Infinity)', duration(Infinity), '?'],
  ['bytes(12345)', bytes(12345), '12,345 B'],
  ['bytes(4_469_012)', bytes(4_469_012), '4.5 MB'],
  ['signed(0.8)', signed(0.8), '+0.80'],
  ['signed(-2)', signed(-2), '−2.00'],
  ['learningRate(0.00025000000000000006)', learningRate(0.00025000000000000006), '0.00025'],
];
for (const [name, got, want] of cases) test(`format: ${name} = ${want}`, () => assert.equal(got, want));
