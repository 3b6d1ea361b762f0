/** The error-code registry: docs/errors.md lists exactly its codes, each is thrown somewhere in src/, and a UserError renders as one line or as JSON. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ERROR_CODES, UserError, type ErrorCode } from '../src/errors.js';
import { ROOT } from './helpers.js';

const codes = Object.keys(ERROR_CODES) as ErrorCode[];

test('docs/errors.md lists exactly the codes of ERROR_CODES, each once', () => {
  const doc = readFileSync(path.join(ROOT, 'docs', 'errors.md'), 'utf8');
  const listed = [...doc.matchAll(/^\| `([A-Z][A-Z0-9_]*)` +\|/gm)].map((m) => m[1]!);
  assert.deepEqual(
    listed.filter((c, i) => listed.indexOf(c) !== i),
    [],
    'listed twice',
  );
  assert.deepEqual([...listed].sort(), [...codes].sort());
});

test('every code is used somewhere in src/ (the registry cannot hold a code nothing throws)', () => {
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
    );
  const src = files(path.join(ROOT, 'src'))
    .filter((f) => f !== path.join(ROOT, 'src', 'errors.ts'))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
  assert.deepEqual(
    codes.filter((c) => !src.includes(`'${c}'`)),
    [],
  );
});

test('codes are UPPER_SNAKE_CASE with a one-line meaning', () => {
  for (const c of codes) {
    assert.match(c, /^[A-Z]+(_[A-Z0-9]+)*$/);
    assert.match(ERROR_CODES[c], /^[^\n]{10,}$/, c);
  }
});

test('a UserError is one line for people and {code, message, fix} for scripts', () => {
  const e = new UserError('DATA_NOT_FOUND', 'x.csv does not exist.', 'Check the path given to --data', { cause: new Error('ENOENT') });
  assert.equal(e.code, 'DATA_NOT_FOUND');
  assert.equal(e.line, 'x.csv does not exist. Check the path given to --data');
  assert.deepEqual(e.toJSON(), { code: 'DATA_NOT_FOUND', message: 'x.csv does not exist', fix: 'Check the path given to --data' });
  assert.equal(
    JSON.stringify({ error: e }),
    '{"error":{"code":"DATA_NOT_FOUND","message":"x.csv does not exist","fix":"Check the path given to --data"}}',
  );
});
