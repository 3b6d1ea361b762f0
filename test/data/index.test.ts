import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createReadStream, promises as fsp, statSync } from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { loadData, cleanReview, OFFICIAL_IMDB, BINARY_LABELS, IMDB_RATING_LABELS, labelCounts } from '../../src/data/index.js';
import { imdbRating } from '../../src/data/imdb.js';
import { readCsv, parseLabel, recordDelimiterOf } from '../../src/data/csv.js';
import { UserError, type ErrorCode } from '../../src/errors.js';
import { escapeRegExp, IMDB_TARBALL, imdb, imdbSha256, ROOT, tempDir } from '../helpers.js';
import { writeThreeClassCsv } from '../three-class.js';
import { makeTarGz, type TarEntry } from '../tar-helpers.js';
import { download } from '../../src/data/download.js';

async function rejectsWith(p: Promise<unknown>, code: ErrorCode, what: string | RegExp, fix?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (typeof what === 'string') assert.equal(e.message, what);
    else assert.match(e.message, what);
    if (fix) assert.match(e.fix, fix);
    return true;
  });
}

test('the aclImdb tarball gives 25,000 + 25,000 balanced reviews, <br /> removed, in a fixed order', async () => {
  const d = await loadData({ data: IMDB_TARBALL, defaultSource: 'unused', splits: ['train', 'test'], dataDir: await tempDir() });
  assert.equal(d.source.kind, 'tarball');
  assert.equal(d.source.sha256, await imdbSha256());
  for (const split of [d.train, d.test]) {
    assert.equal(split.length, 25000);
    assert.equal(split.filter((r) => r.label === 1).length, 12500);
  }
  assert.equal(d.train[0]!.id, 'train/neg/0_3.txt');
  assert.equal(d.train[12500]!.id, 'train/pos/0_9.txt');
  assert.ok(d.train.every((r) => !/<br\s*\/?>/i.test(r.text)));
});

test('an extracted aclImdb directory reads the same reviews as the tarball', async () => {
  const dir = await tempDir();
  // Extract two small folders with the system tar (test setup only), then read them as a directory.
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync('tar', ['xzf', IMDB_TARBALL, '-C', dir, '--wildcards', 'aclImdb/test/pos/1*_*.txt', 'aclImdb/test/neg/1*_*.txt']);
  assert.equal(r.status, 0, String(r.stderr));
  const fromDir = await loadData({ data: dir, defaultSource: 'unused', splits: ['test'], dataDir: dir });
  const fromTar = await loadData({ data: IMDB_TARBALL, defaultSource: 'unused', splits: ['test'], dataDir: dir });
  const subset = fromTar.test.filter((x) => /\/1\d*_\d+\.txt$/.test(x.id));
  assert.equal(fromDir.source.kind, 'dir');
  assert.deepEqual(fromDir.test, subset);
  await rejectsWith(
    loadData({ data: dir, defaultSource: 'unused', splits: ['train'], dataDir: dir }),
    'DATA_IMDB_INCOMPLETE',
    `${dir} has no train reviews (expected train/pos/*.txt and train/neg/*.txt)`,
  );
});

test('CSV in the Kaggle form (review,sentiment) with <br /> removed', async () => {
  const file = path.join(ROOT, 'test/fixtures/reviews.csv');
  const r = await readCsv(file);
  assert.deepEqual(
    r.reviews.map((x) => [x.text, x.label]),
    [
      ['A warm, funny film.  I loved it.', 1],
      ['Dull and far too long, with wooden acting.', 0],
      ['Brilliant cast, and a script that sparkles!', 1],
    ],
  );
});

const labelCases: Array<[string, 0 | 1 | undefined]> = [
  ['positive', 1],
  ['Negative', 0],
  ['pos', 1],
  ['NEG', 0],
  ['1', 1],
  ['0', 0],
  [' positive ', 1],
  ['maybe', undefined],
  ['', undefined],
];
for (const [v, want] of labelCases) test(`CSV label ${JSON.stringify(v)} → ${want}`, () => assert.equal(parseLabel(v), want));

