/**
 * `rnn pretrain` and `rnn train --init` end to end on real IMDB reviews, at small sizes (a few seconds each):
 * the language model directory that `rnn info` and `rnn list` show; a classifier started from it that records it,
 * saves and loads in stock tfjs; `rnn eval`'s leak guard for texts the language model read; Ctrl-C and --resume;
 * and the bad inputs, each one `error:` line with its code and exit 1.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as tfn from '@tensorflow/tfjs';
import {
  escapeRegExp,
  IMDB_TARBALL,
  imdbWorkspace,
  jsonErrorOf,
  jsonLines,
  modelArtifacts,
  oneError,
  runAndInterrupt,
  runCli,
  runOnce,
} from '../helpers.js';

let native = false;
let work = '';
let env: NodeJS.ProcessEnv = {};
before(async () => {
  ({ native, work, env } = await imdbWorkspace('rnn-pretrain-'));
});

const small = ['--vocab-size', '1000', '--units', '32', '--embedding-dim', '16'];
const lmArgs = (out: string, extra: string[] = []) => [
  'pretrain',
  '--cell',
  'gru',
  '--data',
  IMDB_TARBALL,
  '--limit',
  '600',
  ...small,
  '--epochs',
  '2',
  '--seed',
  '42',
  '--json',
  '--out',
  out,
  ...extra,
];
const clf = (out: string, lm: string, extra: string[] = []) => [
  'train',
  '--cell',
  'gru',
  '--init',
  lm,
  '--limit',
  '400',
  '--maxlen',
  '100',
  ...small,
  '--epochs',
  '1',
  '--seed',
  '1',
  '--out',
  out,
  ...extra,
];

/**
 * The language model of the first test (`rnn pretrain` with {@link lmArgs} as they are), pretrained once: the
 * Ctrl-C test's uninterrupted run too, which its interrupted and resumed one must reach.
 */
const languageModel = runOnce(
  () => path.join(work, 'models', 'lm'),
  (dir) => lmArgs(dir),
  () => env,
);

test('pretrain → info/list → train --init → stock tfjs loads it → eval reports the overlap; non-LM and mismatched --init fail with one line', async (t) => {
  if (!native) return t.skip('the native backend is needed to train');
  const { dir: lm, p } = await languageModel();
  assert.equal(p.code, 0, p.stderr);
  const [e1, e2, done] = jsonLines(p.stdout) as [Record<string, number>, Record<string, number>, Record<string, unknown>];
  assert.ok(e2.loss! < e1.loss!, 'the loss falls');
  assert.equal(done.kind, 'language-model');
  assert.ok(
    (e2.val_perplexity as number) < (done.unigramPerplexity as number),
    `perplexity ${e2.val_perplexity} beats the unigram's ${done.unigramPerplexity}`,
  );
  const meta = JSON.parse(await fsp.readFile(path.join(lm, 'metadata.json'), 'utf8'));
  assert.equal(meta.kind, 'language-model');
  assert.equal(meta.texts.sha256.length, 64);
  assert.equal(meta.texts.texts, 600);
  assert.equal(meta.texts.includesTest, false);
  assert.ok((await fsp.stat(path.join(lm, 'texts.fp'))).size > 0);

  const info = await runCli(['info', '--model', lm], { env });
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stdout, /language model/);
  assert.match(info.stdout, /perplexity/);
  const list = await runCli(['list', '--json'], { env });
  assert.equal(list.code, 0, list.stderr);
  assert.ok((JSON.parse(list.stdout) as { kind?: string }[]).some((r) => r.kind === 'language-model'));

  // A language model is no classifier.
  assert.equal(oneError(await runCli(['eval', '--model', lm, '--limit', '50', '--json'], { env })), 'MODEL_IS_LANGUAGE_MODEL');

  const ft = path.join(work, 'models', 'ft');
  const tr = await runCli(clf(ft, lm, ['--gradual-unfreezing']), { env });
  assert.equal(tr.code, 0, tr.stderr);
  const fm = JSON.parse(await fsp.readFile(path.join(ft, 'metadata.json'), 'utf8'));
  assert.equal(fm.hyperParameters.gradualUnfreezing, true);
  const fi = await runCli(['info', '--model', ft], { env });
  assert.equal(fi.code, 0, fi.stderr);
  assert.match(fi.stdout, new RegExp(`pretrained +from the language model ${escapeRegExp(lm)}, gradual unfreezing`));
  assert.equal(fm.init.path, lm);
  assert.equal(fm.init.weightsSha256, meta.weightsSha256);
  assert.equal(fm.init.texts.sha256, meta.texts.sha256);
  assert.equal(fm.hyperParameters.init, lm);
  assert.equal(await fsp.readFile(path.join(ft, 'tokenizer.json'), 'utf8'), await fsp.readFile(path.join(lm, 'tokenizer.json'), 'utf8'));
  // Stock tfjs loads the fine-tuned model and predicts with it.
  const model = await tfn.loadLayersModel(tfn.io.fromMemory(await modelArtifacts(ft)));
  const out = model.predict(tfn.zeros([2, 100], 'int32')) as tfn.Tensor;
  assert.deepEqual(out.shape, [2, 1]);
  model.dispose();

  // 2,000 of the 25,000 test reviews: what is checked (the record of the language model, an overlap count, the scope) does not depend on how many.
  const ev = await runCli(['eval', '--model', ft, '--limit', '2000', '--json'], { env });
  assert.equal(ev.code, 0, ev.stderr);
  const er = JSON.parse(ev.stdout);
  assert.equal(er.pretraining.languageModel, lm);
  assert.equal(typeof er.pretraining.reviews, 'number');
  assert.equal(er.data.scope, 'test split');

  // Bad --init: a classifier, a missing directory, other shapes.
  assert.equal(oneError(await runCli(clf(path.join(work, 'models', 'x'), ft, ['--json']), { env })), 'INIT_NOT_LANGUAGE_MODEL');
  assert.equal(
    oneError(await runCli(clf(path.join(work, 'models', 'x'), path.join(work, 'nope'), ['--json']), { env })),
    'INIT_NOT_LANGUAGE_MODEL',
  );
  const mismatch = await runCli(clf(path.join(work, 'models', 'x'), lm, ['--units', '48', '--json']), { env });
  assert.equal(oneError(mismatch), 'INIT_MISMATCH');
  assert.match(jsonErrorOf(mismatch.stderr).message, /units is 32, the classifier's 48/);
  // Checked from metadata.json before any data is read: a missing dataset is not what it reports.
  const missing = ['--data', path.join(work, 'no-such.csv'), '--json'];
  assert.equal(oneError(await runCli(clf(path.join(work, 'models', 'x'), lm, ['--units', '48', ...missing]), { env })), 'INIT_MISMATCH');
  assert.equal(oneError(await runCli(clf(path.join(work, 'models', 'x'), ft, missing), { env })), 'INIT_NOT_LANGUAGE_MODEL');
  const human = await runCli(clf(path.join(work, 'models', 'x'), lm, ['--units', '48']), { env });
  assert.equal(human.code, 1);
  assert.deepEqual(
    human.stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('error:')).length,
    1,
  );
});

