/**
 * Honest splits of a single-file dataset, through the real CLI: a CSV of 3,000 real reviews built here from
 * the shared archive (with and without a split column). `rnn train` holds out a seeded 20% (or the rows the
 * column marks test) and records which; `rnn eval` on the same file scores exactly those rows, identically
 * for the same seed; a model that held nothing out is not scored on its own training data unless
 * `--allow-training-data`, and then the output says so.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { readCsv } from '../../src/data/csv.js';
import { holdOutTest } from '../../src/data/split.js';
import { escapeRegExp, IMDB_TARBALL, imdb, runCli, tempDir, type CliResult } from '../helpers.js';
import { SMALL_MODEL } from '../models.js';

let work = '';
let env: NodeJS.ProcessEnv = {};
let csv = '';
let csvSplit = '';

before(async () => {
  work = await tempDir('rnn-heldout-');
  env = { RNN_IMDB_URL: IMDB_TARBALL, RNN_MODELS_DIR: path.join(work, 'models'), RNN_DATA_DIR: path.join(work, 'data') };
  const rows = (await imdb()).train.filter((_, i) => i % 8 === 0).slice(0, 3000);
  const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
  const label = (l: number) => (l ? 'positive' : 'negative');
  csv = path.join(work, 'imdb3k.csv');
  csvSplit = path.join(work, 'imdb3k-split.csv');
  await fsp.writeFile(csv, 'review,sentiment\n' + rows.map((r) => `${q(r.text)},${label(r.label)}\n`).join(''));
  await fsp.writeFile(
    csvSplit,
    'notes,verdict,split\n' + rows.map((r, i) => `${q(r.text)},${label(r.label)},${i % 5 === 0 ? 'test' : 'train'}\n`).join(''),
  );
});

after(() => fsp.rm(work, { recursive: true, force: true }));

/** `rnn train` with the small model's settings on this file's own CSVs (each run is its own: the seeds are compared). */
async function trainSmallModel(env: NodeJS.ProcessEnv, out: string, seed: number, extra: string[]): Promise<CliResult> {
  const r = await runCli(['train', ...SMALL_MODEL, ...extra, '--seed', String(seed), '--out', out], { env });
  assert.equal(r.code, 0, r.stderr);
  return r;
}

const meta = async (dir: string) => JSON.parse(await fsp.readFile(path.join(dir, 'metadata.json'), 'utf8'));

