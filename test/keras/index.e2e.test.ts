/**
 * The Keras bridge end to end on real IMDB test reviews (src/keras/index.ts):
 * - models rnn trained (each cell; a bidirectional, mean-pooled LSTM) exported with exportKeras load in stock
 *   Keras 3 (`keras.saving.load_model`, no custom objects; test/fixtures/keras/predict.py) and predict what
 *   `rnn predict` predicts within 1e-5; imported back, their weights and tokenizer are byte-identical;
 * - the same for a model of three classes rnn trained on real reviews (test/three-class.ts), Dense(3, softmax):
 *   Keras gives rnn's three probabilities per review; its labels travel in the labels file beside the archive;
 * - models Keras trained (test/fixtures/keras, made by make_models.py), of two labels and of three, import and
 *   predict what Keras predicts within 1e-5, on rnn's fast path where it has one;
 * - a bad archive, tokenizer or set of labels writes nothing.
 * Keras runs in RNN_KERAS_PYTHON (.ci/run builds it; without it and without RNN_REQUIRE_KERAS those checks skip).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { createInterface } from 'node:readline';
import * as path from 'node:path';
import { loadBackend, type LoadedBackend } from '../../src/backend/index.js';
import { BINARY_LABELS, loadData, type Review } from '../../src/data/index.js';
import { UserError, type ErrorCode } from '../../src/errors.js';
import { labelsOf, loadModelDir } from '../../src/io/model-dir.js';
import { saveTrainingRun } from '../../src/io/run.js';
import { exportKeras, importKeras, labelsBeside, tokenizerBeside } from '../../src/keras/index.js';
import { writeArchive, readArchive } from '../../src/keras/archive.js';
import { topologyOf } from '../../src/models/index.js';
import { encodeTexts } from '../../src/predict/encode.js';
import { predictTexts } from '../../src/predict/index.js';
import { train } from '../../src/train/index.js';
import { resolveTrainOptions } from '../../src/train/options.js';
import { imdb, IMDB_TARBALL, KERAS_PYTHON, REQUIRE_NATIVE, ROOT, imdbWorkspace, skipKeras } from '../helpers.js';
import { smallModel } from '../models.js';
import { writeThreeClassCsv } from '../three-class.js';

const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'keras');
const VERSIONS = { rnn: 'test', tfjs: 'test', node: process.versions.node };
let run: LoadedBackend;
let work = '';
let env: NodeJS.ProcessEnv = {};
let texts: string[] = [];

before(async () => {
  run = await loadBackend({ requireNative: REQUIRE_NATIVE });
  ({ work, env } = await imdbWorkspace('rnn-keras-'));
  const test = (await imdb()).test;
  // 300 real test reviews, positives and negatives interleaved.
  texts = test.slice(0, 150).flatMap((r: Review, i: number) => [r.text, test[test.length - 1 - i]!.text]);
});
after(async () => {
  python?.stdin.end();
  await fsp.rm(work, { recursive: true, force: true });
});

/**
 * One Python for the file's Keras predictions (test/fixtures/keras/predict.py --serve, Keras's NumPy backend):
 * starting Python and importing Keras costs seconds of CPU, paid once instead of once per model.
 */
let python: ChildProcessWithoutNullStreams | undefined;
const answers: Array<(line: string) => void> = [];
let kerasStderr = '';

/** Keras's own predictions of id rows (as helpers.ts's kerasPredict gives them), from the file's one Python. */
function kerasPredict(file: string, ids: number[][]): Promise<{ predictions: number[]; classes: number; keras: string; backend: string }> {
  if (!KERAS_PYTHON) throw new Error('RNN_KERAS_PYTHON is not set: the Keras bridge tests need a Python with Keras 3');
  if (!python) {
    const child = spawn(KERAS_PYTHON, [path.join(FIXTURES, 'predict.py'), '--serve'], { env: { ...process.env, KERAS_BACKEND: 'numpy' } });
    child.stderr.on('data', (d) => (kerasStderr = (kerasStderr + d).slice(-4000)));
    createInterface({ input: child.stdout }).on('line', (line) => answers.shift()?.(line));
    child.on('close', (code) => {
      for (const answer of answers.splice(0)) answer(JSON.stringify({ error: `Keras exited ${code}: ${kerasStderr}` }));
    });
    python = child;
  }
  const child = python;
  return new Promise((resolve, reject) => {
    answers.push((line) => {
      const r = JSON.parse(line) as { predictions: number[] | number[][]; keras: string; backend: string; error?: string };
      if (r.error) return reject(new Error(`Keras failed on ${file}: ${r.error}`));
      const rows = r.predictions.every(Array.isArray) ? (r.predictions as number[][]) : undefined;
      resolve({ ...r, predictions: rows ? rows.flat() : (r.predictions as number[]), classes: rows ? (rows[0]?.length ?? 0) : 1 });
    });
    child.stdin.write(JSON.stringify({ file, ids }) + '\n');
  });
}

