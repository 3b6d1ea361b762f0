/**
 * The decoded-review cache (src/data/review-cache.ts): a second read of an archive comes from the cache and
 * equals the archive's reviews; an entry that is damaged, another archive's or a changed archive's is a miss
 * (and written again); a cache directory that cannot be written costs only the cache; two archives are kept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp, statSync } from 'node:fs';
import * as path from 'node:path';
import { readImdbTarballCached, readerVersion, CACHED_ARCHIVES } from '../../src/data/review-cache.js';
import { readImdbTarball } from '../../src/data/imdb.js';
import { loadData } from '../../src/data/index.js';
import { IMDB_TARBALL, imdb, imdbSha256, tempDir } from '../helpers.js';
import { makeTarGz, type TarEntry } from '../tar-helpers.js';

/** A small aclImdb archive: two reviews per label in each split, and two unlabeled ones; `tag` varies the texts. */
function archive(tag: string): Buffer {
  const e: TarEntry[] = [];
  for (const split of ['train', 'test'])
    for (const [label, rating] of [
      ['pos', 9],
      ['neg', 2],
    ] as const)
      for (const n of [0, 1])
        e.push({ path: `aclImdb/${split}/${label}/${n}_${rating}.txt`, body: `${tag} ${split} ${label} ${n}<br />end` });
  e.push(
    { path: 'aclImdb/train/unsup/1_0.txt', body: `${tag} unlabeled one` },
    { path: 'aclImdb/train/unsup/0_0.txt', body: `${tag} zero` },
  );
  return makeTarGz(e);
}

async function written(tag: string): Promise<{ file: string; cache: string; dir: string }> {
  const dir = await tempDir('rnn-review-cache-');
  const file = path.join(dir, 'aclImdb_v1.tar.gz');
  await fsp.writeFile(file, archive(tag));
  return { file, cache: path.join(dir, 'cache'), dir };
}

const entries = async (cache: string) => (await fsp.readdir(cache)).sort();
const withoutFlag = <T extends { fromCache: boolean }>({ fromCache: _f, ...r }: T) => r;

test('the real archive: the second read comes from the cache, the reviews, SHA-256 and size of the archive', async () => {
  const cache = path.join(await tempDir('rnn-review-cache-'), 'cache');
  const first = await readImdbTarballCached(IMDB_TARBALL, ['test'], {}, cache);
  assert.equal(first.fromCache, false);
  assert.deepEqual(await entries(cache), [`${first.sha256}-${readerVersion()}.test.v8`]);
  const second = await readImdbTarballCached(IMDB_TARBALL, ['test'], {}, cache);
  assert.equal(second.fromCache, true);
  assert.equal(second.sha256, await imdbSha256());
  assert.equal(second.bytes, statSync(IMDB_TARBALL).size);
  assert.deepEqual(second.train, []);
  assert.equal(second.test.length, 25_000);
  assert.deepEqual(second.test, (await imdb()).test, "the tests' own decoding of the archive");
  assert.deepEqual(withoutFlag(second), withoutFlag(first));
});

test('each split and the unlabeled texts are entries of their own; a read needing one not cached reads the archive', async () => {
  const { file, cache } = await written('a');
  const want = await readImdbTarball(file, ['train', 'test'], { unsup: true });
  assert.equal((await readImdbTarballCached(file, ['train'], {}, cache)).fromCache, false);
  const both = await readImdbTarballCached(file, ['train', 'test'], { unsup: true }, cache);
  assert.equal(both.fromCache, false, 'test and unsup were not cached yet');
  const again = await readImdbTarballCached(file, ['train', 'test'], { unsup: true }, cache);
  assert.equal(again.fromCache, true);
  assert.deepEqual(withoutFlag(again), want);
  assert.deepEqual(again.unsup, ['a zero', 'a unlabeled one'], 'in file-number order');
  const test1 = await readImdbTarballCached(file, ['test'], {}, cache);
  assert.equal(test1.fromCache, true);
  assert.deepEqual(test1.train, []);
  assert.equal('unsup' in test1, false, 'no unlabeled texts unless asked for');
  assert.equal((await entries(cache)).length, 3);
});

