/**
 * The training loop with k ≥ 3 classes (real reviews labelled by their rating): the model ends in
 * Dense(k, softmax), trained by the oneDNN step when the kernels are oneDNN's and by tfjs's otherwise, and the
 * two runs agree; validation reports sparse categorical cross-entropy and the most probable class's accuracy,
 * which the saved model's predictions reproduce; `balanced` class weights are computed from the training
 * split; an interrupted run resumed from its checkpoint (written and read back) ends as an uninterrupted one;
 * a binary run's options stay as they were.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs';
import { loadBackend, type Runtime, type TF } from '../../src/backend/index.js';
import { train } from '../../src/train/index.js';
import { resolveTrainOptions, trainClasses, type TrainOptions } from '../../src/train/options.js';
import { sparseLossAndAccuracy } from '../../src/train/loss.js';
import { balancedClassWeights, IMDB_RATING_LABELS, labelCounts } from '../../src/data/labels.js';
import { classesOf } from '../../src/models/index.js';
import { createPredictor, encode, predictArrays } from '../../src/predict/index.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/io/checkpoint.js';
import { tfjsKernels } from '../../src/kernels/index.js';
import { mulberry32, shuffleInPlace } from '../../src/util/random.js';
import { splitValidation } from '../../src/data/split.js';
import type { Review } from '../../src/data/index.js';
import { REQUIRE_NATIVE, tempDir } from '../helpers.js';
import { interleavedReviews, maxAbsDiff, onednnKernels, ratingClass, skipOnednn as skip } from '../onednn-helpers.js';

let tf: TF;
let run: Runtime;
let reviews: Review[] = [];
before(async () => {
  run = await loadBackend({ requireNative: REQUIRE_NATIVE });
  tf = run.tf;
  // Labels are class indices: the eight ratings.
  reviews = (await interleavedReviews()).slice(0, 300).map((r) => ({ ...r, label: ratingClass(r, 8) as Review['label'] }));
});

const small = {
  cell: 'gru' as const,
  epochs: 2,
  batchSize: 32,
  maxlen: 30,
  units: 6,
  embeddingDim: 6,
  vocabSize: 400,
  seed: 7,
  classes: 8,
  wordDropout: 0,
};

/** The run's split: its seeded shuffle, then the stratified validation split (src/data/split.ts, tested on its own). */
function splitOf(o: TrainOptions): { train: Review[]; validation: Review[] } {
  const shuffled = [...reviews];
  shuffleInPlace(shuffled, mulberry32(o.seed));
  return splitValidation(shuffled, o.validationSplit, IMDB_RATING_LABELS, 'the reviews');
}

const weightsOf = (m: LayersModel): Float32Array[] => m.trainableWeights.map((w) => (w.read().dataSync() as Float32Array).slice());

test('options: classes and classWeight are kept only when they say something; a binary run resolves as it always did', () => {
  const binary = resolveTrainOptions({ cell: 'lstm', seed: 1, classes: 2 });
  assert.equal('classes' in binary, false);
  assert.equal('classWeight' in binary, false);
  assert.deepEqual(binary, resolveTrainOptions({ cell: 'lstm', seed: 1 }));
  assert.equal(trainClasses(binary), 2);
  const k = resolveTrainOptions({ cell: 'lstm', seed: 1, classes: 8, classWeight: 'balanced' });
  assert.deepEqual([k.classes, k.classWeight, trainClasses(k)], [8, 'balanced', 8]);
  // Checkpoints of runs before k classes have neither: they are binary, without class weights.
  const { classes: _c, classWeight: _w, ...old } = k;
  assert.equal(trainClasses(old as TrainOptions), 2);
});

test(
  '8 classes on the oneDNN kernels: Dense(8, softmax), the oneDNN step, validation = the saved model scored independently; the tfjs step agrees',
  { skip },
  async () => {
    const before = tf.memory().numTensors;
    const o = resolveTrainOptions({ ...small, ema: null });
    const r = await train({ tf, kernels: onednnKernels }, reviews, o, {}, undefined, IMDB_RATING_LABELS);
    assert.equal(r.step, 'onednn');
    assert.equal(classesOf(r.model), 8);
    assert.equal(r.model.loss, 'sparseCategoricalCrossentropy');
    assert.equal(r.history.length, 2);
    for (const e of r.history) for (const v of [e.loss, e.acc, e.val_loss!, e.val_acc!]) assert.ok(Number.isFinite(v));
    assert.ok(Math.abs(r.history[0]!.loss - Math.log(8)) < 0.3, `the first epoch starts near ln 8: ${r.history[0]!.loss}`);
    assert.ok(r.history[1]!.loss < r.history[0]!.loss, 'the loss falls');
    // Validation, recomputed from the model: the seeded shuffle's stratified 10% (as prepareData draws it).
    const val = splitOf(o).validation;
    const { x } = encode(
      r.tokenizer,
      val.map((v) => v.text),
      o,
    );
    const probs = predictArrays(createPredictor(tf, { model: r.model, cell: o.cell, kernels: tfjsKernels('check') }, o.maxlen), x, 64);
    const v = sparseLossAndAccuracy(
      probs,
      val.map((v) => v.label),
      8,
    );
    const last = r.history[r.weightsEpoch - 1]!; // the model holds the best epoch's weights
    assert.ok(Math.abs(v.loss - last.val_loss!) < 1e-5, `val_loss ${last.val_loss} vs ${v.loss}`);
    assert.equal(v.acc, last.val_acc);
    // The same run on tfjs's trainOnBatch (the fused layers on the tfjs kernels).
    const t = await train({ tf, kernels: tfjsKernels('compare') }, reviews, o, {}, undefined, IMDB_RATING_LABELS);
    assert.equal(t.step, 'tfjs');
    r.history.forEach((e, i) => {
      const f = t.history[i]!;
      assert.ok(
        Math.abs(e.loss - f.loss) < 1e-4 && Math.abs(e.val_loss! - f.val_loss!) < 1e-4,
        `epoch ${i + 1}: ${e.loss}/${e.val_loss} vs ${f.loss}/${f.val_loss}`,
      );
      assert.ok(Math.abs(e.acc - f.acc) < 1e-6, `epoch ${i + 1}: acc ${e.acc} vs ${f.acc}`);
    });
    assert.ok(maxAbsDiff(weightsOf(r.model), weightsOf(t.model)) < 1e-4);
    for (const m of [r.model, t.model]) {
      m.dispose();
      (m.optimizer as unknown as { dispose(): void }).dispose();
    }
    assert.equal(tf.memory().numTensors, before);
  },
);