/** Largest |a − b| over two equal-length lists. */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/**
 * `rnn predict`'s probabilities for the reviews (binary: the probability of the second label; k classes: every
 * class's, in label order, review after review), and the ids it fed the model (rows of maxlen).
 */
async function rnnPredictions(dir: string): Promise<{ p: number[]; ids: number[][]; onednn: boolean }> {
  const m = await loadModelDir(run, dir);
  try {
    const names = labelsOf(m.metadata).names;
    const p = predictTexts(run.tf, m, texts, undefined, names).flatMap((x) =>
      x.probabilities ? names.map((n) => x.probabilities![n]!) : [x.probability],
    );
    const maxlen = m.metadata.preprocessing.maxlen;
    const x = encodeTexts(m, texts).x;
    const ids = texts.map((_, i) => Array.from(x.subarray(i * maxlen, (i + 1) * maxlen)));
    return { p, ids, onednn: m.kernels.name === 'onednn' && topologyOf(m.model, m.metadata.cell) !== undefined };
  } finally {
    m.model.dispose();
  }
}

const TRAINED: Array<{ name: string; flags: string[] }> = [
  { name: 'simplernn', flags: ['--cell', 'simplernn'] },
  { name: 'lstm', flags: ['--cell', 'lstm'] },
  { name: 'gru', flags: ['--cell', 'gru'] },
  { name: 'lstm-bi-mean', flags: ['--cell', 'lstm', '--bidirectional', '--pooling', 'mean'] },
];

for (const [i, t] of TRAINED.entries()) {
  test(`rnn → Keras → rnn, ${t.name}: Keras predicts what rnn predicts (1e-5); imported back, identical bytes`, async (c) => {
    const dir = path.join(work, 'models', t.name);
    await smallModel(env, dir, 11 + i, [...t.flags, '--no-ema', '--lr', '0.01']);
    const file = path.join(work, 'keras', `${t.name}.keras`);
    const k = await exportKeras(run, { model: dir, out: file });
    assert.equal(k.file, file);
    assert.equal(k.tokenizer, tokenizerBeside(file));
    assert.equal(k.bytes, (await fsp.stat(file)).size);
    assert.equal(await fsp.readFile(k.tokenizer, 'utf8'), await fsp.readFile(path.join(dir, 'tokenizer.json'), 'utf8'));
    assert.equal(k.labels, undefined, 'negative and positive need no labels file');
    await assert.rejects(fsp.stat(labelsBeside(file)), 'no labels file: what a binary export always wrote');
    const rnn = await rnnPredictions(dir);
    const spread = Math.max(...rnn.p) - Math.min(...rnn.p);
    assert.ok(spread > 0.2, `a trained model: predictions spread over real reviews (${spread})`);

    const back = path.join(work, 'models', `${t.name}-back`);
    const r = await importKeras(run, { file, tokenizer: k.tokenizer, out: back, padding: 'pre', truncating: 'pre', versions: VERSIONS });
    assert.equal(r.dir, back);
    for (const f of ['weights.bin', 'tokenizer.json']) {
      assert.ok((await fsp.readFile(path.join(back, f))).equals(await fsp.readFile(path.join(dir, f))), `${f} identical`);
    }
    assert.equal(maxDiff((await rnnPredictions(back)).p, rnn.p), 0);
    assert.deepEqual([r.metadata.labels, r.labelsFrom], [BINARY_LABELS, null]);

    if (skipKeras) return c.skip(skipKeras);
    const keras = await kerasPredict(file, rnn.ids);
    assert.equal(keras.keras, '3.15.1');
    assert.equal(keras.classes, 1);
    const d = maxDiff(keras.predictions, rnn.p);
    c.diagnostic(`Keras ${keras.keras} (${keras.backend}) vs rnn predict on ${texts.length} reviews: largest difference ${d}`);
    assert.ok(d <= 1e-5, `Keras vs rnn predict: largest difference ${d}`);
  });
}

