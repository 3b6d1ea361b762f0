import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { runCli, tempDir, IMDB_TARBALL } from '../helpers.js';

test('rnn data prints counts per split and label, lengths and the share truncated at maxlen', async () => {
  const work = await tempDir();
  const env = { RNN_IMDB_URL: IMDB_TARBALL, RNN_DATA_DIR: path.join(work, 'data') };
  const r = await runCli(['data', '--json'], { env });
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.source.sha256, 'fc54c888266ce6c4982bf09ba642be3160fb34eb228f3760339d53bf7004a900');
  for (const split of ['train', 'test']) {
    assert.equal(s.splits[split].reviews, 25000);
    assert.equal(s.splits[split].positive, 12500);
    assert.equal(s.splits[split].negative, 12500);
    assert.ok(s.splits[split].words.p50 > 100 && s.splits[split].words.p50 < 300);
    assert.ok(s.splits[split].truncatedShare > 0.15 && s.splits[split].truncatedShare < 0.4);
  }
  // Keras's Tokenizer on the 25,000 training reviews finds 88,582 distinct words (see test/text).
  assert.equal(s.vocabulary, 88582);
  const human = await runCli(['data', '--maxlen', '500'], { env });
  assert.equal(human.code, 0);
  assert.match(human.stdout, /^train\s+25000\s+12500\s+12500\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+\.\d%$/m);
  assert.match(human.stdout, /truncated at 500/);
});
