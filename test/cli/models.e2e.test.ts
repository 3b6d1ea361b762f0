/**
 * Training control and saved-model commands through the real CLI on real IMDB reviews: best-weight restore
 * with the last epoch kept in `last/`, early stopping, `history.svg`, `rnn eval` recording `eval.json`,
 * `rnn info` and `rnn list`.
 */
import { probeOnednn } from '../../src/kernels/index.js';
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { runCli, imdbWorkspace, tempDir } from '../helpers.js';

let native = false;
let work = '';
let env: NodeJS.ProcessEnv = {};
before(async () => {
  ({ native, work, env } = await imdbWorkspace('rnn-models-'));
});

// lr 0.05 on 160 reviews overfits at once: with seed 7 validation loss is best at epoch 1 (measured:
// 0.692, 0.730, 1.003, 1.311), so the saved model is epoch 1's and the last epoch goes to last/.
const small = [
  '--validation-split',
  '0.2',
  '--limit',
  '200',
  '--maxlen',
  '30',
  '--units',
  '8',
  '--embedding-dim',
  '8',
  '--vocab-size',
  '500',
  '--lr',
  '0.05',
  '--monitor',
  'val_loss',
  '--seed',
  '7',
];

test('rnn train keeps the best epoch, the last one in last/, and both evaluate; info and list describe them', async (t) => {
  if (!native) return t.skip('the native backend is needed to train');
  const out = path.join(work, 'models', 'gru');
  const tr = await runCli(['train', '--cell', 'gru', '--epochs', '4', ...small, '--json'], { env });
  assert.equal(tr.code, 0, tr.stderr);
  const lines = tr.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const epochs = lines.slice(0, 4);
  const saved = lines[4];
  const best = epochs.reduce((b, e) => (e.val_loss < b.val_loss ? e : b));
  assert.ok(best.epoch < 4, 'this setup overfits: validation loss is best before the last epoch');
  assert.equal(saved.epoch, best.epoch);
  assert.equal(saved.bestEpoch, best.epoch);
  assert.deepEqual(saved.final, best);
  assert.deepEqual(
    epochs.map((e) => e.best),
    epochs.map((e, i) => epochs.slice(0, i).every((p) => e.val_loss < p.val_loss)),
  );
  assert.ok(
    tr.stderr.includes(
      `restored the weights of epoch ${best.epoch} (best val_loss ${best.val_loss.toFixed(4)}); the last epoch's model is in ${path.join(out, 'last')}\n`,
    ),
    tr.stderr,
  );
  const meta = JSON.parse(await fsp.readFile(path.join(out, 'metadata.json'), 'utf8'));
  assert.deepEqual(meta.weights, {
    epoch: best.epoch,
    bestEpoch: best.epoch,
    monitor: 'val_loss',
    stoppedEarly: false,
    lastCheckpoint: 'last',
  });
  const lastMeta = JSON.parse(await fsp.readFile(path.join(out, 'last', 'metadata.json'), 'utf8'));
  assert.equal(lastMeta.weights.epoch, 4);
  assert.match(await fsp.readFile(path.join(out, 'history.svg'), 'utf8'), /^<\?xml[^]*<svg [^]*<\/svg>\n$/);

  // Both models load and score; their predictions differ (they are different epochs).
  const evBest = await runCli(['eval', '--limit', '300', '--json'], { env });
  const evLast = await runCli(['eval', '--model', path.join(out, 'last'), '--limit', '300', '--json'], { env });
  assert.equal(evBest.code, 0, evBest.stderr);
  assert.equal(evLast.code, 0, evLast.stderr);
  assert.notEqual(JSON.parse(evBest.stdout).loss, JSON.parse(evLast.stdout).loss);
  const record = JSON.parse(await fsp.readFile(path.join(out, 'eval.json'), 'utf8'));
  assert.equal(record.metrics.accuracy, JSON.parse(evBest.stdout).accuracy);
  assert.equal(record.data.reviews, 300);

  const info = await runCli(['info'], { env });
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stdout, new RegExp(`^  model +${out}\n`));
  assert.match(info.stdout, /\n  cell +gru, 8 units · 4,417 parameters\n/);
  // which kernels trained it (this test's process chose the default, --kernels auto)
  assert.match(
    info.stdout,
    probeOnednn().addon
      ? /\n  kernels +oneDNN 2\.\d+\.\d+ whole-sequence kernels \(rnn's addon\) · whole training step in the addon\n/
      : /\n  kernels +(TensorFlow LSTMBlockCell\/GRUBlockCell kernels|tfjs ops)\n/,
  );
  assert.match(
    info.stdout,
    new RegExp(`\n  weights +epoch ${best.epoch} \\(best by val_loss: epoch ${best.epoch}\\) · val_acc \\d+\\.\\d\\d%\n`),
  );
  assert.match(info.stdout, /\n  data +\S+aclImdb_v1\.tar\.gz · 160 training \/ 40 validation reviews · \d+\.\d\d% truncated at 30\n/);
  assert.match(
    info.stdout,
    /\n  training +batch 32, adam lr 0\.05 \(cosine\), clip norm 1, word dropout 0\.4, weight average \(ema 0\.995\), validation split 0\.2, seed 7\n/,
  );
  assert.match(
    info.stdout,
    new RegExp(
      `\n  test +accuracy ${(record.metrics.accuracy * 100).toFixed(2)}% · F1 \\d+\\.\\d\\d% · ROC-AUC 0\\.\\d{4} \\(300 reviews, \\d{4}-\\d\\d-\\d\\d\\)\n`,
    ),
  );
  assert.match(
    info.stdout,
    /\n  files +eval\.json \(.*\), history\.svg \(.*\), metadata\.json \(.*\), model\.json \(.*\), tokenizer\.json \(.*\), weights\.bin \(.*\), last\/ \(last epoch\)\n/,
  );
  assert.match(
    info.stdout,
    new RegExp(
      `\nlearning curves \\(4 epochs, best epoch ${best.epoch} by val_loss\\)\n  loss +train [▁-█]{4} .*\n  accuracy +train [▁-█]{4} .*\n$`,
    ),
  );
  const infoJson = JSON.parse((await runCli(['info', '--json'], { env })).stdout);
  assert.equal(infoJson.metadata.cell, 'gru');
  assert.equal(infoJson.lastCheckpoint, path.join(out, 'last'));

  // Early stopping: patience 1 ends right after the first epoch that does not improve.
  const es = await runCli(
    [
      'train',
      '--cell',
      'simplernn',
      '--epochs',
      '10',
      '--early-stopping',
      '1',
      ...small,
      '--out',
      path.join(work, 'models', 'es'),
      '--json',
    ],
    { env },
  );
  assert.equal(es.code, 0, es.stderr);
  const esLines = es.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const esSaved = esLines.at(-1);
  assert.equal(esSaved.stoppedEarly, true);
  assert.equal(esLines.length - 1, esSaved.bestEpoch + 1, 'one epoch after the best, then stop');
  assert.ok(es.stderr.includes('early stopping: val_loss did not improve for 1 epoch(s)\n'), es.stderr);

  // rnn list: newest first, latest marked, the last/ checkpoint not listed as a model of its own.
  const list = await runCli(['list'], { env });
  assert.equal(list.code, 0, list.stderr);
  const rows = list.stdout.trim().split('\n');
  assert.match(rows[0]!, /^NAME +CELL +PARAMS +EPOCHS +VAL ACC +TEST ACC +CREATED$/);
  assert.match(
    rows[1]!,
    new RegExp(
      `^es \\* +simplernn +4,145 +${esSaved.epoch} of ${esLines.length - 1} +\\d+\\.\\d\\d% +– +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d$`,
    ),
  );
  assert.match(
    rows[2]!,
    new RegExp(`^gru +gru +4,417 +${best.epoch} of 4 +\\d+\\.\\d\\d% +${(record.metrics.accuracy * 100).toFixed(2)}% +\\d{4}-`),
  );
  assert.equal(rows.length, 3);
  const listJson = JSON.parse((await runCli(['list', '--json'], { env })).stdout);
  assert.deepEqual(
    listJson.map((r: { name: string; latest: boolean }) => [r.name, r.latest]),
    [
      ['es', true],
      ['gru', false],
    ],
  );
});

test('rnn list on an empty models directory says how to train one; a broken model is listed as unreadable', async () => {
  const dir = await tempDir('rnn-list-');
  const e = { RNN_MODELS_DIR: dir };
  const empty = await runCli(['list'], { env: e });
  assert.equal(empty.code, 0);
  assert.equal(empty.stdout, '');
  assert.equal(empty.stderr, `no models in ${dir}; train one with \`rnn train --cell lstm\`\n`);
  await fsp.mkdir(path.join(dir, 'broken'));
  await fsp.writeFile(path.join(dir, 'broken', 'metadata.json'), '{not json');
  const broken = await runCli(['list'], { env: e });
  const [head, row, ...rest] = broken.stdout.split('\n');
  assert.equal(head, 'NAME    CELL  PARAMS  EPOCHS  VAL ACC  TEST ACC  CREATED');
  assert.ok(row!.startsWith(`broken  unreadable: ${path.join(dir, 'broken', 'metadata.json')} is not valid JSON (`), row);
  assert.deepEqual(rest, ['']);
});
