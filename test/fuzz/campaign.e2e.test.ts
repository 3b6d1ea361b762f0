/**
 * CI's short pass of the fuzz campaign (test/fuzz/main.ts; `npm run fuzz` runs the long one): every target, a
 * fixed seed and a fixed number of cases, so each run makes the same cases; every case is judged as in the
 * long run (exit code, stack trace, hang, memory, writes outside the case's folder), and a finding fails the
 * test with the command that reproduces it. Also: the judge itself flags what it must.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers.js';
import { judge, parseArgs, runCampaign, signature, TARGET_NAMES, type TargetReport } from './main.js';

/** Cases per target: about 1.5 minutes in all on two cores, including the seed corpus (a short training); `npm run fuzz` runs the long campaign. */
const CASES = 6;
const SEED = 20261206;

let out = '';
let reports: TargetReport[] = [];
const log: string[] = [];

before(async () => {
  out = await tempDir('rnn-fuzz-ci-');
  const args = parseArgs(['--cases', String(CASES), '--time', '120', '--seed', String(SEED), '--cli-every', '3', '--out', out]);
  reports = await runCampaign(args, (s) => log.push(s));
});

after(() => fsp.rm(out, { recursive: true, force: true }));

test('the judge flags an exit other than 0 or 1, a stack trace and a bug report, and passes a clear error', () => {
  const r = (code: number, stderr: string) => ({ code, stdout: '', stderr, ms: 1 });
  assert.equal(judge(r(1, 'error: data/x.csv does not exist. Pass --data with a CSV file\n')), undefined);
  assert.equal(judge(r(0, '')), undefined);
  assert.equal(judge(r(134, 'Aborted'))?.kind, 'exit 134');
  assert.equal(judge(r(1, 'TypeError: x is undefined\n    at read (file:///a/b.js:1:2)\n'))?.kind, 'stack trace');
  assert.equal(judge(r(1, 'error: boom. This is a bug in rnn: rerun with --debug and report the output\n'))?.kind, 'bug');
});

for (const name of TARGET_NAMES) {
  test(`fuzz ${name}: ${CASES} cases (seed ${SEED}), no finding`, () => {
    const report = reports.find((r) => r.target === name);
    assert.ok(report, `no report for ${name}:\n${log.join('\n')}`);
    assert.equal(report.cases, CASES);
    assert.ok(name === 'http' || report.cliCases >= 1, 'some cases ran again as the real bin/rnn');
    const found = report.findings.map(
      (f) => `${signature(f)} (${f.seen}): npm run fuzz -- --target ${name} --seed ${SEED} --case ${f.caseNo}`,
    );
    assert.deepEqual(found, [], `${path.join(out, 'findings')}\n${log.join('\n')}`);
  });
}
