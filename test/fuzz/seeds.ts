/**
 * The fuzz campaign's seed corpus, made at run time from real files (nothing of it is committed): a CSV of real
 * IMDB reviews written by csv-stringify, an aclImdb directory and tarball of real reviews, and what the real CLI
 * makes of them — a trained and evaluated model directory (model.json, weights.bin, tokenizer.json, metadata.json,
 * eval.json), the
 * checkpoint of an interrupted `rnn train`, a `.keras` export — plus the hand-made fixtures of test/fixtures
 * (Keras-saved `.keras` archives, a Keras tokenizer, a small CSV). Made once into `dir` and reused.
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import * as tar from 'tar';
import { imdbReviews } from '../imdb.js';
import { IMDB_TARBALL, ROOT, runCli } from '../helpers.js';

/** Where each kind of seed is, once made. */
export interface Corpus {
  dir: string;
  /** CSV files (real reviews; the fixture; a 3-label CSV). */
  csv: string[];
  /** aclImdb directories (with train/ and test/). */
  imdbDirs: string[];
  /** aclImdb tarballs (.tar.gz). */
  tarballs: string[];
  /** Model directories rnn trained. */
  models: string[];
  /** Tokenizer JSON files (rnn's and Keras's). */
  tokenizers: string[];
  /** Checkpoint directories of interrupted runs, with the CSV each was trained on. */
  checkpoints: { dir: string; data: string }[];
  /** `.keras` archives, each with the tokenizer that belongs to it. */
  keras: { file: string; tokenizer: string }[];
  /** eval.json records `rnn eval` wrote. */
  evals: string[];
}

/** The small model the seeds are made with: trained in a few seconds on 300 real reviews. */
const TRAIN = ['--cell', 'lstm', '--maxlen', '24', '--units', '4', '--embedding-dim', '8', '--vocab-size', '400', '--seed', '1'];

async function exists(p: string): Promise<boolean> {
  return fsp.access(p).then(
    () => true,
    () => false,
  );
}

