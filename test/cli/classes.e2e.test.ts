/**
 * Three labels end to end through the real CLI, on real IMDB reviews labeled negative, neutral or positive by
 * their ratings (test/three-class.ts; no review text is committed): train, eval, predict, --explain --class,
 * compare and serve, checked against stock tfjs-layers on the saved model.json with Keras's preprocessing
 * (test/reference.ts). And IMDB's eight ratings with `--target rating`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { loadBackend, type LoadedBackend } from '../../src/backend/index.js';
import { IMDB_TARBALL, REQUIRE_NATIVE, ROOT, runCli, tempDir } from '../helpers.js';
import { trainedModel, SMALL_MODEL } from '../models.js';
import { stockPredictions } from '../reference.js';
import { sharedThreeClassCsv, threeClassRows } from '../three-class.js';

const LABELS = ['negative', 'neutral', 'positive'];
let run: LoadedBackend;
let work = '';
let env: NodeJS.ProcessEnv = {};
let csv = '';
let model = '';
let texts: string[] = [];
/** `rnn predict --model <three> --json` over `texts`, once: the first test checks it, the serve test compares with it. */
let predicted: Awaited<ReturnType<typeof runCli>>;

before(async () => {
  run = await loadBackend({ requireNative: REQUIRE_NATIVE });
  work = await tempDir('rnn-classes-');
  env = { RNN_IMDB_URL: IMDB_TARBALL, RNN_MODELS_DIR: path.join(work, 'models'), RNN_DATA_DIR: path.join(work, 'data') };
  csv = await sharedThreeClassCsv();
  model = path.join(work, 'models', 'three');
  await trainedModel([...SMALL_MODEL, '--cell', 'gru', '--limit', '4000', '--epochs', '2', '--seed', '5', '--data', csv], model, env);
  texts = (await threeClassRows({ split: 'test', every: 500 })).map((r) => r.text);
  predicted = await runCli(['predict', '--model', model, '--json'], { env, input: texts.join('\n') + '\n' });
});
after(() => fsp.rm(work, { recursive: true, force: true }));

const jsonLines = (s: string): Record<string, unknown>[] =>
  s
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

test("rnn train on three labels: Dense(3, softmax), the labels in metadata.json, and stock tfjs gives rnn predict's probabilities", async () => {
  const meta = JSON.parse(await fsp.readFile(path.join(model, 'metadata.json'), 'utf8'));
  assert.deepEqual(meta.labels, { names: LABELS, numeric: false });
  assert.equal(meta.hyperParameters.classes, 3);
  const topology = JSON.parse(await fsp.readFile(path.join(model, 'model.json'), 'utf8')).modelTopology;
  const dense = topology.config.layers.at(-1).config;
  assert.deepEqual([dense.units, dense.activation], [3, 'softmax']);
  const r = predicted;
  assert.equal(r.code, 0, r.stderr);
  const preds = jsonLines(r.stdout);
  const stock = await stockPredictions(run.tf, model, texts);
  assert.equal(preds.length, texts.length);
  preds.forEach((p, i) => {
    const probs = p.probabilities as Record<string, number>;
    assert.deepEqual(Object.keys(probs), LABELS, 'keyed by label, in label order');
    const values = Object.values(probs);
    values.forEach((v, c) => assert.ok(Math.abs(v - stock[i]!.probabilities[c]!) <= 1e-5, `${v} vs stock ${stock[i]!.probabilities[c]}`));
    const top = values.indexOf(Math.max(...values));
    assert.equal(p.label, LABELS[top]);
    assert.equal(p.probability, values[top]);
    assert.deepEqual([p.words, p.unknownWords, p.truncatedIds], [stock[i]!.words, stock[i]!.unknownWords, stock[i]!.truncatedIds]);
  });
  assert.ok(new Set(preds.map((p) => p.label)).size >= 2, 'the model tells the labels apart');
  const human = await runCli(['predict', '--model', model, texts[0]!], { env });
  assert.match(
    human.stdout,
    /^(negative|neutral|positive)  0\.\d{4}  ".*"(  \(.*\))?\n  (negative|neutral|positive) \d+\.\d% · (negative|neutral|positive) \d+\.\d% · (negative|neutral|positive) \d+\.\d%\n$/,
  );
});

