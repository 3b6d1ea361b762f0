/**
 * `rnn train --unlabeled` (self-training) end to end on real IMDB reviews, at small sizes: the teacher's and the
 * student's lines, the record in metadata.json that `rnn info` shows, the text fingerprints beside the model and
 * `rnn eval`'s report of test reviews among the unlabeled texts, a model that loads in stock tfjs; Ctrl-C in the
 * student and --resume reach the uninterrupted run; the bad inputs, each one `error:` line with its code, exit 1.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as tfn from '@tensorflow/tfjs';
import { textFingerprint, textFingerprints } from '../../src/data/texts.js';
import { IMDB_TARBALL, imdb, imdbWorkspace, jsonLines, modelArtifacts, oneError, runAndInterrupt, runCli, runOnce } from '../helpers.js';

let native = false;
let work = '';
let env: NodeJS.ProcessEnv = {};
let unlabeled = '';
before(async () => {
  ({ native, work, env } = await imdbWorkspace('rnn-self-train-'));
  // 600 training reviews the run's --limit leaves out (its 400 are the first of the seeded shuffle: some of
  // these may be among them, and come out of the pool) and 20 test reviews, one per line.
  const d = await imdb();
  unlabeled = path.join(work, 'unlabeled.txt');
  const oneLine = (r: { text: string }) => !/[\r\n]/.test(r.text);
  const texts = [...d.train.slice(5000).filter(oneLine).slice(0, 600), ...d.test.filter(oneLine).slice(0, 20)].map((r) => r.text);
  await fsp.writeFile(unlabeled, texts.join('\n') + '\n');
});

const args = (out: string, extra: string[] = []) => [
  'train',
  '--cell',
  'gru',
  '--data',
  IMDB_TARBALL,
  '--limit',
  '400',
  '--maxlen',
  '100',
  '--vocab-size',
  '1000',
  '--units',
  '16',
  '--embedding-dim',
  '16',
  '--epochs',
  '1',
  '--seed',
  '7',
  '--unlabeled',
  unlabeled,
  '--student-epochs',
  '20',
  '--json',
  '--out',
  out,
  ...extra,
];

/** The uninterrupted run, once: the first test's, and the one the Ctrl-C test's resumed run must reach. */
const full = runOnce(
  () => path.join(work, 'models', 'self'),
  (dir) => args(dir),
  () => env,
);

test('train --unlabeled: teacher, pseudo-labels, student; the record info shows; fingerprints and eval report the test reviews among the texts; stock tfjs loads it', async (t) => {
  if (!native) return t.skip('the native backend is needed to train');
  const { dir, p } = await full();
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stderr, /self-training: 620 unlabeled texts from .*unlabeled\.txt/);
  assert.match(p.stderr, /^teacher epoch 1 /m);
  assert.match(
    p.stderr,
    /self-training: [\d,]+ pseudo-labels of \d+ unlabeled texts .*the student trains on them and the labeled reviews for 20 epochs/,
  );
  assert.match(p.stderr, /student epoch 20 /);
  // stdout: the teacher's epoch, the record, the student's 20 epochs, the saved model.
  const out = jsonLines(p.stdout);
  assert.deepEqual(
    out.map((l) => (l.selfTraining && !l.saved ? 'record' : l.saved ? 'saved' : `epoch ${String(l.epoch)}`)),
    ['epoch 1', 'record', ...Array.from({ length: 20 }, (_, i) => `epoch ${i + 1}`), 'saved'],
  );
  const meta = JSON.parse(await fsp.readFile(path.join(dir, 'metadata.json'), 'utf8'));
  const st = meta.selfTraining;
  assert.equal(st.source.kind, 'text');
  assert.equal(st.source.path, unlabeled);
  assert.equal(st.unlabeledTexts, 620);
  assert.ok(st.pool <= 620 && st.pool >= 580, `pool ${st.pool}: the 620 texts but those among the run's 400`);
  assert.equal(st.predicted[0] + st.predicted[1], st.pool);
  assert.deepEqual(
    st.kept,
    st.predicted.map((n: number) => Math.floor(n * 0.5)),
  );
  assert.equal(st.teacher.history.length, 1);
  assert.equal(meta.history.length, 20, "the model's history is the student's");
  assert.equal(meta.dataset.trainReviews, 360, 'the labeled reviews trained on');
  assert.deepEqual(
    [meta.hyperParameters.unlabeled, meta.hyperParameters.pseudoShare, meta.hyperParameters.studentEpochs],
    [unlabeled, 0.5, 20],
  );
  // One fingerprint of each distinct text (two of these 620 reviews are the same text).
  const fp = await fsp.stat(path.join(dir, 'unlabeled-texts.fp'));
  const texts = (await fsp.readFile(unlabeled, 'utf8')).trim().split('\n');
  assert.equal(fp.size, textFingerprints(texts).length * 8);

  const info = await runCli(['info', '--model', dir], { env });
  assert.equal(info.code, 0, info.stderr);
  assert.match(
    info.stdout,
    /self-trained\s+[\d,]+ pseudo-labels of \d+ unlabeled texts of .*unlabeled\.txt \(the teacher's surest 50% of each class: [\d,]+ negative, [\d,]+ positive; teacher epoch 1/,
  );

  const ev = await runCli(['eval', '--model', dir, '--data', IMDB_TARBALL, '--json'], { env });
  assert.equal(ev.code, 0, ev.stderr);
  // The 20 test reviews written, and any other test review whose text is one of the 600 (IMDB repeats some).
  const among = new Set(textFingerprints(texts));
  const inTest = (await imdb()).test.filter((r) => among.has(textFingerprint(r.text))).length;
  assert.ok(inTest >= 20);
  assert.match(
    ev.stderr,
    new RegExp(`warning: ${inTest} of the 25,000 test reviews are among the unlabeled texts the model was self-trained on`),
  );
  assert.deepEqual(JSON.parse(ev.stdout).selfTraining, { unlabeled, reviews: inTest });

  // Stock tfjs loads the student and predicts with it.
  const m = await tfn.loadLayersModel(tfn.io.fromMemory((await modelArtifacts(dir)) as tfn.io.ModelArtifacts));
  const y = m.predict(tfn.zeros([2, 100], 'int32')) as tfn.Tensor;
  assert.deepEqual(y.shape, [2, 1]);
  m.dispose();
});

