import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { statSync } from 'node:fs';
import { promises as fsp } from 'node:fs';
import { runCli, tempDir, IMDB_TARBALL, imdbSha256, jsonErrorOf } from '../helpers.js';
import { writeThreeClassCsv } from '../three-class.js';

// The statistics of the 50,000 labeled reviews, exactly: the same in the official archive and in CI's copy
// (../shared/README.md), which omits only the unlabeled reviews. Produced by rnn itself:
//   RNN_DATA_DIR=$(mktemp -d) npx rnn data --json --data path/to/aclImdb_v1.tar.gz
//   RNN_DATA_DIR=$(mktemp -d) npx rnn data --maxlen 500 --data path/to/aclImdb_v1.tar.gz
// and checked against Keras 3.15.1 (tensorflow-cpu==2.21.0): text_to_word_sequence's word counts per review
// (nearest-lower-rank percentiles: sorted[floor(q·(n − 1))]), Tokenizer(num_words=10000) fitted on the training
// reviews in rnn's order (negatives, then positives, by file number, as test/fixtures/keras_golden.py reads them:
// ties in the word index follow it) for the share with more than maxlen ids, and its 88,582-word word_index.
const STATS = {
  maxlen: 256,
  numWords: 10000,
  vocabulary: 88582,
  splits: {
    train: {
      reviews: 25000,
      positive: 12500,
      negative: 12500,
      words: { min: 10, p50: 174, p90: 458, p95: 597, max: 2473, mean: 233.63884 },
      truncatedShare: 0.2664,
    },
    test: {
      reviews: 25000,
      positive: 12500,
      negative: 12500,
      words: { min: 6, p50: 172, p90: 443, p95: 582, max: 2246, mean: 228.34956 },
      truncatedShare: 0.25276,
    },
  },
  // Exact duplicate texts (after <br /> cleaning), the figures for the official archive, which the
  // shared copy shares (it only omits the unsup split): 96 repeats in train, 199 in test, 123 test reviews in train.
  duplicates: {
    train: { repeats: 96, texts: 92, conflictingLabels: 0 },
    test: { repeats: 199, texts: 191, conflictingLabels: 0 },
    testInTrain: 123,
  },
};

test('rnn data prints counts per split and label, lengths and the share truncated at maxlen', async () => {
  const work = await tempDir();
  const cache = path.join(work, 'cache');
  const env = { RNN_IMDB_URL: IMDB_TARBALL, RNN_DATA_DIR: path.join(work, 'data'), RNN_CACHE_DIR: cache };
  const r = await runCli(['data', '--json'], { env });
  assert.equal(r.code, 0, r.stderr);
  const sha256 = await imdbSha256();
  assert.deepEqual(JSON.parse(r.stdout), {
    source: { kind: 'tarball', path: IMDB_TARBALL, sha256, bytes: statSync(IMDB_TARBALL).size },
    ...STATS,
  });
  // The archive's decoded reviews, cached (src/data/review-cache.ts): the second run reads them, statistics and all.
  const reviews = path.join(cache, 'reviews');
  const inodes = async () =>
    Promise.all((await fsp.readdir(reviews)).sort().map(async (n) => `${n} ${(await fsp.stat(path.join(reviews, n))).ino}`));
  const cached = await inodes();
  assert.deepEqual(
    cached.map((l) => l.replace(/-[0-9a-f]{12}\./, '-READER.').replace(/ \d+$/, '')),
    [`${sha256}-READER.test.v8`, `${sha256}-READER.train.v8`],
  );
  const human = await runCli(['data', '--maxlen', '500'], { env });
  assert.equal(human.code, 0, human.stderr);
  assert.deepEqual(await inodes(), cached, 'read from the cache, not written again');
  assert.equal(
    human.stdout,
    `source  ${IMDB_TARBALL} (tarball, sha256 ${sha256.slice(0, 16)}…)\n` +
      'split  reviews     pos     neg  words p50  p90  p95    max  truncated at 500\n' +
      'train   25,000  12,500  12,500        174  458  597  2,473              6.7%\n' +
      'test    25,000  12,500  12,500        172  443  582  2,246              6.2%\n' +
      'vocabulary: 88,582 distinct words in train; ids kept: 10,000\n' +
      "duplicates in train: 96 reviews repeat an earlier one's text (92 texts)\n" +
      "duplicates in test: 199 reviews repeat an earlier one's text (191 texts)\n" +
      'test reviews also in train, word for word: 123\n' +
      '  (rnn train --dedupe drops the repeats; rnn eval --exclude-overlap scores test without the reviews in train)\n',
  );
});

