/**
 * Duplicates through the real CLI on the real archive: `rnn train --dedupe` drops the 96 repeated training
 * texts before its shuffle and records it; `rnn eval --exclude-overlap` scores the test split with and
 * without the 123 test reviews that are also in train, and reports both.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { IMDB_TARBALL, runCli, tempDir } from '../helpers.js';
import { smallModel } from '../models.js';

let work = '';
let env: NodeJS.ProcessEnv = {};
let model = '';

before(async () => {
  work = await tempDir('rnn-dupes-');
  env = { RNN_IMDB_URL: IMDB_TARBALL, RNN_MODELS_DIR: path.join(work, 'models'), RNN_DATA_DIR: path.join(work, 'data') };
  model = path.join(work, 'models', 'deduped');
  await smallModel(env, model, 5, ['--dedupe']);
});

after(() => fsp.rm(work, { recursive: true, force: true }));

test('rnn train --dedupe: the repeats are dropped before the shuffle and --limit, and recorded in metadata.json', async () => {
  const meta = JSON.parse(await fsp.readFile(path.join(model, 'metadata.json'), 'utf8'));
  assert.equal(meta.hyperParameters.dedupe, true);
  assert.equal(meta.dataset.repeatsDropped, 96);
  assert.equal(meta.dataset.trainReviews + meta.dataset.validationReviews, 1500, '--limit counts reviews after the repeats are gone');
});

test('rnn eval --exclude-overlap: both figures, the second without the 123 test reviews also in train', async () => {
  const json = await runCli(['eval', '--model', model, '--exclude-overlap', '--json'], { env });
  assert.equal(json.code, 0, json.stderr);
  const r = JSON.parse(json.stdout);
  assert.equal(r.data.reviews, 25000);
  assert.equal(r.withoutOverlap.reviews, 24877);
  assert.equal(r.withoutOverlap.excluded, 123);
  assert.ok(Math.abs(r.withoutOverlap.accuracy - r.accuracy) < 0.01);
  const human = await runCli(['eval', '--model', model, '--exclude-overlap'], { env });
  assert.equal(human.code, 0, human.stderr);
  const pct = (v: number) => `${(v * 100).toFixed(2)}%`;
  assert.ok(
    human.stdout.includes(
      `  without overlap  accuracy ${pct(r.withoutOverlap.accuracy)}, F1 ${pct(r.withoutOverlap.f1)} on 24,877 reviews (123 also in train left out)\n`,
    ),
    human.stdout,
  );
  const plain = await runCli(['eval', '--model', model, '--json', '--limit', '100'], { env });
  assert.equal(JSON.parse(plain.stdout).withoutOverlap, undefined, 'only with the flag');
});