const csvErrors: Array<{
  name: string;
  body: string;
  opts?: { textColumn?: string; labelColumn?: string; labels?: string[] };
  code: ErrorCode;
  what: (f: string) => string;
  fix: RegExp;
}> = [
  {
    name: 'no text column',
    body: 'body,sentiment\nx,positive\n',
    code: 'DATA_CSV_COLUMN_MISSING',
    what: (f) => `${f} has no text column (looked for review, text, sentence, content; columns: body, sentiment)`,
    fix: /^Pass --text-column/,
  },
  {
    name: 'a renamed label column',
    body: 'review,stars\nx,positive\n',
    code: 'DATA_CSV_COLUMN_MISSING',
    what: (f) => `${f} has no label column (looked for sentiment, label, polarity, target; columns: review, stars)`,
    fix: /^Pass --label-column/,
  },
  {
    name: 'a named column that is missing',
    body: 'review,sentiment\nx,positive\n',
    opts: { textColumn: 'body' },
    code: 'DATA_CSV_COLUMN_MISSING',
    what: (f) => `${f} has no column "body" (columns: review, sentiment)`,
    fix: /^Pass --text-column/,
  },
  {
    name: 'a label --labels does not name',
    body: 'review,sentiment\nx,positive\ny,meh\n',
    opts: { labels: ['negative', 'positive'] },
    code: 'DATA_CSV_LABEL_INVALID',
    what: (f) => `${f} row 3: label "meh" is not one of --labels negative,positive`,
    fix: /^Add it to --labels/,
  },
  {
    name: 'an empty label',
    body: 'review,sentiment\nx,positive\ny, \n',
    code: 'DATA_CSV_LABEL_INVALID',
    what: (f) => `${f} row 3: the label is empty`,
    fix: /^Give every row a label/,
  },
  {
    name: 'only a header',
    body: 'review,sentiment\n',
    code: 'DATA_EMPTY',
    what: (f) => `${f} has no reviews`,
    fix: /^Use a CSV with a header row/,
  },
];
for (const c of csvErrors) {
  test(`CSV with ${c.name} is a clear error`, async () => {
    const f = path.join(await tempDir(), 'x.csv');
    await fsp.writeFile(f, c.body);
    await rejectsWith(readCsv(f, c.opts), c.code, c.what(f), c.fix);
  });
}

test("CSV line endings: LF, CRLF and CR files read alike; the file's first ending is its ending, as csv-parse detects it", async () => {
  const dir = await tempDir('rnn-csv-endings-');
  const rows = ['review,sentiment', '"A good film,\nin two lines",positive', 'bad,negative'];
  const want = [
    ['A good film,\nin two lines', 1],
    ['bad', 0],
  ];
  for (const [name, eol] of [
    ['lf', '\n'],
    ['crlf', '\r\n'],
    ['cr', '\r'],
  ] as const) {
    const file = path.join(dir, `${name}.csv`);
    await fsp.writeFile(file, rows.join(eol) + eol);
    assert.equal(await recordDelimiterOf(file), eol, name);
    const r = await readCsv(file);
    assert.deepEqual(
      r.reviews.map((x) => [x.text, x.label]),
      want,
      name,
    );
  }
  // A lone \r inside a \n file is part of its review, as before.
  const mixed = path.join(dir, 'mixed.csv');
  await fsp.writeFile(mixed, 'review,sentiment\ngood\rfilm,positive\nbad,negative\n');
  assert.deepEqual(
    (await readCsv(mixed)).reviews.map((x) => x.text),
    ['good\rfilm', 'bad'],
  );
  // A first line with no ending in reach (50 MB of one line) is refused quickly: no text column.
  const long = path.join(dir, 'long.csv');
  await fsp.writeFile(long, 'x'.repeat(5_000_000));
  assert.equal(await recordDelimiterOf(long), '\n');
  await assert.rejects(readCsv(long), (e: UserError) => e.code === 'DATA_CSV_COLUMN_MISSING');
});

