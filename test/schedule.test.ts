/** The runner's order: the longest recorded files first, so the workers finish together (test/schedule.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { longestFirst, recordTimings, timingKey, type Timings } from './schedule.js';
import { ROOT } from './helpers.js';

const D = path.join('/r', 'dist', 'test');
const f = (key: string): string => path.join(D, `${key}.js`);

test('files start longest first; a file with no record starts before every recorded one; ties go by path', () => {
  const timings: Timings = { 'a.test': 3, 'cli/b.e2e.test': 90, 'c.test': 3, 'd.test': 0.2 };
  const files = ['a.test', 'c.test', 'd.test', 'new.test', 'cli/b.e2e.test'].map(f);
  assert.deepEqual(
    longestFirst(D, files, timings).map((x) => timingKey(D, x)),
    ['new.test', 'cli/b.e2e.test', 'a.test', 'c.test', 'd.test'],
  );
});

test("a run's seconds replace the record of its files, to 0.1 s; other files keep theirs, removed ones lose it; keys sorted", () => {
  const files = ['a.test', 'm/n.test', 'z.test'].map(f);
  const previous = { 'z.test': 5, 'a.test': 1, 'gone.test': 9 };
  const next = recordTimings(
    D,
    files,
    previous,
    new Map([
      [f('a.test'), 2.345],
      [f('m/n.test'), 0.04],
    ]),
  );
  assert.deepEqual(Object.entries(next), [
    ['a.test', 2.3],
    ['m/n.test', 0],
    ['z.test', 5],
  ]);
});

test('the committed record names only test files that exist', () => {
  const timings = JSON.parse(readFileSync(path.join(ROOT, 'test', 'timings.json'), 'utf8')) as Timings;
  const dist = path.join(ROOT, 'dist', 'test');
  const missing = Object.keys(timings).filter((k) => {
    try {
      readFileSync(path.join(dist, `${k}.js`));
      return false;
    } catch {
      return true;
    }
  });
  assert.deepEqual(missing, [], 'rerun `node dist/test/run.js --record` after renaming or removing a test file');
  assert.ok(Object.keys(timings).length > 50);
});