/** Makes (or reuses) the corpus in `dir`; `log` gets one line per step. */
export async function buildCorpus(dir: string, log: (line: string) => void): Promise<Corpus> {
  const done = path.join(dir, 'corpus.json');
  if (await exists(done)) {
    const made = JSON.parse(await fsp.readFile(done, 'utf8')) as Partial<Corpus>;
    if (made.evals) return made as Corpus; // else made by an older campaign, without every kind of seed: made again
  }
  await fsp.rm(dir, { recursive: true, force: true });
  await fsp.mkdir(dir, { recursive: true });
  const env = { RNN_MODELS_DIR: path.join(dir, 'models'), RNN_DATA_DIR: path.join(dir, 'data') };
  log(`seed corpus: reading real reviews from ${IMDB_TARBALL}`);
  // A test run's decoded copy when there is one (the runner's cache), else decoded here once.
  const { train, test } = await imdbReviews(IMDB_TARBALL, process.env.RNN_TEST_CACHE ?? path.join(dir, 'cache'));
  // Reviews spread over the archive (both labels, several ratings).
  const pick = (rs: typeof train, n: number) => Array.from({ length: n }, (_, i) => rs[Math.floor((i * rs.length) / n)]!);
  const sample = pick(train, 300);

  const csv = path.join(dir, 'reviews.csv');
  await fsp.writeFile(csv, stringify([['review', 'sentiment'], ...sample.map((r) => [r.text, r.label === 1 ? 'positive' : 'negative'])]));
  const small = path.join(dir, 'small.csv');
  await fsp.writeFile(small, stringify([['review', 'sentiment'], ...pick(test, 12).map((r) => [r.text, r.label === 1 ? 'pos' : 'neg'])]));
  const rating = (id: string) => Number(/_(\d+)\.txt$/.exec(id)![1]);
  const three = path.join(dir, 'three.csv');
  await fsp.writeFile(
    three,
    stringify([
      ['text', 'label', 'split'],
      ...pick(test, 30).map((r, i) => [
        r.text,
        rating(r.id) <= 2 ? 'bad' : rating(r.id) >= 9 ? 'great' : 'mixed',
        i % 4 ? 'train' : 'test',
      ]),
    ]),
  );

  log('seed corpus: an aclImdb directory and tarball');
  const imdbDir = path.join(dir, 'aclImdb');
  for (const [split, rs] of [
    ['train', pick(train, 16)],
    ['test', pick(test, 16)],
  ] as const) {
    for (const r of rs) {
      const [, label, name] = r.id.split('/');
      await fsp.mkdir(path.join(imdbDir, split, label!), { recursive: true });
      await fsp.writeFile(path.join(imdbDir, split, label!, name!), r.text);
    }
  }
  await fsp.writeFile(path.join(imdbDir, 'README'), 'Large Movie Review Dataset (a few of its reviews)\n');
  const tarball = path.join(dir, 'aclImdb.tar.gz');
  await tar.create({ gzip: true, file: tarball, cwd: dir, portable: true }, ['aclImdb']);

  log(`seed corpus: rnn train ${TRAIN.join(' ')} on ${sample.length} real reviews`);
  const model = path.join(dir, 'model');
  const trained = await runCli(['train', ...TRAIN, '--epochs', '1', '--data', csv, '--out', model], { env });
  if (trained.code !== 0) throw new Error(`seed corpus: rnn train failed: ${trained.stderr}`);

  log('seed corpus: rnn eval (its eval.json, in the model directory)');
  const evaluated = await runCli(['eval', '--model', model, '--data', csv], { env });
  if (evaluated.code !== 0) throw new Error(`seed corpus: rnn eval failed: ${evaluated.stderr}`);

  log('seed corpus: an interrupted rnn train (its checkpoint)');
  const ckptOut = path.join(dir, 'ckpt-model');
  await interruptedTraining([...TRAIN, '--epochs', '8', '--data', csv, '--out', ckptOut], env);

  log('seed corpus: rnn export --keras');
  const keras = path.join(dir, 'model.keras');
  const exported = await runCli(['export', '--keras', keras, '--model', model], { env });
  if (exported.code !== 0) throw new Error(`seed corpus: rnn export --keras failed: ${exported.stderr}`);

  const fixtures = path.join(ROOT, 'test', 'fixtures');
  const kerasFixtures = (await fsp.readdir(path.join(fixtures, 'keras'))).filter((f) => f.endsWith('.keras')).sort();
  const corpus: Corpus = {
    dir,
    csv: [csv, small, three, path.join(fixtures, 'reviews.csv')],
    imdbDirs: [imdbDir],
    tarballs: [tarball],
    models: [model],
    tokenizers: [path.join(model, 'tokenizer.json'), path.join(fixtures, 'keras', 'tokenizer.json')],
    checkpoints: [{ dir: `${ckptOut}.checkpoint`, data: csv }],
    keras: [
      { file: keras, tokenizer: path.join(dir, 'model.tokenizer.json') },
      ...kerasFixtures.map((f) => ({ file: path.join(fixtures, 'keras', f), tokenizer: path.join(fixtures, 'keras', 'tokenizer.json') })),
    ],
    evals: [path.join(model, 'eval.json')],
  };
  await fsp.writeFile(done, JSON.stringify(corpus, null, 2));
  await fsp.rm(path.join(dir, 'cache'), { recursive: true, force: true });
  return corpus;
}

/** `rnn train ARGS`, stopped with SIGINT once its first epoch is done: it saves a checkpoint beside --out. */
function interruptedTraining(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'rnn'), 'train', ...args], {
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      if (!sent && /^epoch 1 /m.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.stdout.resume();
    child.on('error', reject);
    child.on('close', (code) =>
      code === 130 ? resolve() : reject(new Error(`seed corpus: the interrupted rnn train exited ${code}: ${stderr}`)),
    );
  });
}
