/**
 * The aclImdb readers on what is not a review file: regressions of the fuzz campaign (test/fuzz). A review
 * name on a folder ("EISDIR … This is a bug in rnn"), a link to a device that never ends, a pipe nobody
 * writes to, a link loop, or a file of gigabytes (sparse, or a tarball entry that inflates to them: memory
 * past 1 GB) — each is now a one-line UserError, read without filling memory.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as tar from 'tar';
import { readImdbDir, readImdbTarball } from '../../src/data/imdb.js';
import { MAX_REVIEW_BYTES } from '../../src/data/types.js';
import { isUserError, type ErrorCode } from '../../src/errors.js';
import { tempDir } from '../helpers.js';

let dir = '';
before(async () => (dir = await tempDir('rnn-imdb-reader-')));
after(() => fsp.rm(dir, { recursive: true, force: true }));

/** A small aclImdb directory whose train/pos/1_9.txt is made by `bad`. */
async function imdbWith(name: string, bad: (file: string) => Promise<void>): Promise<string> {
  const root = path.join(dir, name, 'aclImdb');
  for (const [label, n] of [
    ['pos', 9],
    ['neg', 2],
  ] as const) {
    await fsp.mkdir(path.join(root, 'train', label), { recursive: true });
    await fsp.writeFile(path.join(root, 'train', label, `0_${n}.txt`), `a ${label} review`);
  }
  await bad(path.join(root, 'train', 'pos', '1_9.txt'));
  return root;
}

const rejects = async (p: Promise<unknown>, code: ErrorCode, what: RegExp) =>
  assert.rejects(p, (e: unknown) => {
    assert.ok(isUserError(e), String((e as Error)?.stack ?? e));
    assert.equal(e.code, code);
    assert.match(e.message, what);
    return true;
  });

const odd: Array<{ name: string; make: (f: string) => Promise<void>; code: ErrorCode; what: RegExp }> = [
  { name: 'a folder (fuzz finding: EISDIR)', make: (f) => fsp.mkdir(f), code: 'DATA_UNREADABLE', what: /1_9\.txt: it is a directory$/ },
  { name: 'a link to /dev/zero', make: (f) => fsp.symlink('/dev/zero', f), code: 'DATA_UNREADABLE', what: /not a regular file/ },
  {
    name: 'a pipe nobody writes to',
    make: async (f) => void execFileSync('mkfifo', [f]),
    code: 'DATA_UNREADABLE',
    what: /not a regular file/,
  },
  { name: 'a link to itself', make: (f) => fsp.symlink(f, f), code: 'DATA_UNREADABLE', what: /it is a link that loops$/ },
  { name: 'a link to nothing', make: (f) => fsp.symlink('/nonexistent', f), code: 'DATA_UNREADABLE', what: /it is a link to nothing$/ },
  {
    name: 'a sparse file of 3 GB (fuzz finding: memory past 1 GB)',
    make: async (f) => {
      await fsp.writeFile(f, '');
      await fsp.truncate(f, 3 * 2 ** 30);
    },
    code: 'DATA_REVIEW_TOO_LARGE',
    what: /is 3,221,225,472 bytes, more than the 16,777,216 a review may have$/,
  },
];
for (const c of odd) {
  test(`an aclImdb directory whose review is ${c.name} is ${c.code}`, async () => {
    const root = await imdbWith(c.name.replace(/\W+/g, '-'), c.make);
    await rejects(readImdbDir(root, ['train']), c.code, c.what);
  });
}

test('a link to a regular review file is read like the file', async () => {
  const root = await imdbWith('link', async (f) => {
    await fsp.writeFile(`${f}.real`, 'linked review');
    await fsp.symlink(`${f}.real`, f);
  });
  const r = await readImdbDir(root, ['train']);
  assert.ok(r.train.some((x) => x.text === 'linked review'));
});

test('a tarball entry larger than a review may be is DATA_REVIEW_TOO_LARGE before it is read into memory', async () => {
  const src = await imdbWith('big-entry', async (f) => {
    await fsp.writeFile(f, '');
    await fsp.truncate(f, MAX_REVIEW_BYTES + 1);
  });
  const file = path.join(dir, 'big.tar.gz');
  await tar.create({ gzip: true, file, cwd: path.dirname(src), portable: true }, ['aclImdb']);
  await rejects(readImdbTarball(file, ['train']), 'DATA_REVIEW_TOO_LARGE', /entry aclImdb\/train\/pos\/1_9\.txt is 16,777,217 bytes/);
});