test("balanced class weights: from the training split's labels, recorded in the result; they change the run", { skip }, async () => {
  const o = resolveTrainOptions({ ...small, epochs: 1 });
  const plain = await train({ tf, kernels: onednnKernels }, reviews, o, {}, undefined, IMDB_RATING_LABELS);
  const weighted = await train(
    { tf, kernels: onednnKernels },
    reviews,
    resolveTrainOptions({ ...small, epochs: 1, classWeight: 'balanced' }),
    {},
    undefined,
    IMDB_RATING_LABELS,
  );
  const trainLabels = splitOf(o).train.map((r) => r.label);
  assert.deepEqual(
    weighted.classWeights,
    balancedClassWeights(
      labelCounts(
        Array.from(trainLabels, (label) => ({ label })),
        8,
      ),
    ),
  );
  assert.equal(weighted.options.classWeight, 'balanced');
  assert.equal(plain.classWeights, undefined);
  assert.notEqual(weighted.history[0]!.loss, plain.history[0]!.loss);
  const given = await train(
    { tf, kernels: onednnKernels },
    reviews,
    resolveTrainOptions({ ...small, epochs: 1, classWeight: weighted.classWeights }),
    {},
    undefined,
    IMDB_RATING_LABELS,
  );
  assert.deepEqual(given.history[0], {
    ...weighted.history[0],
    seconds: given.history[0]!.seconds,
    samplesPerSec: given.history[0]!.samplesPerSec,
  });
  await assert.rejects(
    train(
      { tf, kernels: onednnKernels },
      reviews,
      resolveTrainOptions({ ...small, classWeight: [1, 2] }),
      {},
      undefined,
      IMDB_RATING_LABELS,
    ),
    /2 class weights were given for 8 classes/,
  );
  await assert.rejects(
    train({ tf, kernels: onednnKernels }, reviews, resolveTrainOptions({ ...small, classes: 5 }), {}, undefined, IMDB_RATING_LABELS),
    /8 labels, but the options train 5 classes/,
  );
  for (const r of [plain, weighted, given]) r.model.dispose();
});

for (const kernels of ['onednn', 'tfjs'] as const)
  test(
    `interrupted and resumed from its checkpoint (saved and read back), an 8-class class-weighted run ends as the uninterrupted one (${kernels} step)`,
    { skip: kernels === 'onednn' && skip },
    async () => {
      const k = kernels === 'onednn' ? onednnKernels : tfjsKernels('asked');
      const o = resolveTrainOptions({ ...small, epochs: 2, maxlen: 20, units: 4, classWeight: 'balanced', limit: 200 });
      const straight = await train({ tf, kernels: k }, reviews, o, {}, undefined, IMDB_RATING_LABELS);
      let batches = 0;
      const stopped = await train(
        { tf, kernels: k },
        reviews,
        o,
        { onBatch: () => batches++, shouldStop: () => batches === 8 },
        undefined,
        IMDB_RATING_LABELS,
      );
      assert.ok(stopped.interrupted, 'stopped in the second epoch');
      assert.equal(stopped.interrupted.epoch, 2);
      const dir = path.join(await tempDir(), 'run.checkpoint');
      await saveCheckpoint(
        dir,
        { options: stopped.options, out: '/x', data: { flags: {}, source: { kind: 'csv', path: '/x.csv', sha256: '0' } } },
        stopped.interrupted,
      );
      stopped.model.dispose();
      const { meta, checkpoint } = await loadCheckpoint(dir);
      assert.deepEqual([meta.options.classes, meta.options.classWeight], [8, 'balanced']);
      const resumed = await train({ tf, kernels: k }, reviews, meta.options, {}, checkpoint, IMDB_RATING_LABELS);
      const d = maxAbsDiff(weightsOf(resumed.model), weightsOf(straight.model));
      assert.ok(d < 1e-5, `weights differ by ${d}`);
      const m = (r: typeof straight) => r.history.map(({ loss, acc, val_loss, val_acc }) => [loss, acc, val_loss, val_acc]);
      m(resumed).forEach((e, i) =>
        e.forEach((v, j) => assert.ok(Math.abs(v! - m(straight)[i]![j]!) < 1e-5, `epoch ${i + 1}, metric ${j}`)),
      );
      assert.deepEqual(resumed.classWeights, straight.classWeights);
      for (const r of [straight, resumed]) r.model.dispose();
    },
  );