test('CSV columns can be named; real reviews round-trip through CSV', async () => {
  const d = await loadData({ data: IMDB_TARBALL, defaultSource: 'unused', splits: ['test'], dataDir: await tempDir() });
  const rows = d.test.slice(0, 20).concat(d.test.slice(-20));
  const f = path.join(await tempDir(), 'imdb.csv');
  const q = (s: string): string => `"${s.replace(/"/g, '""')}"`;
  await fsp.writeFile(f, 'id,body,label\n' + rows.map((r, i) => `${i},${q(r.text)},${r.label}`).join('\n') + '\n');
  const got = await loadData({
    data: f,
    defaultSource: 'unused',
    splits: ['test'],
    dataDir: path.dirname(f),
    textColumn: 'body',
    labelColumn: 'label',
  });
  assert.equal(got.source.kind, 'csv');
  assert.deepEqual(
    got.test.map((r) => [r.text, r.label]),
    rows.map((r) => [r.text, r.label]),
  );
});

test('cleanReview replaces every form of <br>', () => {
  assert.equal(cleanReview('a<br />b<br/>c<BR>d'), 'a b c d');
});

const sourceErrors: Array<{ data: string; code: ErrorCode; what: string; fix: RegExp }> = [
  {
    data: '/nonexistent/imdb',
    code: 'DATA_NOT_FOUND',
    what: '/nonexistent/imdb does not exist',
    fix: /^Pass --data with an aclImdb directory/,
  },
  {
    data: path.join(ROOT, 'package.json'),
    code: 'DATA_FORMAT_UNKNOWN',
    what: `${path.join(ROOT, 'package.json')} is not a dataset rnn reads`,
    fix: /^Pass --data/,
  },
];
for (const c of sourceErrors) {
  test(`--data ${c.data} is a clear error`, async () => {
    await rejectsWith(
      loadData({ data: c.data, defaultSource: 'unused', splits: ['train'], dataDir: await tempDir() }),
      c.code,
      c.what,
      c.fix,
    );
  });
}

test('a corrupt tarball is a clear error', async () => {
  const f = path.join(await tempDir(), 'aclImdb_v1.tar.gz');
  await fsp.writeFile(f, Buffer.alloc(4096, 7));
  await rejectsWith(
    loadData({ data: f, defaultSource: 'unused', splits: ['train'], dataDir: path.dirname(f) }),
    'DATA_ARCHIVE_INVALID',
    new RegExp(`^${escapeRegExp(f)} is not a readable aclImdb tarball: `),
    /^Download aclImdb_v1\.tar\.gz again/,
  );
});

const review = (p: string, body = 'a fine film'): TarEntry => ({ path: p, body });
const unsafeArchives: Array<{ name: string; entries: TarEntry[]; what: string }> = [
  {
    name: '../ entry',
    entries: [review('aclImdb/train/pos/0_9.txt'), review('../evil.txt')],
    what: 'entry ../evil.txt has a .. path segment',
  },
  {
    name: 'nested ../ entry',
    entries: [review('aclImdb/train/../../evil.txt')],
    what: 'entry aclImdb/train/../../evil.txt has a .. path segment',
  },
  { name: 'absolute path', entries: [review('/tmp/evil.txt')], what: 'entry /tmp/evil.txt has an absolute path' },
  {
    name: 'symlink outside',
    entries: [{ path: 'aclImdb/train/pos/1_8.txt', type: 'SymbolicLink', linkpath: '../../../../etc/passwd' }],
    what: 'entry aclImdb/train/pos/1_8.txt is a link to ../../../../etc/passwd, outside the archive',
  },
  {
    name: 'absolute symlink',
    entries: [{ path: 'aclImdb/x', type: 'SymbolicLink', linkpath: '/etc/passwd' }],
    what: 'entry aclImdb/x is a link to /etc/passwd, outside the archive',
  },
  {
    name: 'hard link outside',
    entries: [{ path: 'aclImdb/h', type: 'Link', linkpath: '../secret' }],
    what: 'entry aclImdb/h is a link to ../secret, outside the archive',
  },
];
for (const c of unsafeArchives) {
  test(`a tarball with an unsafe entry (${c.name}) is rejected and nothing is written`, async () => {
    const dir = await tempDir();
    const sub = path.join(dir, 'in');
    await fsp.mkdir(sub);
    const f = path.join(sub, 'aclImdb_v1.tar.gz');
    await fsp.writeFile(f, makeTarGz(c.entries));
    await rejectsWith(
      loadData({ data: f, defaultSource: 'unused', splits: ['train'], dataDir: sub }),
      'DATA_ARCHIVE_UNSAFE',
      `${f} was rejected: ${c.what}`,
      /^Use the official aclImdb_v1\.tar\.gz; nothing was extracted$/,
    );
    assert.deepEqual(await fsp.readdir(sub), ['aclImdb_v1.tar.gz']);
    assert.deepEqual(await fsp.readdir(dir), ['in']);
  });
}