/** Largest spread of a class's probability over the reviews (rows of `classes`). */
function classSpread(p: number[], classes: number): number {
  let best = 0;
  for (let c = 0; c < classes; c++) {
    const col = p.filter((_, i) => i % classes === c);
    best = Math.max(best, Math.max(...col) - Math.min(...col));
  }
  return best;
}

test('rnn → Keras → rnn, 3 classes: Dense(3, softmax); Keras predicts the 3 probabilities rnn predicts (1e-5); the labels travel beside the archive; imported back, identical bytes', async (c) => {
  // A GRU rnn trained on 2,500 real training reviews labeled negative, neutral or positive by their rating.
  const { file: csv } = await writeThreeClassCsv(work, { every: 10 });
  const data = await loadData({ data: csv, defaultSource: IMDB_TARBALL, splits: ['train'], dataDir: path.join(work, 'data') });
  assert.deepEqual(data.labels, { names: ['negative', 'neutral', 'positive'], numeric: false });
  const o = resolveTrainOptions({
    cell: 'gru',
    seed: 3,
    units: 16,
    vocabSize: 3000,
    maxlen: 80,
    epochs: 1,
    lr: 0.01,
    ema: null,
    classes: 3,
  });
  const result = await train(run, data.train, o, {}, undefined, data.labels);
  const dir = path.join(work, 'models', 'gru-3');
  const environment = { source: data.source, backend: { name: run.name, recurrentKernels: run.kernels.name }, versions: VERSIONS };
  await saveTrainingRun(run.tf, result, dir, environment);
  result.model.dispose();

  const file = path.join(work, 'keras', 'gru-3.keras');
  const k = await exportKeras(run, { model: dir, out: file });
  assert.equal(k.spec.classes, 3);
  assert.deepEqual(k.labels, { file: labelsBeside(file), names: ['negative', 'neutral', 'positive'], numeric: false });
  assert.equal(
    await fsp.readFile(labelsBeside(file), 'utf8'),
    '{\n  "names": [\n    "negative",\n    "neutral",\n    "positive"\n  ],\n  "numeric": false\n}\n',
  );
  const rnn = await rnnPredictions(dir);
  assert.equal(rnn.p.length, 3 * texts.length);
  assert.ok(classSpread(rnn.p, 3) > 0.2, `a trained model: a class's probability spreads over real reviews (${classSpread(rnn.p, 3)})`);

  // The labels file beside the archive is found by name, as the tokenizer is.
  const back = path.join(work, 'models', 'gru-3-back');
  const r = await importKeras(run, { file, tokenizer: k.tokenizer, out: back, padding: 'pre', truncating: 'pre', versions: VERSIONS });
  assert.deepEqual([r.spec.classes, r.metadata.labels, r.labelsFrom], [3, data.labels, labelsBeside(file)]);
  assert.equal(r.metadata.hyperParameters.classes, 3);
  for (const f of ['weights.bin', 'tokenizer.json']) {
    assert.ok((await fsp.readFile(path.join(back, f))).equals(await fsp.readFile(path.join(dir, f))), `${f} identical`);
  }
  assert.equal(maxDiff((await rnnPredictions(back)).p, rnn.p), 0);

  if (skipKeras) return c.skip(skipKeras);
  const keras = await kerasPredict(file, rnn.ids);
  assert.deepEqual([keras.keras, keras.classes], ['3.15.1', 3]);
  const d = maxDiff(keras.predictions, rnn.p);
  c.diagnostic(
    `Keras ${keras.keras} (${keras.backend}) vs rnn predict, 3 probabilities on ${texts.length} reviews: largest difference ${d}`,
  );
  assert.ok(d <= 1e-5, `Keras vs rnn predict: largest difference ${d}`);
});