test("rnn compare --init: the language model's cell from scratch and from it, on one split, the second recording it; a cell list without it fails with one line", async (t) => {
  if (!native) return t.skip('the native backend is needed to train');
  const { dir: lm, p } = await languageModel();
  assert.equal(p.code, 0, p.stderr);
  const out = path.join(work, 'models', 'cmp-init');
  const args = clf(out, lm, ['--test-limit', '200', '--json']).filter((a) => a !== 'train' && a !== '--cell' && a !== 'gru');
  const r = await runCli(['compare', ...args], { env });
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as {
    data: { trainReviews: number; testReviews: number };
    rows: { name: string; init: boolean; dir: string; test: { accuracy: number } }[];
  };
  assert.deepEqual(
    report.rows.map((x) => [x.name, x.init]),
    [
      ['gru', false],
      ['gru init', true],
    ],
  );
  assert.equal(report.data.testReviews, 200);
  const [scratch, init] = await Promise.all(
    report.rows.map(async (x) => JSON.parse(await fsp.readFile(path.join(x.dir, 'metadata.json'), 'utf8'))),
  );
  assert.equal(scratch.init, undefined);
  assert.equal(init.init.path, lm);
  assert.equal(init.hyperParameters.init, lm);
  assert.equal(
    await fsp.readFile(path.join(report.rows[1]!.dir, 'tokenizer.json'), 'utf8'),
    await fsp.readFile(path.join(lm, 'tokenizer.json'), 'utf8'),
  );
  assert.notEqual(
    await fsp.readFile(path.join(report.rows[0]!.dir, 'tokenizer.json'), 'utf8'),
    await fsp.readFile(path.join(lm, 'tokenizer.json'), 'utf8'),
  );
  // Both rows read the same training reviews (one split by the shared seed).
  for (const k of ['trainReviews', 'validationReviews', 'sha256']) assert.equal(scratch.dataset[k], init.dataset[k], k);
  const bad = await runCli(['compare', ...args, '--cells', 'lstm'], { env });
  assert.equal(oneError(bad), 'INIT_MISMATCH');
  assert.match(jsonErrorOf(bad.stderr).message, /is a gru, and --cells lstm leaves it out/);
});

