/**
 * eval.json, the last `rnn eval` of a model, read back by `rnn info`, `rnn list`, `rnn export --web` and `rnn serve`:
 * a record rnn wrote (binary or k-class, and an older one without `data.scope`) reads back as written; anything
 * else is one MODEL_EVAL_INVALID naming the file and the field (the fuzz campaign's `eval` target mutates it),
 * which `rnn serve` takes as no evaluation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { readEvalRecord, writeEvalRecord, type EvalRecord } from '../../src/io/catalog.js';
import { computeMetrics } from '../../src/eval/metrics.js';
import { computeClassMetrics } from '../../src/eval/classes.js';
import { UserError } from '../../src/errors.js';
import { escapeRegExp, tempDir } from '../helpers.js';

const binary: EvalRecord = {
  evaluatedAt: '2026-12-06T10:00:00.000Z',
  data: { path: '/data/aclImdb', reviews: 6, scope: 'test split' },
  metrics: computeMetrics([0.9, 0.2, 0.7, 0.4, 0.1, 0.8], [1, 0, 1, 1, 0, 0]),
  samplesPerSec: 1234.5,
};

function invalid(pattern: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof UserError, String(e));
    assert.equal(e.code, 'MODEL_EVAL_INVALID');
    assert.match(e.line, pattern);
    return true;
  };
}

test('an eval.json rnn wrote reads back as written: binary, k-class, and an older one without data.scope; none: undefined', async (t) => {
  const dir = await tempDir('rnn-eval-');
  t.after(() => fsp.rm(dir, { recursive: true, force: true }));
  assert.equal(await readEvalRecord(dir), undefined);
  await writeEvalRecord(dir, binary);
  assert.deepEqual(await readEvalRecord(dir), binary);
  const classes: EvalRecord = {
    ...binary,
    data: { path: 'three.csv', reviews: 4, scope: 'held-out rows' },
    metrics: computeClassMetrics([0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.2, 0.2, 0.6, 0.5, 0.3, 0.2], [0, 1, 2, 1], {
      names: ['1', '2', '3'],
      numeric: true,
    }),
  };
  await writeEvalRecord(dir, classes);
  assert.deepEqual(await readEvalRecord(dir), classes);
  const older = { ...binary, data: { path: '/data/aclImdb', reviews: 6 } };
  await writeEvalRecord(dir, older);
  assert.deepEqual(await readEvalRecord(dir), older);
  // One class only: ROC-AUC is NaN, which JSON writes as null.
  const oneClass = { ...binary, metrics: computeMetrics([0.9, 0.2], [1, 1]) };
  await writeEvalRecord(dir, oneClass);
  assert.equal(((await readEvalRecord(dir))!.metrics as { rocAuc: number | null }).rocAuc, null);
});

test('a broken eval.json is MODEL_EVAL_INVALID naming the file and the field', async (t) => {
  const dir = await tempDir('rnn-eval-');
  t.after(() => fsp.rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'eval.json');
  const fix = `Run \`rnn eval --model ${dir}\` again to rewrite it, or delete it`;
  const write = (v: unknown) => fsp.writeFile(file, typeof v === 'string' ? v : JSON.stringify(v));

  await write('{"evaluatedAt": ');
  await assert.rejects(readEvalRecord(dir), invalid(/eval\.json is not valid JSON/));
  await write({ ...binary, evaluatedAt: ['2026'] });
  await assert.rejects(
    readEvalRecord(dir),
    invalid(new RegExp(`^${escapeRegExp(file)} is not an evaluation rnn eval wrote: evaluatedAt .+\\. ${escapeRegExp(fix)}$`)),
  );
  await write({ ...binary, data: { path: 'x', reviews: 'six' } });
  await assert.rejects(readEvalRecord(dir), invalid(/wrote: data\.reviews /));
  await write({ ...binary, metrics: { ...binary.metrics, accuracy: '87%' } });
  await assert.rejects(readEvalRecord(dir), invalid(/wrote: metrics/));
  await write([1, 2]);
  await assert.rejects(readEvalRecord(dir), invalid(/wrote: the whole file/));
  await fsp.rm(file);
  await fsp.mkdir(file);
  await assert.rejects(readEvalRecord(dir), invalid(/eval\.json is a directory/));
  await fsp.rmdir(file);
  await fsp.symlink('/dev/zero', file);
  await assert.rejects(readEvalRecord(dir), invalid(/eval\.json is not a regular file/));
});
