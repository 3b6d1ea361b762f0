/**
 * Unlabeled texts for `rnn pretrain` (src/data/texts.ts): a text file's lines, a CSV's text column, aclImdb's
 * training reviews without its test reviews (unless asked for); empty input is one DATA_EMPTY line; the
 * fingerprints find exactly the texts that were read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { fingerprintBytes, fingerprintsOf, loadTexts, textFingerprints, textsAmong } from '../../src/data/texts.js';
import { UserError } from '../../src/errors.js';
import { IMDB_TARBALL, imdb, tempDir } from '../helpers.js';

const base = { defaultSource: IMDB_TARBALL, dataDir: '/nonexistent', allowTestText: false };

test('a text file gives its non-empty lines, <br /> replaced; a CSV its text column', async () => {
  const dir = await tempDir();
  const txt = path.join(dir, 'texts.txt');
  await fsp.writeFile(txt, 'first text<br />here\n\n  \nsecond one\r\nthird\n');
  const t = await loadTexts({ ...base, data: txt });
  assert.deepEqual(t.texts, ['first text here', 'second one', 'third']);
  assert.equal(t.source.kind, 'text');
  assert.equal(t.source.includesTest, false);
  const csv = path.join(dir, 'reviews.csv');
  await fsp.writeFile(csv, 'id,review\n1,"a, quoted text"\n2,plain\n');
  const c = await loadTexts({ ...base, data: csv });
  assert.deepEqual(c.texts, ['a, quoted text', 'plain']);
  assert.equal(c.source.kind, 'csv');
});

test('an empty text file, or one of blank lines, is one DATA_EMPTY error; bytes that are not UTF-8 DATA_NOT_UTF8', async () => {
  const dir = await tempDir();
  for (const body of ['', '\n \n\n']) {
    const f = path.join(dir, 'empty.txt');
    await fsp.writeFile(f, body);
    await assert.rejects(loadTexts({ ...base, data: f }), (e: unknown) => e instanceof UserError && e.code === 'DATA_EMPTY');
  }
  const bad = path.join(dir, 'bad.txt');
  await fsp.writeFile(bad, Buffer.from([0x61, 0xff, 0x0a, 0x62]));
  await assert.rejects(loadTexts({ ...base, data: bad }), (e: unknown) => e instanceof UserError && e.code === 'DATA_NOT_UTF8');
});

test('aclImdb: the 25,000 training reviews and never the test reviews, unless allowTestText (then recorded)', async () => {
  const d = await imdb();
  const t = await loadTexts({ ...base, data: IMDB_TARBALL });
  assert.equal(t.texts.length, 25_000);
  assert.deepEqual(t.source.parts, { train: 25_000, unsup: 0 });
  assert.equal(t.source.includesTest, false);
  const fp = textFingerprints(t.texts);
  const testIn = textsAmong(
    d.test.map((r) => r.text),
    fp,
  ).filter(Boolean).length;
  // The official archive's test reviews that appear verbatim in train (docs/data.md: 123 texts).
  assert.ok(testIn > 0 && testIn < 200, `${testIn} test reviews among the training texts`);
  const all = await loadTexts({ ...base, data: IMDB_TARBALL, allowTestText: true });
  assert.equal(all.texts.length, 50_000);
  assert.equal(all.source.includesTest, true);
  assert.equal(all.source.parts.test, 25_000);
  const fpAll = textFingerprints(all.texts);
  assert.ok(
    textsAmong(
      d.test.map((r) => r.text),
      fpAll,
    ).every(Boolean),
  );
});

test('fingerprints survive their file form and find exactly the texts read', () => {
  const fp = textFingerprints(['a', 'b<br />c', 'a']);
  assert.equal(fp.length, 2);
  const back = fingerprintsOf(fingerprintBytes(fp));
  assert.deepEqual([...back], [...fp]);
  assert.deepEqual(textsAmong(['b c', 'a', 'd', ' a '], back), [true, true, false, true]);
});