test('rnn data on a 3-class CSV: reviews per label in label order (--labels sets it), in the table and in --json', async () => {
  const work = await tempDir();
  const env = { RNN_DATA_DIR: path.join(work, 'data') };
  const { file } = await writeThreeClassCsv(work, { every: 8 });
  const human = await runCli(['data', '--data', file], { env });
  assert.equal(human.code, 0, human.stderr);
  assert.doesNotMatch(human.stderr, /warning/);
  const lines = human.stdout.split('\n');
  assert.equal(lines[1], 'split  reviews  words p50  p90  p95    max  truncated at 256');
  assert.deepEqual(lines.slice(3, 7), ['label     train', 'negative  1,195  38.2%', 'neutral     652  20.9%', 'positive  1,278  40.9%']);
  const json = await runCli(['data', '--data', file, '--labels', 'positive,neutral,negative', '--json'], { env });
  assert.equal(json.code, 0, json.stderr);
  const stats = JSON.parse(json.stdout) as {
    labels: unknown;
    splits: { train: { reviews: number; positive?: number; byLabel: unknown; imbalance: number } };
  };
  assert.deepEqual(stats.labels, { names: ['positive', 'neutral', 'negative'], numeric: false });
  assert.equal(stats.splits.train.reviews, 3125);
  assert.equal(stats.splits.train.positive, undefined);
  assert.deepEqual(stats.splits.train.byLabel, [
    { label: 'positive', reviews: 1278 },
    { label: 'neutral', reviews: 652 },
    { label: 'negative', reviews: 1195 },
  ]);
  assert.equal(stats.splits.train.imbalance, 1278 / 652);
});

test('rnn data warns when the largest label has over 5× the reviews of the smallest', async () => {
  const work = await tempDir();
  const env = { RNN_DATA_DIR: path.join(work, 'data') };
  const { rows } = await writeThreeClassCsv(work, { every: 8 });
  const q = (s: string): string => `"${s.replace(/"/g, '""')}"`;
  const kept = [...rows.filter((r) => r.label !== 'neutral'), ...rows.filter((r) => r.label === 'neutral').slice(0, 255)];
  const file = path.join(work, 'skewed.csv');
  await fsp.writeFile(file, 'review,sentiment\n' + kept.map((r) => `${q(r.text)},${r.label}\n`).join(''));
  const warning =
    'warning: the train split is imbalanced: label "positive" has 1,278 reviews, 5.0× the 255 of label "neutral" (rnn train --class-weight balanced weighs the labels equally)\n';
  for (const args of [[], ['--json']]) {
    const r = await runCli(['data', '--data', file, ...args], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, warning);
  }
  // 5× exactly is not over 5×.
  await fsp.writeFile(file, 'review,sentiment\n' + ['a,x', 'b,x', 'c,x', 'd,x', 'e,x', 'f,y', 'g,z', 'h,z', 'i,z'].join('\n') + '\n');
  const ok = await runCli(['data', '--data', file], { env });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stderr, '');
});

test('rnn data --target rating: the eight ratings per split, in numeric order', async () => {
  const work = await tempDir();
  const env = { RNN_IMDB_URL: IMDB_TARBALL, RNN_DATA_DIR: path.join(work, 'data') };
  const r = await runCli(['data', '--target', 'rating', '--json'], { env });
  assert.equal(r.code, 0, r.stderr);
  const got = JSON.parse(r.stdout) as {
    source: { target?: string };
    labels: unknown;
    splits: Record<'train' | 'test', { byLabel: Array<{ label: string; reviews: number }> }>;
    duplicates: Record<'train' | 'test', { conflictingLabels: number }>;
  };
  assert.equal(got.source.target, 'rating');
  assert.deepEqual(got.labels, { names: ['1', '2', '3', '4', '7', '8', '9', '10'], numeric: true });
  const counts = (s: 'train' | 'test') => got.splits[s].byLabel.map((l) => `${l.label}:${l.reviews}`).join(' ');
  assert.equal(counts('train'), '1:5100 2:2284 3:2420 4:2696 7:2496 8:3009 9:2263 10:4732');
  assert.equal(counts('test'), '1:5022 2:2302 3:2541 4:2635 7:2307 8:2850 9:2344 10:4999');
  // Texts that repeat with another rating (the same review posted twice, rated differently).
  assert.deepEqual([got.duplicates.train.conflictingLabels, got.duplicates.test.conflictingLabels], [1, 3]);
});

test('rnn data --target rating on a CSV, or a bad --labels, is a clear error', async () => {
  const work = await tempDir();
  const env = { RNN_DATA_DIR: path.join(work, 'data') };
  const file = path.join(work, 'x.csv');
  await fsp.writeFile(file, 'review,sentiment\na,positive\nb,negative\n');
  const r = await runCli(['data', '--data', file, '--target', 'rating', '--json'], { env });
  assert.equal(r.code, 1);
  assert.deepEqual(jsonErrorOf(r.stderr), {
    code: 'OPTION_NOT_APPLICABLE',
    message: `--target rating applies to aclImdb, and ${file} is a CSV`,
    fix: "Leave --target out: a CSV's label column is its target (--label-column names it)",
  });
  const dup = await runCli(['data', '--data', file, '--labels', 'a,b,a', '--json'], { env });
  assert.equal(dup.code, 1);
  assert.equal(jsonErrorOf(dup.stderr).code, 'OPTION_INVALID');
  assert.match(jsonErrorOf(dup.stderr).message, /it names the label "a" twice$/);
  const notListed = await runCli(['data', '--data', file, '--labels', 'positive,neutral', '--json'], { env });
  assert.equal(notListed.code, 1);
  assert.deepEqual(jsonErrorOf(notListed.stderr), {
    code: 'DATA_CSV_LABEL_INVALID',
    message: `${file} row 3: label "negative" is not one of --labels positive,neutral`,
    fix: 'Add it to --labels, or correct the row',
  });
});