test('two labels other than negative and positive travel in the labels file; a binary export removes one an earlier export left', async () => {
  const dir = path.join(work, 'models', 'two-named');
  await smallModel(env, dir, 13, ['--cell', 'gru', '--no-ema', '--lr', '0.01']);
  const metadataFile = path.join(dir, 'metadata.json');
  const metadata = JSON.parse(await fsp.readFile(metadataFile, 'utf8'));
  await fsp.writeFile(metadataFile, JSON.stringify({ ...metadata, labels: { names: ['bad', 'good'], numeric: false } }));
  const file = path.join(work, 'keras', 'two-named.keras');
  const k = await exportKeras(run, { model: dir, out: file });
  assert.deepEqual([k.spec.classes, k.labels], [undefined, { file: labelsBeside(file), names: ['bad', 'good'], numeric: false }]);
  const back = path.join(work, 'models', 'two-named-back');
  const r = await importKeras(run, { file, tokenizer: k.tokenizer, out: back, padding: 'pre', truncating: 'pre', versions: VERSIONS });
  assert.deepEqual([r.metadata.labels, r.labelsFrom], [{ names: ['bad', 'good'], numeric: false }, labelsBeside(file)]);
  assert.ok((await fsp.readFile(path.join(back, 'weights.bin'))).equals(await fsp.readFile(path.join(dir, 'weights.bin'))));

  await fsp.writeFile(metadataFile, JSON.stringify(metadata));
  const again = await exportKeras(run, { model: dir, out: file });
  assert.equal(again.labels, undefined);
  await assert.rejects(fsp.stat(labelsBeside(file)), "the other model's labels file is gone");
});

const KERAS_TRAINED = ['simplernn', 'lstm', 'gru', 'gru-bi-max'];

for (const name of KERAS_TRAINED) {
  test(`Keras-trained ${name} (test/fixtures/keras) imports and predicts what Keras predicts (1e-5)`, async (c) => {
    const file = path.join(FIXTURES, `${name}.keras`);
    const out = path.join(work, 'imported', name);
    const r = await importKeras(run, {
      file,
      tokenizer: path.join(FIXTURES, 'tokenizer.json'),
      out,
      padding: 'pre',
      truncating: 'pre',
      versions: VERSIONS,
    });
    assert.equal(r.metadata.imported?.kerasVersion, '3.15.1');
    assert.equal(r.metadata.dataset, undefined);
    const rnn = await rnnPredictions(out);
    assert.equal(rnn.onednn, run.kernels.name === 'onednn', "on rnn's oneDNN kernels whenever they are loaded");
    assert.ok(Math.max(...rnn.p) - Math.min(...rnn.p) > 0.1, 'a trained model: predictions spread over real reviews');
    if (skipKeras) return c.skip(skipKeras);
    const keras = await kerasPredict(file, rnn.ids);
    const d = maxDiff(keras.predictions, rnn.p);
    c.diagnostic(`Keras ${keras.keras} (${keras.backend}) vs rnn predict on ${texts.length} reviews: largest difference ${d}`);
    assert.ok(d <= 1e-5, `Keras vs rnn predict: largest difference ${d}`);
  });
}

test('Keras-trained 3 classes (test/fixtures/keras/lstm-3-classes.keras) import with --labels and predict what Keras predicts (1e-5)', async (c) => {
  const file = path.join(FIXTURES, 'lstm-3-classes.keras');
  const out = path.join(work, 'imported', 'lstm-3-classes');
  const labels = ['negative', 'neutral', 'positive'];
  const r = await importKeras(run, {
    file,
    tokenizer: path.join(FIXTURES, 'tokenizer.json'),
    labels,
    out,
    padding: 'pre',
    truncating: 'pre',
    versions: VERSIONS,
  });
  assert.deepEqual([r.spec.classes, r.metadata.labels, r.labelsFrom], [3, { names: labels, numeric: false }, '--labels']);
  const rnn = await rnnPredictions(out);
  assert.equal(rnn.onednn, run.kernels.name === 'onednn', "on rnn's oneDNN kernels whenever they are loaded");
  assert.equal(rnn.p.length, 3 * texts.length);
  assert.ok(classSpread(rnn.p, 3) > 0.1, "a trained model: a class's probability spreads over real reviews");
  if (skipKeras) return c.skip(skipKeras);
  const keras = await kerasPredict(file, rnn.ids);
  assert.equal(keras.classes, 3);
  const d = maxDiff(keras.predictions, rnn.p);
  c.diagnostic(
    `Keras ${keras.keras} (${keras.backend}) vs rnn predict, 3 probabilities on ${texts.length} reviews: largest difference ${d}`,
  );
  assert.ok(d <= 1e-5, `Keras vs rnn predict: largest difference ${d}`);
});