async function evalJson(args: string[]): Promise<{ data: { reviews: number; scope: string }; accuracy: number; loss: number }> {
  const r = await runCli(['eval', ...args, '--json'], { env });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('train on a CSV holds out a seeded 20% and records it; eval scores exactly those rows, the same for the same seed', async () => {
  const a = path.join(work, 'models', 'a');
  const b = path.join(work, 'models', 'b');
  const trained = await trainSmallModel(env, a, 7, ['--data', csv]);
  assert.ok(
    trained.stderr.includes(
      'held out 600 of 3,000 reviews of imdb3k.csv for testing (20%, seed 7); rnn eval --data imdb3k.csv scores them\n',
    ),
    trained.stderr,
  );
  await trainSmallModel(env, b, 7, ['--data', csv]);
  const expected = holdOutTest((await readCsv(csv)).reviews, { testSplit: 0.2, seed: 7 }).heldOut;
  const ma = await meta(a);
  assert.deepEqual(ma.dataset.heldOut, expected);
  assert.deepEqual(expected.method === 'share' && [expected.trainRows, expected.testRows], [2400, 600]);
  assert.equal(ma.dataset.trainReviews + ma.dataset.validationReviews, 1500, '--limit 1500 of the 2,400 training rows');
  assert.deepEqual((await meta(b)).dataset.heldOut, expected, 'the same seed holds out the same rows');
  const [ea, eb] = [await evalJson(['--model', a, '--data', csv]), await evalJson(['--model', b, '--data', csv])];
  assert.equal(ea.data.reviews, 600);
  assert.equal(ea.data.scope, 'held-out rows');
  assert.deepEqual([eb.accuracy, eb.loss], [ea.accuracy, ea.loss], 'same seed, same rows, same model: same figures');
  const human = await runCli(['eval', '--model', a, '--data', csv], { env });
  assert.match(human.stdout, new RegExp(`\n  data +600 held-out test reviews of ${escapeRegExp(csv)} \\(rows its training never saw\\)\n`));
  // A subset (--limit) is drawn from the held-out rows only.
  assert.equal((await evalJson(['--model', a, '--data', csv, '--limit', '100'])).data.reviews, 100);
});

test('a split column and columns of its own names: train on the rows marked train, eval scores those marked test, reading the columns training read', async () => {
  const dir = path.join(work, 'models', 'col');
  await trainSmallModel(env, dir, 3, [
    '--data',
    csvSplit,
    '--split-column',
    'split',
    '--text-column',
    'notes',
    '--label-column',
    'verdict',
  ]);
  const { heldOut: h, columns } = (await meta(dir)).dataset;
  assert.deepEqual([h.method, h.column, h.trainRows, h.testRows], ['column', 'split', 2400, 600]);
  assert.deepEqual(columns, { text: 'notes', label: 'verdict' });
  // The file trained on is read through the recorded columns, with --data or without; another file's are found as ever.
  const e = await evalJson(['--model', dir, '--data', csvSplit]);
  assert.deepEqual([e.data.reviews, e.data.scope], [600, 'held-out rows']);
  // Without --data, eval reads the file the model was trained on: the same rows, the same figures.
  const plain = await runCli(['eval', '--model', dir, '--json'], { env });
  assert.equal(plain.code, 0, plain.stderr);
  const p = JSON.parse(plain.stdout);
  assert.deepEqual([p.data.path, p.data.reviews, p.data.scope, p.accuracy, p.loss], [csvSplit, 600, 'held-out rows', e.accuracy, e.loss]);
  // Another CSV, whose columns are review and sentiment, is read through those.
  const other = await evalJson(['--model', dir, '--data', csv, '--limit', '100']);
  assert.deepEqual([other.data.reviews, other.data.scope], [100, 'test split']);
  // Gone: an error, not IMDB's test split under the same two labels.
  await fsp.rename(csvSplit, `${csvSplit}.moved`);
  const gone = await runCli(['eval', '--model', dir], { env });
  assert.deepEqual([gone.code, gone.stdout], [1, '']);
  assert.equal(
    gone.stderr,
    `error: ${dir} was trained on ${csvSplit}, which is no longer there. Pass --data with the file its test rows came from, or other labeled reviews to score\n`,
  );
});

test('--test-split 0 says so loudly; eval then refuses the training data, and labels it with --allow-training-data', async () => {
  const dir = path.join(work, 'models', 'all');
  const r = await trainSmallModel(env, dir, 1, ['--data', csv, '--test-split', '0']);
  assert.ok(
    r.stderr.includes(
      'warning: --test-split 0: all 3,000 reviews of imdb3k.csv train the model and none is left to test it; rnn eval will refuse to score this file (it would score training data)\n',
    ),
    r.stderr,
  );
  assert.equal((await meta(dir)).dataset.heldOut.method, 'none');
  const refused = await runCli(['eval', '--model', dir, '--data', csv], { env });
  assert.equal(refused.code, 1);
  assert.equal(refused.stdout, '');
  assert.equal(
    refused.stderr,
    `error: ${csv} is the data the model was trained on (same SHA-256), and its training held no rows out: every review of it was trained or validated on. ` +
      'Evaluate on reviews the model has not seen (retrain with --test-split, the default), or pass --allow-training-data to score them anyway\n',
  );
  const allowed = await evalJson(['--model', dir, '--data', csv, '--allow-training-data']);
  assert.deepEqual([allowed.data.reviews, allowed.data.scope], [3000, 'training data']);
  const human = await runCli(['eval', '--model', dir, '--data', csv, '--allow-training-data'], { env });
  assert.ok(
    human.stdout.includes(`3,000 reviews of ${csv}: TRAINING DATA, the model was trained on them (--allow-training-data)`),
    human.stdout,
  );
  // Another CSV (other bytes) is scored whole: it is not what the model trained on.
  const other = path.join(work, 'other.csv');
  await fsp.writeFile(other, (await fsp.readFile(csv, 'utf8')).split('\n').slice(0, 501).join('\n') + '\n');
  const e = await evalJson(['--model', dir, '--data', other]);
  assert.deepEqual([e.data.reviews, e.data.scope], [500, 'test split']);
});

test('--test-split on aclImdb is refused: it has its own test split', async () => {
  const r = await runCli(['train', '--cell', 'gru', '--test-split', '0.1', '--limit', '100'], { env });
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    `error: --test-split and --split-column apply to a CSV, and ${IMDB_TARBALL} is an aclImdb tarball. Leave them out: aclImdb has its own test split\n`,
  );
});

test('rnn compare on a CSV: every cell trains on the same rows and is scored on the same held-out rows', async () => {
  const out = path.join(work, 'models', 'compare');
  const r = await runCli(
    [
      'compare',
      '--data',
      csv,
      '--cells',
      'gru,simplernn',
      '--limit',
      '1000',
      '--maxlen',
      '60',
      '--epochs',
      '1',
      '--units',
      '8',
      '--vocab-size',
      '2000',
      '--seed',
      '9',
      '--out',
      out,
      '--json',
    ],
    { env },
  );
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.data.testReviews, 600);
  const [g, s] = [await meta(path.join(out, 'gru')), await meta(path.join(out, 'simplernn'))];
  assert.deepEqual(g.dataset.heldOut, s.dataset.heldOut);
  assert.deepEqual([g.dataset.heldOut.seed, g.dataset.heldOut.testRows], [9, 600]);
  // And eval of either model on the file scores those 600 rows.
  assert.equal((await evalJson(['--model', path.join(out, 'gru'), '--data', csv])).data.reviews, 600);
});
