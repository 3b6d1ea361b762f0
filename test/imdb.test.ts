/**
 * How the tests find the IMDB archive (test/imdb.ts): RNN_TEST_IMDB, the copy beside the checkout, or the
 * official archive fetched once into rnn's download cache; and the runner's one line when there is none.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { findTestImdb, KNOWN_IMDB, TestImdbError } from './imdb.js';
import { escapeRegExp, IMDB_TARBALL, imdbSha256, ROOT, tempDir } from './helpers.js';
import { makeTarGz } from './tar-helpers.js';

const FIX =
  /\. Set RNN_TEST_IMDB to a copy of aclImdb_v1\.tar\.gz \(the official archive, https:\/\/ai\.stanford\.edu\/~amaas\/data\/sentiment\/\), or run `npm test` once with internet access to fetch it into the download cache$/;

// A stand-in for the official archive on a loopback server, pinned by its own size and SHA-256.
const ARCHIVE = makeTarGz([{ path: 'aclImdb/train/pos/0_9.txt', body: 'a fine film' }]);
const PIN = { bytes: ARCHIVE.length, sha256: createHash('sha256').update(ARCHIVE).digest('hex') };
let server: Server;
let url = '';
let hits = 0;
before(async () => {
  server = createServer((_req, res) => {
    hits++;
    res.writeHead(200, { 'content-length': String(ARCHIVE.length) });
    res.end(ARCHIVE);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/aclImdb_v1.tar.gz`;
});
after(() => server.close());

async function rejects(p: Promise<unknown>, what: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof TestImdbError, String(e));
    assert.match(e.message, what);
    assert.match(e.message, FIX);
    return true;
  });
}

test('the archive this run reads is one of the two known files, by SHA-256', async () => {
  const sha = await imdbSha256();
  assert.ok(KNOWN_IMDB.has(sha), sha);
  assert.equal((await fsp.stat(IMDB_TARBALL)).size, KNOWN_IMDB.get(sha)!.bytes);
});

test('RNN_TEST_IMDB wins, and must be a known archive', async () => {
  const dir = await tempDir();
  const found = await findTestImdb({ variable: IMDB_TARBALL, shared: path.join(dir, 'none'), dataDir: dir });
  assert.deepEqual(found, { file: IMDB_TARBALL, sha256: await imdbSha256(), from: 'RNN_TEST_IMDB' });
  await rejects(
    findTestImdb({ variable: path.join(dir, 'nope.tar.gz'), shared: IMDB_TARBALL, dataDir: dir }),
    /^RNN_TEST_IMDB=.*nope\.tar\.gz does not exist/,
  );
  const other = path.join(dir, 'other.tar.gz');
  await fsp.writeFile(other, ARCHIVE);
  await rejects(
    findTestImdb({ variable: other, shared: IMDB_TARBALL, dataDir: dir }),
    new RegExp(`^RNN_TEST_IMDB=${escapeRegExp(other)} is not aclImdb_v1\\.tar\\.gz \\(its SHA-256 is ${PIN.sha256}\\)`),
  );
});

test('without the variable: the copy beside the checkout, else one download into the cache, reused after', async () => {
  const dir = await tempDir();
  const beside = await findTestImdb({ shared: IMDB_TARBALL, dataDir: dir, download: { url, ...PIN } });
  assert.equal(beside.from, 'beside the checkout');
  assert.equal(hits, 0);
  const opts = { shared: path.join(dir, 'none'), dataDir: path.join(dir, 'data'), download: { url, ...PIN } };
  const first = await findTestImdb(opts);
  assert.deepEqual(first, { file: path.join(dir, 'data', 'aclImdb_v1.tar.gz'), sha256: PIN.sha256, from: 'downloaded' });
  const second = await findTestImdb(opts);
  assert.equal(second.from, 'download cache');
  assert.equal(hits, 1, 'fetched once');
  // `rnn train` finds it where it caches its own download (the file and its record).
  assert.deepEqual((await fsp.readdir(path.join(dir, 'data'))).sort(), ['aclImdb_v1.tar.gz', 'aclImdb_v1.tar.gz.source.json']);
});

test('offline with no copy: one line saying what to set', async () => {
  const dir = await tempDir();
  // A port nothing listens on: one a server just gave back.
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const a = closed.address();
  await new Promise((r) => closed.close(r));
  const offline = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/aclImdb_v1.tar.gz`;
  await rejects(
    findTestImdb({ shared: path.join(dir, 'none'), dataDir: dir, download: { url: offline, ...PIN } }),
    new RegExp(
      `^the tests need the IMDB archive, and there is no copy on this machine: could not download ${escapeRegExp(offline)}: ECONNREFUSED`,
    ),
  );
  assert.deepEqual(await fsp.readdir(dir), [], 'nothing is left behind');
});

test('the runner says so before any test runs, in one line, and exits 1', () => {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'test', 'run.js'), '--lane', 'unit'], {
    cwd: ROOT,
    env: { ...process.env, RNN_TEST_IMDB: '/nonexistent/aclImdb_v1.tar.gz' },
    encoding: 'utf8',
  });
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^error: RNN_TEST_IMDB=\/nonexistent\/aclImdb_v1\.tar\.gz does not exist\. Set RNN_TEST_IMDB to [^\n]*\n$/);
});