test("Ctrl-C in the student saves a checkpoint; --resume trains the student alone and reaches the uninterrupted run's weights", async (t) => {
  if (!native) return t.skip('the native backend is needed to train');
  const { dir, p: a } = await full();
  assert.equal(a.code, 0, a.stderr);
  const cut = path.join(work, 'models', 'self-cut');
  const b = await runAndInterrupt(args(cut), env, (out) => out.includes('"selfTraining"'));
  assert.equal(b.code, 130, b.stderr);
  assert.match(b.stderr, /checkpoint saved to .*self-cut\.checkpoint \(the student's epoch 1 of 20, \d+ of (\d+) batches done\)/);
  const kept = (jsonLines(b.stdout).find((l) => l.selfTraining)!.selfTraining as { kept: number[] }).kept.reduce((x, y) => x + y, 0);
  assert.equal(Number(/of (\d+) batches done/.exec(b.stderr)![1]), Math.ceil((360 + kept) / 32));
  const ckpt = JSON.parse(await fsp.readFile(path.join(`${cut}.checkpoint`, 'checkpoint.json'), 'utf8'));
  assert.ok(ckpt.state.student, "the student's checkpoint");
  assert.equal(ckpt.data.unlabeled.path, unlabeled);
  // The unlabeled texts changed since: the resume is refused, and the checkpoint kept.
  const original = await fsp.readFile(unlabeled, 'utf8');
  await fsp.writeFile(unlabeled, original + 'one more text\n');
  try {
    assert.equal(oneError(await runCli(['train', '--resume', `${cut}.checkpoint`, '--json'], { env })), 'CHECKPOINT_DATA_MISMATCH');
  } finally {
    await fsp.writeFile(unlabeled, original);
  }
  const c = await runCli(['train', '--resume', `${cut}.checkpoint`, '--json'], { env });
  assert.equal(c.code, 0, c.stderr);
  assert.doesNotMatch(c.stderr, /^teacher epoch/m);
  assert.match(c.stderr, /student epoch 20 /);
  const wa = await fsp.readFile(path.join(dir, 'weights.bin'));
  const wb = await fsp.readFile(path.join(cut, 'weights.bin'));
  assert.ok(wa.equals(wb), 'the resumed student is the uninterrupted one');
});

test('bad input: --pseudo-share or --student-epochs without --unlabeled, an empty or missing --unlabeled, texts that are all labeled: one line each', async () => {
  for (const flag of [
    ['--pseudo-share', '0.3'],
    ['--student-epochs', '2'],
  ]) {
    const c = await runCli(['train', '--cell', 'gru', '--data', IMDB_TARBALL, ...flag, '--json'], { env });
    assert.equal(oneError(c), 'OPTION_CONFLICT');
    assert.match(c.stderr, new RegExp(`${flag[0]} applies to self-training`));
  }
  const empty = path.join(work, 'empty.txt');
  await fsp.writeFile(empty, '\n\n');
  const e = await runCli(['train', '--cell', 'gru', '--data', IMDB_TARBALL, '--limit', '100', '--unlabeled', empty, '--json'], { env });
  assert.equal(oneError(e), 'DATA_EMPTY');
  assert.match(e.stderr, /Pass --unlabeled with/);
  const missing = await runCli(['train', '--cell', 'gru', '--data', IMDB_TARBALL, '--unlabeled', path.join(work, 'nope.txt'), '--json'], {
    env,
  });
  assert.equal(oneError(missing), 'DATA_NOT_FOUND');
  // A CSV trained on whole (--test-split 0) and given as its own unlabeled texts: nothing left to label.
  const csv = path.join(work, 'small.csv');
  const d = await imdb();
  const rows = d.train.filter((_, i) => i % 500 === 0).map((r) => `"${r.text.replace(/"/g, '""')}",${r.label}`);
  await fsp.writeFile(csv, 'review,label\n' + rows.join('\n') + '\n');
  const all = await runCli(
    [
      'train',
      '--cell',
      'gru',
      '--data',
      csv,
      '--test-split',
      '0',
      '--units',
      '8',
      '--vocab-size',
      '500',
      '--epochs',
      '1',
      '--unlabeled',
      csv,
      '--json',
    ],
    { env },
  );
  assert.equal(oneError(all), 'UNLABELED_ALL_LABELED');
});