test('a link that stays inside the archive is not an error (and is not read as a review)', async () => {
  const f = path.join(await tempDir(), 'a.tar.gz');
  await fsp.writeFile(
    f,
    makeTarGz([
      review('aclImdb/train/pos/0_9.txt'),
      review('aclImdb/train/neg/0_2.txt', 'dull'),
      { path: 'aclImdb/train/pos/1_9.txt', type: 'SymbolicLink', linkpath: '0_9.txt' },
    ]),
  );
  const d = await loadData({ data: f, defaultSource: 'unused', splits: ['train'], dataDir: path.dirname(f) });
  assert.deepEqual(
    d.train.map((r) => [r.id, r.label]),
    [
      ['train/neg/0_2.txt', 0],
      ['train/pos/0_9.txt', 1],
    ],
  );
});

test('a truncated tarball is a clear error', async () => {
  const f = path.join(await tempDir(), 'aclImdb_v1.tar.gz');
  await fsp.writeFile(f, (await fsp.readFile(IMDB_TARBALL)).subarray(0, 1_000_000));
  await rejectsWith(
    loadData({ data: f, defaultSource: 'unused', splits: ['train'], dataDir: path.dirname(f) }),
    'DATA_ARCHIVE_INVALID',
    `${f} is not a readable aclImdb tarball: zlib: unexpected end of file`,
    /^Download aclImdb_v1\.tar\.gz again/,
  );
});

