/**
 * Self-training (src/train/self-train.ts, `train` with unlabeled texts) on real IMDB reviews at small sizes: the
 * pseudo-labels are the teacher's surest share of each class; the pool leaves out the run's own training and
 * validation reviews; the teacher is the run of one model with the same options, and its labels are the ones
 * the student trains on; a run interrupted in the student resumes there (no second teacher) and reaches the
 * uninterrupted run's weights. A few seconds of training.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadBackend, type Runtime } from '../../src/backend/index.js';
import { resolveTrainOptions, type TrainOptions } from '../../src/train/options.js';
import { train } from '../../src/train/index.js';
import { pickPseudoLabels, unlabeledPool } from '../../src/train/self-train.js';
import { createPredictor, encode, predictArrays } from '../../src/predict/index.js';
import { textFingerprint } from '../../src/data/texts.js';
import type { Review } from '../../src/data/index.js';
import type { TrainResult } from '../../src/train/types.js';
import { mulberry32, shuffleInPlace } from '../../src/util/random.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/io/checkpoint.js';
import * as path from 'node:path';
import { REQUIRE_NATIVE, imdb, tempDir } from '../helpers.js';

let run: Runtime;
let reviews: Review[] = [];
before(async () => {
  run = await loadBackend({ requireNative: REQUIRE_NATIVE });
  // 800 reviews of distinct texts, both labels: a pool whose size is exact.
  const seen = new Set<bigint>();
  reviews = (await imdb()).train
    .filter((r, i) => i % 25 === 0 && !seen.has(textFingerprint(r.text)) && seen.add(textFingerprint(r.text)))
    .slice(0, 800);
});

test('pseudo-labels: the surest share of each predicted class, rounded down; ties in pool order; the share is checked', () => {
  // Two classes: one probability of class 1 a row. Class 0: rows 1 (0.8), 3 (0.95), 5 (0.55); class 1: rows 0, 2, 4.
  const binary = Float32Array.from([0.9, 0.2, 0.6, 0.05, 0.55, 0.45]);
  assert.deepEqual(pickPseudoLabels(binary, 2, 0.5), { index: [3, 0], label: [0, 1], predicted: [3, 3], kept: [1, 1] });
  assert.deepEqual(pickPseudoLabels(binary, 2, 1), {
    index: [3, 1, 5, 0, 2, 4],
    label: [0, 0, 0, 1, 1, 1],
    predicted: [3, 3],
    kept: [3, 3],
  });
  // Three classes: one probability per class; rows 0 and 2 tie on class 2 (pool order), row 1 is class 0.
  const three = Float32Array.from([0.1, 0.2, 0.7, 0.6, 0.3, 0.1, 0.2, 0.1, 0.7, 0.1, 0.8, 0.1]);
  assert.deepEqual(pickPseudoLabels(three, 3, 1), { index: [1, 3, 0, 2], label: [0, 1, 2, 2], predicted: [1, 1, 2], kept: [1, 1, 2] });
  assert.deepEqual(pickPseudoLabels(three, 3, 0.5), { index: [0], label: [2], predicted: [1, 1, 2], kept: [0, 0, 1] });
  for (const bad of [0, -0.1, 1.5, Number.NaN]) assert.throws(() => pickPseudoLabels(binary, 2, bad), /share/);
});

test("the pool: the unlabeled texts but the run's labeled ones (compared as reviews are cleaned), in order, with their indices", () => {
  const pool = unlabeledPool(['a good film', 'bad<br />film', 'fine', 'a good film', 'new'], ['bad film', 'a good film ']);
  assert.deepEqual(pool, { texts: ['fine', 'new'], from: [2, 4] });
});

const options = (extra: Partial<TrainOptions> = {}): TrainOptions =>
  resolveTrainOptions({
    cell: 'gru',
    seed: 3,
    limit: 200,
    epochs: 2,
    batchSize: 32,
    maxlen: 60,
    vocabSize: 1000,
    units: 8,
    embeddingDim: 8,
    ...extra,
  });
const selfTrained = (extra: Partial<TrainOptions> = {}) =>
  options({ unlabeled: 'the 800 reviews', pseudoShare: 0.5, studentEpochs: 2, ...extra });

test('self-training on real reviews: the teacher is the run of one model; the student trains on its labels; Ctrl-C in the student resumes there', async () => {
  const texts = reviews.map((r) => r.text);
  // The teacher alone: a run of one model with the same options.
  const teacher = await train(run, reviews, options());
  // The run's labeled reviews: the first 200 of its seeded shuffle (180 to train, 20 to validate).
  const shuffled = [...reviews];
  shuffleInPlace(shuffled, mulberry32(3));
  const poolTexts = unlabeledPool(
    texts,
    shuffled.slice(0, 200).map((r) => r.text),
  ).texts;
  assert.equal(poolTexts.length, 600);

  // Interrupted at the student's first batch: the checkpoint carries the pseudo-labels and the teacher's record.
  let studentStarted = false;
  let teacherEpochs = 0;
  const stopped = await train(
    run,
    reviews,
    selfTrained(),
    {
      onEpoch: () => teacherEpochs++,
      onStudent: () => (studentStarted = true),
      shouldStop: () => studentStarted,
    },
    undefined,
    undefined,
    undefined,
    texts,
  );
  assert.equal(teacherEpochs, 2, "the teacher's two epochs ran");
  const ckpt = stopped.interrupted!;
  assert.ok(ckpt?.student, 'a checkpoint of the student');
  stopped.model.dispose();
  const record = ckpt.student.record;
  // The pool: the 800 texts but the 200 the run used (180 to train, 20 to validate).
  assert.equal(record.unlabeledTexts, 800);
  assert.equal(record.pool, 600);
  assert.equal(
    record.predicted.reduce((a, b) => a + b, 0),
    600,
  );
  assert.deepEqual(
    record.kept,
    record.predicted.map((n) => Math.floor(n / 2)),
  );
  const metrics = (h: TrainResult['history']) => h.map((e) => [e.loss, e.acc, e.val_loss, e.val_acc]);
  assert.deepEqual(metrics(record.teacher.history), metrics(teacher.history));
  assert.equal(record.teacher.weightsEpoch, teacher.weightsEpoch);

  // The labels are the plain teacher's surest half of each class of the pool.
  const o = options();
  const predictor = createPredictor(run.tf, { model: teacher.model, cell: 'gru', kernels: teacher.kernels }, o.maxlen);
  const want = pickPseudoLabels(predictArrays(predictor, encode(teacher.tokenizer, poolTexts, o).x, 256), 2, 0.5);
  assert.deepEqual(ckpt.student.picked, { index: want.index, label: want.label });
  teacher.model.dispose();

  // Through checkpoint.json and state.bin (the pseudo-labels and the record in its state, checked by its schema).
  const dir = path.join(await tempDir('rnn-self-train-'), 'm.checkpoint');
  const source = { kind: 'text' as const, path: '/texts.txt', sha256: 'ab', parts: { lines: 800 }, includesTest: false };
  await saveCheckpoint(dir, { options: selfTrained(), out: '/m', data: { flags: {}, source, unlabeled: source } }, ckpt);
  const loaded = await loadCheckpoint(dir);
  assert.deepEqual(loaded.checkpoint.student, ckpt.student);
  assert.equal(loaded.meta.data.unlabeled?.path, '/texts.txt');

  // Resumed: the student alone (no teacher epoch), to the uninterrupted run's weights.
  let epochs = 0;
  let studentCalls = 0;
  const batches = new Set<number>();
  const resumed = await train(
    run,
    reviews,
    selfTrained(),
    { onEpoch: () => epochs++, onStudent: () => studentCalls++, onBatch: (b) => batches.add(b.batches) },
    loaded.checkpoint,
    undefined,
    undefined,
    texts,
  );
  assert.equal(epochs, 2, "only the student's epochs");
  // Its batches: the 180 labeled training reviews and the pseudo-labels.
  const kept = record.kept.reduce((a, b) => a + b, 0);
  assert.deepEqual([...batches], [Math.ceil((180 + kept) / 32)]);
  assert.equal(studentCalls, 1);
  const whole = await train(run, reviews, selfTrained(), {}, undefined, undefined, undefined, texts);
  assert.deepEqual(weights(resumed), weights(whole));
  // The result: the student's model and history, the run's own options and labeled counts, the record.
  assert.equal(whole.history.length, 2);
  assert.equal(whole.options.epochs, 2);
  assert.deepEqual(whole.counts, { train: 180, validation: 20, repeatsDropped: 0 });
  assert.deepEqual(whole.selfTraining!.kept, record.kept);
  resumed.model.dispose();
  whole.model.dispose();
});

function weights(r: TrainResult): Float32Array[] {
  return r.model.getWeights().map((w) => w.dataSync() as Float32Array);
}