test('leak guard: a language model pretrained with --allow-test-text makes rnn eval refuse the test set unless --allow-training-data', async (t) => {
  if (!native) return t.skip('the native backend is needed to train');
  const lm = path.join(work, 'models', 'lm-test');
  const p = await runCli(lmArgs(lm, ['--allow-test-text', '--epochs', '1']), { env });
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stderr, /--allow-test-text/);
  const meta = JSON.parse(await fsp.readFile(path.join(lm, 'metadata.json'), 'utf8'));
  assert.equal(meta.texts.includesTest, true);
  const ft = path.join(work, 'models', 'ft-test');
  const tr = await runCli(clf(ft, lm), { env });
  assert.equal(tr.code, 0, tr.stderr);
  const refused = await runCli(['eval', '--model', ft, '--json'], { env });
  assert.equal(oneError(refused), 'EVAL_ON_PRETRAINING_TEXT');
  // rnn compare scores test reviews too, and has no --allow-training-data: refused before any data is read.
  const compared = ['compare', '--init', lm, '--limit', '400', '--maxlen', '100', ...small, '--epochs', '1', '--json'];
  assert.equal(oneError(await runCli(compared, { env })), 'EVAL_ON_PRETRAINING_TEXT');
  const allowed = await runCli(['eval', '--model', ft, '--json', '--allow-training-data'], { env });
  assert.equal(allowed.code, 0, allowed.stderr);
  const r = JSON.parse(allowed.stdout);
  assert.equal(r.data.scope, 'pretraining text');
  assert.ok(r.pretraining.reviews > 100, `${r.pretraining.reviews} test reviews among the language model's texts`);
});

test('bad input: an empty text file is one DATA_EMPTY line; pretrain without --cell, and train with --gradual-unfreezing or --init-lr-scale but no --init, are refused', async () => {
  const empty = path.join(work, 'empty.txt');
  await fsp.writeFile(empty, '\n\n');
  assert.equal(oneError(await runCli(['pretrain', '--cell', 'lstm', '--data', empty, '--json'], { env })), 'DATA_EMPTY');
  const r = await runCli(['pretrain', '--data', empty], { env });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--cell/);
  for (const flag of [['--gradual-unfreezing'], ['--init-lr-scale', '0.5']]) {
    const c = await runCli(['train', '--cell', 'gru', '--data', empty, ...flag, '--json'], { env });
    assert.equal(oneError(c), 'OPTION_CONFLICT');
    assert.match(c.stderr, new RegExp(`${flag[0]} applies to a run started with --init`));
  }
});

test('Ctrl-C saves a checkpoint and exits 130; --resume reaches the uninterrupted run', async (t) => {
  if (!native) return t.skip('the native backend is needed to train');
  const { dir: full, p: a } = await languageModel();
  assert.equal(a.code, 0, a.stderr);
  const cut = path.join(work, 'models', 'lm-cut');
  const b = await runAndInterrupt(lmArgs(cut), env, (out) => out.includes('\n'), 300);
  assert.equal(b.code, 130, b.stderr);
  assert.match(b.stderr, /checkpoint saved to .*lm-cut\.checkpoint/);
  await assert.rejects(fsp.stat(cut));
  const list = await runCli(['list'], { env });
  assert.match(list.stdout, /interrupted gru pretraining .*rnn pretrain --resume/);
  // A pretraining checkpoint is not rnn train's.
  assert.equal(oneError(await runCli(['train', '--resume', `${cut}.checkpoint`, '--json'], { env })), 'CHECKPOINT_INVALID');
  const c = await runCli(['pretrain', '--resume', `${cut}.checkpoint`, '--json'], { env });
  assert.equal(c.code, 0, c.stderr);
  await assert.rejects(fsp.stat(`${cut}.checkpoint`));
  const want = jsonLines(a.stdout)[1]!;
  const got = jsonLines(c.stdout)[0]!;
  assert.equal(got.epoch, 2);
  assert.ok(Math.abs((got.val_loss as number) - (want.val_loss as number)) < 1e-4, `held-out loss ${got.val_loss} vs ${want.val_loss}`);
  const wa = await fsp.readFile(path.join(full, 'weights.bin'));
  const wb = await fsp.readFile(path.join(cut, 'weights.bin'));
  const fa = new Float32Array(wa.buffer, wa.byteOffset, wa.byteLength / 4);
  const fb = new Float32Array(wb.buffer, wb.byteOffset, wb.byteLength / 4);
  let worst = 0;
  for (let i = 0; i < fa.length; i++) worst = Math.max(worst, Math.abs(fa[i]! - fb[i]!));
  assert.ok(worst < 1e-4, `weights differ by up to ${worst}`);
});
