import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { statSync } from 'node:fs';
import { runCli, tempDir, IMDB_TARBALL, imdbSha256 } from '../helpers.js';

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
  const env = { RNN_IMDB_URL: IMDB_TARBALL, RNN_DATA_DIR: path.join(work, 'data') };
  const r = await runCli(['data', '--json'], { env });
  assert.equal(r.code, 0, r.stderr);
  const sha256 = await imdbSha256();
  assert.deepEqual(JSON.parse(r.stdout), {
    source: { kind: 'tarball', path: IMDB_TARBALL, sha256, bytes: statSync(IMDB_TARBALL).size },
    ...STATS,
  });
  const human = await runCli(['data', '--maxlen', '500'], { env });
  assert.equal(human.code, 0, human.stderr);
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