test('refused imports write nothing: an unsupported layer, a tokenizer too large for the embedding, a bad weight, a length mismatch', async () => {
  const tokenizer = path.join(FIXTURES, 'tokenizer.json');
  const out = path.join(work, 'refused');
  const base = { out, tokenizer, padding: 'pre' as const, truncating: 'pre' as const, versions: VERSIONS };
  const good = (await readArchive(path.join(FIXTURES, 'lstm.keras'))).files;
  const misshapen = path.join(work, 'misshapen.keras');
  const config = JSON.parse(Buffer.from(good['config.json']).toString());
  config.config.layers[2].config.units = 9;
  await writeArchive(misshapen, { ...good, 'config.json': new TextEncoder().encode(JSON.stringify(config)) });
  const threeClasses = path.join(FIXTURES, 'lstm-3-classes.keras');
  const badLabels = path.join(work, 'bad-labels.json');
  await fsp.writeFile(badLabels, JSON.stringify({ names: ['negative', 'negative', 'positive'], numeric: false }));
  const bigTokenizer = path.join(work, 'big-tokenizer.json');
  const tok = JSON.parse(await fsp.readFile(tokenizer, 'utf8'));
  tok.config.num_words = 51;
  await fsp.writeFile(bigTokenizer, JSON.stringify(tok));
  const cases: Array<{ o: Partial<Parameters<typeof importKeras>[1]>; code: ErrorCode; message: string }> = [
    {
      o: { file: path.join(FIXTURES, 'gru-reset-after.keras') },
      code: 'KERAS_UNSUPPORTED',
      message: `${path.join(FIXTURES, 'gru-reset-after.keras')}: GRU "gru_2" has reset_after=True`,
    },
    {
      o: { file: path.join(FIXTURES, 'lstm.keras'), tokenizer: bigTokenizer },
      code: 'MODEL_TOKENIZER_MISMATCH',
      message: `${bigTokenizer} keeps 51 words but the model's embedding takes 50 ids`,
    },
    {
      o: { file: misshapen },
      code: 'KERAS_WEIGHTS',
      message: `${misshapen}'s model.weights.h5 has layers/lstm/cell/vars/0 of shape [8, 32], the model's config says [8, 36]`,
    },
    {
      o: { file: path.join(FIXTURES, 'lstm.keras'), maxlen: 100 },
      code: 'KERAS_MAXLEN_MISMATCH',
      message: `--maxlen 100 differs from the 64 ids ${path.join(FIXTURES, 'lstm.keras')} takes`,
    },
    {
      o: { file: threeClasses },
      code: 'KERAS_LABELS_MISSING',
      message: `${threeClasses} has 3 classes (Dense(3, softmax), 3 labels) but nothing names them (looked for ${path.join(FIXTURES, 'lstm-3-classes.labels.json')})`,
    },
    {
      o: { file: threeClasses, labels: ['negative', 'positive'] },
      code: 'KERAS_LABELS_MISMATCH',
      message: `--labels names 2 labels (negative, positive) but ${threeClasses} has 3 classes (Dense(3, softmax), 3 labels)`,
    },
    {
      o: { file: path.join(FIXTURES, 'lstm.keras'), labels: ['negative', 'neutral', 'positive'] },
      code: 'KERAS_LABELS_MISMATCH',
      message: `--labels names 3 labels (negative, neutral, positive) but ${path.join(FIXTURES, 'lstm.keras')} has 2 classes (Dense(1, sigmoid), two labels)`,
    },
    {
      o: { file: threeClasses, labelsFile: badLabels },
      code: 'KERAS_LABELS_INVALID',
      message: `${badLabels} is not a labels file: "names": it names the label "negative" twice`,
    },
  ];
  for (const k of cases) {
    await assert.rejects(importKeras(run, { ...base, ...k.o } as Parameters<typeof importKeras>[1]), (e: unknown) => {
      assert.ok(e instanceof UserError, String(e));
      assert.equal(e.message, k.message);
      assert.equal(e.code, k.code);
      return true;
    });
    await assert.rejects(fsp.stat(out), 'nothing written');
  }
});