test('rnn eval on the held-out rows: the k-label figures, consistent with its own confusion matrix; eval.json and confusion.svg', async () => {
  const r = await runCli(['eval', '--model', model, '--data', csv, '--json'], { env });
  assert.equal(r.code, 0, r.stderr);
  const e = JSON.parse(r.stdout);
  assert.deepEqual(e.labels, LABELS);
  assert.equal(e.data.scope, 'held-out rows');
  const n = e.data.reviews;
  const confusion = e.confusion as number[][];
  assert.equal(
    confusion.flat().reduce((a, b) => a + b, 0),
    n,
  );
  const trace = confusion.reduce((a, row, i) => a + row[i]!, 0);
  assert.ok(Math.abs(e.accuracy - trace / n) < 1e-12);
  e.perClass.forEach((c: { support: number; recall: number; precision: number; f1: number }, i: number) => {
    const row = confusion[i]!;
    const colSum = confusion.reduce((a, r2) => a + r2[i]!, 0);
    assert.equal(
      c.support,
      row.reduce((a, b) => a + b, 0),
    );
    assert.ok(Math.abs(c.recall - (c.support ? row[i]! / c.support : 0)) < 1e-12);
    assert.ok(Math.abs(c.precision - (colSum ? row[i]! / colSum : 0)) < 1e-12);
  });
  const macro = e.perClass.reduce((a: number, c: { f1: number }) => a + c.f1, 0) / 3;
  assert.ok(Math.abs(e.macroF1 - macro) < 1e-12);
  assert.ok(e.logLoss > 0 && Number.isFinite(e.logLoss));
  assert.equal(e.meanAbsoluteError, undefined, 'names, not numbers: no mean absolute error');
  const record = JSON.parse(await fsp.readFile(path.join(model, 'eval.json'), 'utf8'));
  assert.equal(record.metrics.macroF1, e.macroF1);
  const svg = await fsp.readFile(path.join(model, 'confusion.svg'), 'utf8');
  assert.match(svg, /^(<\?xml [^>]*>\n)?<svg[\s\S]*negative[\s\S]*neutral[\s\S]*positive[\s\S]*<\/svg>\n?$/);
  const human = await runCli(['eval', '--model', model, '--data', csv], { env });
  assert.match(human.stdout, /^  model +.* \(gru, 3 labels: negative, neutral, positive\)$/m);
  assert.match(human.stdout, /^  macro-F1 +\d+\.\d\d%$/m);
  assert.match(human.stdout, /^  true \\ predicted +negative +neutral +positive$/m);
  const info = await runCli(['info', '--model', model], { env });
  assert.match(info.stdout, /^  labels +3: negative, neutral, positive$/m);
  assert.match(info.stdout, /^  test +accuracy \d+\.\d\d% · macro-F1 \d+\.\d\d% · weighted-F1 \d+\.\d\d% \(/m);
});

test('--explain explains the predicted label, --class another: contributions are drops of its log-probability', async () => {
  const text = texts[1]!;
  const r = await runCli(['predict', '--model', model, '--explain', '--class', 'neutral', '--json', text], { env });
  assert.equal(r.code, 0, r.stderr);
  const e = JSON.parse(r.stdout);
  assert.equal(e.explained, 'neutral');
  // One word's contribution against an independent forward of the review without it (stock tfjs-layers).
  const words = e.words as { word: string; seen: boolean; contribution: number }[];
  const w = words.findIndex((x) => x.seen);
  const without = words
    .filter((_, i) => i !== w)
    .map((x) => x.word)
    .join(' ');
  const [full, less] = await stockPredictions(run.tf, model, [text, without]);
  const expected = Math.log(full!.probabilities[1]!) - Math.log(less!.probabilities[1]!);
  assert.ok(Math.abs(e.words[w].contribution - expected) < 1e-4, `${e.words[w].contribution} vs ${expected}`);
  const predicted = await runCli(['predict', '--model', model, '--explain', '--json', text], { env });
  assert.equal(JSON.parse(predicted.stdout).explained, JSON.parse(predicted.stdout).label);
  const bad = await runCli(['predict', '--model', model, '--explain', '--class', 'great', text], { env });
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, 'error: --class great is not a label of this model. Pass one of negative, neutral, positive\n');
});