// A loopback HTTP server serving the real tarball, so the download path runs for real, and a small hand-made
// one that is not the official file whichever archive the tests read.
const SMALL_TARBALL = makeTarGz([review('aclImdb/train/pos/0_9.txt'), review('aclImdb/train/neg/0_2.txt', 'dull')]);
let server: Server;
let base = '';
let hits = 0;
before(async () => {
  const size = statSync(IMDB_TARBALL).size;
  server = createServer((req, res) => {
    if (req.url === '/data/aclImdb_v1.tar.gz') {
      hits++;
      res.writeHead(200, { 'content-length': String(size), 'content-type': 'application/gzip' });
      createReadStream(IMDB_TARBALL).pipe(res);
    } else if (req.url === '/short/aclImdb_v1.tar.gz') {
      res.writeHead(200, { 'content-length': String(size) });
      res.end(Buffer.alloc(1000));
    } else if (req.url === '/small/aclImdb_v1.tar.gz') {
      res.writeHead(200, { 'content-length': String(SMALL_TARBALL.length) });
      res.end(SMALL_TARBALL);
    } else if (req.url === '/forged/aclImdb_v1.tar.gz') {
      // The official size, other bytes: what a tampered mirror or a proxy's error page padded to size would be.
      hits++;
      res.writeHead(200, { 'content-length': String(OFFICIAL_IMDB.bytes) });
      res.end(Buffer.alloc(OFFICIAL_IMDB.bytes, 0x2a));
    } else if (req.url === '/loop/aclImdb_v1.tar.gz') {
      res.writeHead(302, { location: '/loop/aclImdb_v1.tar.gz' });
      res.end();
    } else {
      res.writeHead(404);
      res.end('not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});
after(() => server.close());

test('the default source (RNN_IMDB_URL) is downloaded once over HTTP, verified, cached and reused', async () => {
  const dataDir = await tempDir();
  const url = `${base}/data/aclImdb_v1.tar.gz`;
  const steps: string[] = [];
  let progressed = 0;
  const first = await loadData({
    defaultSource: url,
    splits: ['test'],
    dataDir,
    onStep: (m) => steps.push(m),
    onDownload: (got) => (progressed = got),
  });
  assert.equal(first.test.length, 25000);
  assert.equal(first.source.url, url);
  assert.equal(first.source.sha256, await imdbSha256());
  assert.equal(progressed, statSync(IMDB_TARBALL).size);
  const cached = JSON.parse(await fsp.readFile(path.join(dataDir, 'aclImdb_v1.tar.gz.source.json'), 'utf8'));
  assert.equal(cached.sha256, await imdbSha256());
  const second = await loadData({ defaultSource: url, splits: ['test'], dataDir, onStep: (m) => steps.push(m) });
  assert.equal(second.test.length, 25000);
  assert.equal(hits, 1, 'the second load uses the cache');
  assert.ok(steps.includes(`using the cached ${path.join(dataDir, 'aclImdb_v1.tar.gz')}`), steps.join('\n'));
});

const httpErrors: Array<{ path: string; code: ErrorCode; what: (u: string) => string | RegExp }> = [
  { path: '/missing/aclImdb_v1.tar.gz', code: 'DATA_DOWNLOAD_FAILED', what: (u) => `could not download ${u}: HTTP 404 Not Found` },
  {
    path: '/short/aclImdb_v1.tar.gz',
    code: 'DATA_DOWNLOAD_INCOMPLETE',
    what: (u) => new RegExp(`^download of ${escapeRegExp(u)} (is incomplete: got 1000 of \\d+ bytes|broke off after 1000 bytes: .*)$`),
  },
  {
    path: '/loop/aclImdb_v1.tar.gz',
    code: 'DATA_DOWNLOAD_FAILED',
    what: (u) => new RegExp(`^could not download ${escapeRegExp(u)}: `),
  },
];
for (const c of httpErrors) {
  test(`HTTP ${c.path.split('/')[1]} is a clear error and leaves nothing in the cache`, async () => {
    const dataDir = await tempDir();
    const url = base + c.path;
    await rejectsWith(loadData({ defaultSource: url, splits: ['train'], dataDir }), c.code, c.what(url));
    assert.deepEqual(await fsp.readdir(dataDir), []);
  });
}

test('offline with no source: one error naming --data and RNN_IMDB_URL', async () => {
  const url = 'http://nonexistent.invalid/aclImdb_v1.tar.gz';
  await rejectsWith(
    loadData({ defaultSource: url, splits: ['train'], dataDir: await tempDir() }),
    'DATA_DOWNLOAD_FAILED',
    new RegExp(`^could not download ${escapeRegExp(url)}: `),
    /--data .*RNN_IMDB_URL/,
  );
});

test('the default dataset must be complete: a small archive from RNN_IMDB_URL is rejected and not kept', async () => {
  const dataDir = await tempDir();
  const url = `${base}/small/aclImdb_v1.tar.gz`;
  await rejectsWith(
    loadData({ defaultSource: url, splits: ['train'], dataDir }),
    'DATA_IMDB_INCOMPLETE',
    `${url} is not the complete IMDB dataset: its train split has 1 positive and 1 negative reviews, not 12,500 of each`,
    /^The download was discarded; run again, or set RNN_IMDB_URL to a complete copy of aclImdb_v1\.tar\.gz$/,
  );
  assert.deepEqual(await fsp.readdir(dataDir), [], 'neither the file nor its record stays in the cache');
  // The same archive given explicitly with --data is the user's choice and is read.
  const f = path.join(dataDir, 'mine.tar.gz');
  await fsp.writeFile(f, Buffer.from(await (await fetch(url)).arrayBuffer()));
  assert.equal((await loadData({ data: f, defaultSource: 'unused', splits: ['train'], dataDir })).train.length, 2);
});

test('a download whose size differs from the official file is discarded', async () => {
  const dir = await tempDir();
  const url = `${base}/small/aclImdb_v1.tar.gz`;
  const size = SMALL_TARBALL.length;
  await rejectsWith(
    download(url, path.join(dir, 'aclImdb_v1.tar.gz'), undefined, OFFICIAL_IMDB),
    'DATA_DOWNLOAD_MISMATCH',
    `download of ${url} has ${size.toLocaleString('en-US')} bytes, but the official file has 84,125,825`,
    /^Run the command again \(the file was discarded\), or pass --data with a copy you trust$/,
  );
  assert.deepEqual(await fsp.readdir(dir), []);
});

test('the official archive is pinned: a download of its URL with its size but other bytes is deleted with one clear line', async () => {
  // The shared copy omits the unsup split, so it cannot stand in for the official file: a loopback URL is
  // pinned to the official size and SHA-256 instead, and serves 84,125,825 other bytes.
  const dataDir = await tempDir();
  const url = `${base}/forged/aclImdb_v1.tar.gz`;
  await rejectsWith(
    loadData({ defaultSource: url, splits: ['train'], dataDir, pin: { ...OFFICIAL_IMDB, url } }),
    'DATA_DOWNLOAD_MISMATCH',
    `download of ${url} is not the official file: its SHA-256 is ${createHash('sha256').update(Buffer.alloc(OFFICIAL_IMDB.bytes, 0x2a)).digest('hex')}, the official one c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe`,
    /^The file was deleted; run the command again, or pass --data with a copy you trust$/,
  );
  assert.deepEqual(await fsp.readdir(dataDir), [], 'neither the file, its record nor a temporary file stays');
});

test('a pinned URL whose cached copy does not match the pin is downloaded again, and a matching download is kept', async () => {
  const dataDir = await tempDir();
  const url = `${base}/data/aclImdb_v1.tar.gz`;
  const pin = { url, bytes: statSync(IMDB_TARBALL).size, sha256: await imdbSha256() };
  await fsp.writeFile(path.join(dataDir, 'aclImdb_v1.tar.gz'), Buffer.alloc(pin.bytes));
  await fsp.writeFile(
    path.join(dataDir, 'aclImdb_v1.tar.gz.source.json'),
    JSON.stringify({ url, bytes: pin.bytes, sha256: '0'.repeat(64) }),
  );
  const before = hits;
  const d = await loadData({ defaultSource: url, splits: ['test'], dataDir, pin });
  assert.equal(hits, before + 1, 'the cached copy did not match the pin: downloaded again');
  assert.equal(d.source.sha256, await imdbSha256());
  assert.equal(d.test.length, 25000);
});

test('a URL or file the user gives is not pinned: it works and records its own SHA-256', async () => {
  const dataDir = await tempDir();
  const url = `${base}/small/aclImdb_v1.tar.gz`;
  const d = await loadData({ data: url, defaultSource: 'unused', splits: ['train'], dataDir });
  assert.equal(d.train.length, 2);
  assert.equal(d.source.sha256, createHash('sha256').update(SMALL_TARBALL).digest('hex'));
  assert.notEqual(d.source.sha256, OFFICIAL_IMDB.sha256);
});

test("--target rating: IMDB's reviews in the same order, labeled by the eight ratings of their file names", async () => {
  const d = await loadData({
    data: IMDB_TARBALL,
    defaultSource: 'unused',
    splits: ['train', 'test'],
    dataDir: await tempDir(),
    target: 'rating',
  });
  assert.deepEqual(d.labels, IMDB_RATING_LABELS);
  assert.equal(d.source.target, 'rating');
  const polarity = await imdb();
  for (const split of ['train', 'test'] as const) {
    assert.deepEqual(
      d[split].map((r) => r.id),
      polarity[split].map((r) => r.id),
    );
    assert.ok(d[split].every((r) => IMDB_RATING_LABELS.names[r.label] === String(imdbRating(r.id))));
  }
  // Counted from the file names (test/fixtures/keras_golden.py's reading of the archive gives the same).
  assert.deepEqual(labelCounts(d.train, 8), [5100, 2284, 2420, 2696, 2496, 3009, 2263, 4732]);
  assert.deepEqual(labelCounts(d.test, 8), [5022, 2302, 2541, 2635, 2307, 2850, 2344, 4999]);
});

test('polarity is the default target: binary labels, and the source records no target', async () => {
  const f = path.join(await tempDir(), 'a.tar.gz');
  await fsp.writeFile(f, makeTarGz([review('aclImdb/train/pos/0_9.txt'), review('aclImdb/train/neg/0_2.txt', 'dull')]));
  for (const target of [undefined, 'polarity'] as const) {
    const d = await loadData({ data: f, defaultSource: 'unused', splits: ['train'], dataDir: path.dirname(f), target });
    assert.equal(d.labels, BINARY_LABELS);
    assert.equal('target' in d.source, false);
    assert.deepEqual(
      d.train.map((r) => r.label),
      [0, 1],
    );
  }
});

test('aclImdb with --labels: the order is theirs; a rating or polarity outside them is a clear error naming the file', async () => {
  const f = path.join(await tempDir(), 'a.tar.gz');
  await fsp.writeFile(
    f,
    makeTarGz([review('aclImdb/train/pos/0_9.txt'), review('aclImdb/train/neg/1_2.txt'), review('aclImdb/train/pos/2_7.txt')]),
  );
  const load = (o: { target?: 'rating'; labels?: string[] }) =>
    loadData({ data: f, defaultSource: 'unused', splits: ['train'], dataDir: path.dirname(f), ...o });
  const rating = await load({ target: 'rating', labels: ['9', '7', '2'] });
  assert.deepEqual(rating.labels, { names: ['9', '7', '2'], numeric: true });
  assert.deepEqual(
    rating.train.map((r) => [r.id, r.label]),
    [
      ['train/neg/1_2.txt', 2],
      ['train/pos/0_9.txt', 0],
      ['train/pos/2_7.txt', 1],
    ],
  );
  const reversed = await load({ labels: ['positive', 'negative'] });
  assert.deepEqual(
    reversed.train.map((r) => r.label),
    [1, 0, 0],
  );
  await rejectsWith(
    load({ target: 'rating', labels: ['2', '7'] }),
    'DATA_LABEL_NOT_LISTED',
    `${f}: train/pos/0_9.txt has the rating 9, not one of the labels 2,7`,
    /^Add it to --labels/,
  );
  // A copy with a rating IMDB does not have.
  const odd = path.join(path.dirname(f), 'odd.tar.gz');
  await fsp.writeFile(odd, makeTarGz([review('aclImdb/train/pos/0_9.txt'), review('aclImdb/train/neg/1_5.txt')]));
  await rejectsWith(
    loadData({ data: odd, defaultSource: 'unused', splits: ['train'], dataDir: path.dirname(f), target: 'rating' }),
    'DATA_LABEL_NOT_LISTED',
    `${odd}: train/neg/1_5.txt has the rating 5, not one of the labels 1,2,3,4,7,8,9,10`,
    /^Use the official aclImdb/,
  );
});

test('a 3-class CSV of real reviews: labels read from the column, in order; --labels reorders them', async () => {
  const { file, rows } = await writeThreeClassCsv(await tempDir(), { every: 50 });
  const opts = { data: file, defaultSource: 'unused', splits: ['train'] as const, dataDir: path.dirname(file) };
  const d = await loadData(opts);
  assert.deepEqual(d.labels, { names: ['negative', 'neutral', 'positive'], numeric: false });
  assert.deepEqual(
    d.train.map((r) => [r.text, d.labels.names[r.label]]),
    rows.map((r) => [r.text, r.label]),
  );
  const fixed = await loadData({ ...opts, labels: ['positive', 'neutral', 'negative'] });
  assert.deepEqual(fixed.labels.names, ['positive', 'neutral', 'negative']);
  assert.deepEqual(
    fixed.train.map((r) => fixed.labels.names[r.label]),
    rows.map((r) => r.label),
  );
  await rejectsWith(
    loadData({ ...opts, labels: ['negative', 'positive'] }),
    'DATA_CSV_LABEL_INVALID',
    new RegExp(`^${escapeRegExp(file)} row \\d+: label "neutral" is not one of --labels negative,positive$`),
  );
  await rejectsWith(
    loadData({ ...opts, target: 'rating' }),
    'OPTION_NOT_APPLICABLE',
    `--target rating applies to aclImdb, and ${file} is a CSV`,
    /^Leave --target out: a CSV's label column is its target/,
  );
});

test('star ratings in a CSV are numeric labels, sorted by value', async () => {
  const f = path.join(await tempDir(), 'stars.csv');
  await fsp.writeFile(f, 'review,stars\na,5\nb,10\nc,1\nd,5.0\n');
  const r = await readCsv(f, { labelColumn: 'stars' });
  assert.deepEqual(r.labels, { names: ['1', '5', '10'], numeric: true });
  assert.deepEqual(
    r.reviews.map((x) => x.label),
    [1, 2, 0, 1],
  );
});