test('a damaged entry, or one holding another archive, is a miss and is written again', async () => {
  const a = await written('a');
  const b = await written('b');
  const ra = await readImdbTarballCached(a.file, ['train'], {}, a.cache);
  const rb = await readImdbTarballCached(b.file, ['train'], {}, a.cache);
  const [nameA] = (await entries(a.cache)).filter((n) => n.startsWith(ra.sha256));
  const [nameB] = (await entries(a.cache)).filter((n) => n.startsWith(rb.sha256));
  // B's entry under A's name: its reviews must not be taken for A's.
  await fsp.copyFile(path.join(a.cache, nameB!), path.join(a.cache, nameA!));
  const swapped = await readImdbTarballCached(a.file, ['train'], {}, a.cache);
  assert.equal(swapped.fromCache, false);
  assert.deepEqual(swapped.train, ra.train);
  assert.equal((await readImdbTarballCached(a.file, ['train'], {}, a.cache)).fromCache, true, 'written again');
  for (const damage of [Buffer.from('not a v8 value'), (await fsp.readFile(path.join(a.cache, nameA!))).subarray(0, 100)]) {
    await fsp.writeFile(path.join(a.cache, nameA!), damage);
    const r = await readImdbTarballCached(a.file, ['train'], {}, a.cache);
    assert.equal(r.fromCache, false);
    assert.deepEqual(r.train, ra.train);
  }
});

test('an archive changed in place is read again, not taken from the entries of what it was', async () => {
  const { file, cache } = await written('old');
  await readImdbTarballCached(file, ['train'], {}, cache);
  await fsp.writeFile(file, archive('new'));
  const r = await readImdbTarballCached(file, ['train'], {}, cache);
  assert.equal(r.fromCache, false);
  assert.match(r.train[0]!.text, /^new /);
});

test('a cache directory that cannot be written: the reviews all the same, nothing thrown', async () => {
  const { file, dir } = await written('a');
  const blocked = path.join(dir, 'a-file');
  await fsp.writeFile(blocked, '');
  const r = await readImdbTarballCached(file, ['train'], {}, path.join(blocked, 'cache'));
  assert.equal(r.fromCache, false);
  assert.deepEqual(withoutFlag(r), await readImdbTarball(file, ['train'], {}));
});

test(`the cache keeps the entries of the ${CACHED_ARCHIVES} archives written last`, async () => {
  const cache = path.join(await tempDir('rnn-review-cache-'), 'cache');
  const shas: string[] = [];
  for (const tag of ['a', 'b', 'c']) {
    const { file } = await written(tag);
    const r = await readImdbTarballCached(file, ['train', 'test'], {}, cache);
    shas.push(r.sha256);
    // Distinct modification times, whatever the file system's resolution.
    const t = new Date(Date.now() - (3 - shas.length) * 60_000);
    for (const n of await entries(cache)) if (n.startsWith(r.sha256)) await fsp.utimes(path.join(cache, n), t, t);
  }
  const kept = new Set((await entries(cache)).map((n) => n.slice(0, 64)));
  assert.deepEqual([...kept].sort(), shas.slice(1).sort());
  assert.equal((await entries(cache)).length, 4, 'two splits of each');
});

test('loadData with reviewCache: the same data either way, and a step line saying where it came from', async () => {
  const { file, cache, dir } = await written('a');
  const steps: string[] = [];
  const opts = {
    data: file,
    defaultSource: 'unused',
    splits: ['train', 'test'] as const,
    dataDir: dir,
    reviewCache: cache,
    target: 'rating' as const,
  };
  const first = await loadData({ ...opts, onStep: (s) => steps.push(s) });
  assert.equal(
    steps.some((s) => s.includes('decoded before')),
    false,
    steps.join('\n'),
  );
  const second = await loadData({ ...opts, onStep: (s) => steps.push(s) });
  assert.ok(steps.includes(`its reviews decoded before, from ${cache}`), steps.join('\n'));
  assert.deepEqual(second, first);
  assert.deepEqual(second, await loadData({ ...opts, reviewCache: undefined }));
  assert.deepEqual(
    second.train.map((r) => r.label),
    [1, 1, 6, 6],
    'rating labels from the cached ids: 2 and 9, classes 1 and 6 of 1-4, 7-10',
  );
});