test('rnn serve: /v1/predict answers as predict --json, /v1/model lists the labels, explanations per label', async () => {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'rnn'), 'serve', '--model', model, '--port', '0'], {
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        const m = /on (http:\/\/\S+?)(,|\n)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on('close', (code) => reject(new Error(`rnn serve exited ${code}`)));
    });
    for (let i = 0; i < 100 && (await fetch(`${url}/readyz`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
    const post = async (body: unknown) =>
      (await (
        await fetch(`${url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      ).json()) as {
        predictions: Record<string, unknown>[];
      };
    const served = await post({ texts: texts.slice(0, 5) });
    // rnn predict --json over the same five reviews (the first five of its run over all of them: one row at a time,
    // its batches do not change a row's figures).
    assert.equal(predicted.code, 0, predicted.stderr);
    const cli = jsonLines(predicted.stdout).slice(0, 5);
    served.predictions.forEach((p, i) => {
      assert.deepEqual(Object.keys(p), ['text', ...Object.keys(cli[i]!).filter((k) => k !== 'text')]);
      assert.equal(p.label, cli[i]!.label);
      for (const l of LABELS)
        assert.ok(Math.abs((p.probabilities as Record<string, number>)[l]! - (cli[i]!.probabilities as Record<string, number>)[l]!) < 1e-6);
    });
    const explained = await post({ texts: [texts[1]], explain: true });
    assert.equal(explained.predictions[0]!.explained, explained.predictions[0]!.label);
    const info = (await (await fetch(`${url}/v1/model`)).json()) as { labels: string[] };
    assert.deepEqual(info.labels, LABELS);
  } finally {
    child.kill('SIGTERM');
  }
});

test('rnn compare on three labels: macro- and weighted-F1 in its table', async () => {
  const out = path.join(work, 'models', 'compare3');
  const r = await runCli(
    [
      'compare',
      '--cells',
      'gru',
      ...SMALL_MODEL.slice(2),
      '--limit',
      '1500',
      '--seed',
      '3',
      '--data',
      csv,
      '--test-limit',
      '300',
      '--out',
      out,
    ],
    { env },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /test acc +macro-F1 +weighted-F1/);
  const report = JSON.parse(await fsp.readFile(path.join(out, 'report.json'), 'utf8'));
  assert.equal(report.rows[0].options.classes, 3);
  assert.ok(report.rows[0].test.macroF1 >= 0 && report.rows[0].test.macroF1 <= 1);
});

test('--target rating: the eight ratings of the file names, mean absolute error in rating units; rnn data shows them per split', async () => {
  const dir = path.join(work, 'models', 'ratings');
  await trainedModel([...SMALL_MODEL, '--cell', 'gru', '--limit', '2000', '--seed', '2', '--target', 'rating'], dir, env);
  const meta = JSON.parse(await fsp.readFile(path.join(dir, 'metadata.json'), 'utf8'));
  assert.deepEqual(meta.labels, { names: ['1', '2', '3', '4', '7', '8', '9', '10'], numeric: true });
  assert.equal(meta.dataset.target, 'rating');
  // eval reads the test split with the model's target without being told.
  const e = JSON.parse((await runCli(['eval', '--model', dir, '--limit', '400', '--json'], { env })).stdout);
  assert.deepEqual(e.labels, meta.labels.names);
  assert.ok(e.meanAbsoluteError > 0 && e.meanAbsoluteError < 9);
  assert.ok(e.withinOneStep >= e.accuracy && e.withinOneStep <= 1);
  const data = await runCli(['data', '--target', 'rating', '--json'], { env });
  assert.equal(data.code, 0, data.stderr);
  const stats = JSON.parse(data.stdout);
  assert.deepEqual(stats.labels.names, meta.labels.names);
  assert.ok(existsSync(path.join(dir, 'weights.bin')));
});
