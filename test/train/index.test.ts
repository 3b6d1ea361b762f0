import { test, before } from 'node:test';
import type { LayersModel } from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { loadBackend, type Runtime, type TF } from '../../src/backend/index.js';
import { train } from '../../src/train/index.js';
import { resolveTrainOptions, type TrainOptions } from '../../src/train/options.js';
import type { BatchProgress } from '../../src/train/types.js';
import { migrateCheckpoint, type CheckpointMeta } from '../../src/io/checkpoint.js';
import { WeightAverage } from '../../src/train/ema.js';
import type { Review } from '../../src/data/index.js';
import { probeOnednn } from '../../src/kernels/index.js';
import { REQUIRE_NATIVE, REQUIRE_ONEDNN, imdb } from '../helpers.js';

let tf: TF;
let run: Runtime;
let reviews: Review[] = [];
before(async () => {
  run = await loadBackend({ requireNative: REQUIRE_NATIVE });
  tf = run.tf;
  const d = await imdb();
  reviews = [...d.train.slice(0, 100), ...d.train.slice(-100)];
});

test("defaults are the seed's (3 epochs, adam 1e-3, vocab 10000, dim 100, maxlen 256, 128 units, pre/pre) with Keras fit's batch 32, plus a validation split of 0.1, cosine decay, a global-norm clip of 1, word dropout 0.4 and a weight average", () => {
  const o = resolveTrainOptions({ cell: 'lstm', seed: 1 });
  assert.deepEqual(o, {
    cell: 'lstm',
    preset: 'lesson',
    epochs: 3,
    batchSize: 32,
    lr: 1e-3,
    validationSplit: 0.1,
    seed: 1,
    limit: undefined,
    dedupe: false,
    vocabSize: 10000,
    embeddingDim: 100,
    maxlen: 256,
    units: 128,
    bidirectional: false,
    pooling: 'last',
    padding: 'pre',
    truncating: 'pre',
    oovToken: null,
    layers: 'fused',
    monitor: 'val_acc',
    restoreBest: true,
    earlyStopping: undefined,
    lrSchedule: { kind: 'cosine', minLr: 0 },
    ema: 0.995,
    wordDropout: 0.4,
    clipNorm: 1,
  });
  assert.equal(resolveTrainOptions({ cell: 'gru', clipNorm: null }).clipNorm, null, 'null turns the clip off');
  assert.equal(resolveTrainOptions({ cell: 'gru', ema: null }).ema, null, 'null turns the average off');
  assert.equal(
    resolveTrainOptions({ cell: 'gru', validationSplit: 0 }).monitor,
    'acc',
    'without validation reviews the training accuracy decides',
  );
});

test('train(): Keras-style split, one history entry per epoch, batch progress, no tensors left behind', async () => {
  const before = tf.memory().numTensors;
  const batches: BatchProgress[] = [];
  const o = resolveTrainOptions({
    cell: 'gru',
    epochs: 2,
    batchSize: 32,
    maxlen: 20,
    units: 4,
    embeddingDim: 5,
    vocabSize: 300,
    seed: 11,
    limit: 150,
  });
  const r = await train(run, reviews, o, { onBatch: (b) => batches.push(b) });
  assert.deepEqual(r.counts, { train: 135, validation: 15, repeatsDropped: 0 }, 'the default split holds out 10%');
  assert.equal(r.history.length, 2);
  assert.deepEqual(
    batches.map((b) => `${b.epoch}:${b.batch}/${b.batches}`),
    ['1:1/5', '1:2/5', '1:3/5', '1:4/5', '1:5/5', '2:1/5', '2:2/5', '2:3/5', '2:4/5', '2:5/5'],
  );
  for (const e of r.history) for (const k of ['loss', 'acc', 'val_loss', 'val_acc'] as const) assert.ok(Number.isFinite(e[k]), k);
  assert.ok(r.truncatedShare > 0.5, 'most reviews are longer than 20 ids');
  assert.equal(r.tokenizer.documentCount, 150);
  r.model.dispose();
  // Whatever train() created is gone once the model is disposed (optimizer slots belong to the model's optimizer).
  (r.model.optimizer as unknown as { dispose(): void }).dispose();
  assert.equal(tf.memory().numTensors, before);
});

// A small, quickly overfitting setup (lr 0.05 on 160 reviews) whose validation loss is best before the last
// epoch with seed 7 (measured: 0.674, 0.599, 0.722, 0.758) — the situation best-weight restore is for.
// A constant rate: a run of fewer epochs then trains its epochs exactly like a longer one (the default cosine
// decay spreads over --epochs, so a 2-epoch run would decay faster than the first 2 epochs of a 4-epoch one).
const overfit = {
  cell: 'gru' as const,
  epochs: 4,
  batchSize: 32,
  lr: 0.05,
  maxlen: 30,
  units: 8,
  embeddingDim: 8,
  vocabSize: 500,
  seed: 7,
  monitor: 'val_loss' as const,
  lrSchedule: { kind: 'constant' as const },
};

function weightsOf(model: { getWeights(): { dataSync(): unknown }[] }): Float32Array[] {
  return model.getWeights().map((w) => Float32Array.from(w.dataSync() as Float32Array));
}

function maxDiff(a: Float32Array[], b: Float32Array[]): number {
  let m = 0;
  a.forEach((x, i) => x.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i]![j]!)))));
  return m;
}

test("restoreBest: the model ends with the best epoch's weights (= a run stopped there), lastWeights with the last epoch's", async () => {
  const before = tf.memory().numTensors;
  const full = await train(run, reviews, resolveTrainOptions(overfit));
  const best = full.bestEpoch;
  assert.ok(
    best < overfit.epochs,
    `validation loss should peak before the last epoch (best ${best}: ${full.history.map((e) => e.val_loss!.toFixed(3)).join(', ')})`,
  );
  assert.equal(full.weightsEpoch, best);
  assert.deepEqual(
    full.history.map((e) => e.best),
    full.history.map((e, i) => full.history.slice(0, i).every((p) => e.val_loss! < p.val_loss!)),
  );
  const short = await train(run, reviews, resolveTrainOptions({ ...overfit, epochs: best, restoreBest: false }));
  const last = await train(run, reviews, resolveTrainOptions({ ...overfit, restoreBest: false }));
  assert.equal(last.weightsEpoch, overfit.epochs);
  assert.equal(last.lastWeights, undefined);
  assert.ok(
    maxDiff(weightsOf(full.model), weightsOf(short.model)) < 1e-6,
    'restored weights equal those of a run that stopped at the best epoch',
  );
  assert.ok(maxDiff(full.lastWeights!, weightsOf(last.model)) < 1e-6, "lastWeights are the last epoch's");
  assert.ok(maxDiff(full.lastWeights!, weightsOf(full.model)) > 1e-3, 'and differ from the restored ones');
  for (const r of [full, short, last]) {
    r.model.dispose();
    (r.model.optimizer as unknown as { dispose(): void }).dispose();
  }
  assert.equal(tf.memory().numTensors, before, 'no tensors left behind by snapshots and restore');
});

test('earlyStopping: stops after PATIENCE epochs without improvement and keeps the best epoch', async () => {
  const r = await train(run, reviews, resolveTrainOptions({ ...overfit, epochs: 10, earlyStopping: 1 }));
  assert.equal(r.stoppedEarly, true);
  assert.equal(r.history.length, r.bestEpoch + 1);
  assert.equal(r.weightsEpoch, r.bestEpoch);
  r.model.dispose();
});

test("lrSchedule: the optimizer trains with each epoch's rate (exponential and the default cosine halve it over 2 epochs; epoch 1 is unchanged)", async () => {
  const o = {
    cell: 'simplernn' as const,
    epochs: 2,
    batchSize: 32,
    maxlen: 20,
    units: 4,
    embeddingDim: 4,
    vocabSize: 300,
    seed: 3,
    limit: 120,
  };
  const constant = await train(run, reviews, resolveTrainOptions({ ...o, lrSchedule: { kind: 'constant' } }));
  const decayed = await train(run, reviews, resolveTrainOptions({ ...o, lrSchedule: { kind: 'exponential', gamma: 0.5 } }));
  const byDefault = await train(run, reviews, resolveTrainOptions(o));
  assert.deepEqual(
    constant.history.map((e) => e.lr),
    [1e-3, 1e-3],
  );
  assert.deepEqual(
    decayed.history.map((e) => e.lr),
    [1e-3, 5e-4],
  );
  assert.deepEqual(
    byDefault.history.map((e) => e.lr),
    [1e-3, 5e-4],
    'cosine over 2 epochs: (1 + cos(π/2)) / 2 = 1/2',
  );
  assert.equal(decayed.history[0]!.loss, constant.history[0]!.loss);
  assert.notEqual(decayed.history[1]!.loss, constant.history[1]!.loss);
  const metrics = (h: typeof decayed.history) => h.map(({ loss, acc, val_loss, val_acc }) => ({ loss, acc, val_loss, val_acc }));
  assert.deepEqual(metrics(byDefault.history), metrics(decayed.history), 'the same rates give the same run');
  for (const r of [constant, decayed, byDefault]) r.model.dispose();
});

// lr 1e-2, so that the steps move the weights enough for the average to tell (measured with seed 4: the average
// is 3.5e-3 from the trained weights, and leaving out each epoch's first update moves it by 6.8e-4; at the default
// 1e-3 only by 7e-5, below the fused layers' tolerance), while the fused and stock runs stay 1.1e-6 apart.
const emaRun = {
  cell: 'lstm' as const,
  epochs: 2,
  batchSize: 32,
  lr: 1e-2,
  maxlen: 20,
  units: 4,
  embeddingDim: 4,
  vocabSize: 300,
  seed: 4,
  limit: 120,
  restoreBest: false,
};

/**
 * The average of every step's weights, computed beside a stock run without one (tfjs's trainOnBatch leaves each
 * step's weights in the model, where onBatch reads them; the oneDNN step keeps them in the addon until the epoch
 * ends), and the run's trained weights. Nothing is left behind.
 */
async function stockStepAverage(): Promise<{ updates: number; values: Float32Array[]; trained: Float32Array[] }> {
  let model: LayersModel | undefined;
  let expected: WeightAverage | undefined;
  const r = await train(run, reviews, resolveTrainOptions({ ...emaRun, layers: 'stock', ema: null }), {
    onModel: (m) => {
      model = m;
      expected = WeightAverage.of(0.995, weightsOf(m));
    },
    onBatch: () => expected!.update(weightsOf(model!)),
  });
  const out = { updates: expected!.updates, values: expected!.values, trained: weightsOf(r.model) };
  r.model.dispose();
  (r.model.optimizer as unknown as { dispose(): void }).dispose();
  return out;
}

for (const layers of ['fused', 'stock'] as const) {
  test(`ema (${layers} layers): the model ends with the average of every step's weights; the average does not change training`, async () => {
    const before = tf.memory().numTensors;
    const o = { ...emaRun, layers };
    const plain = await train(run, reviews, resolveTrainOptions({ ...o, ema: null }));
    // A momentum of 1e-9 makes the average the latest weights: the plumbing alone.
    const latest = await train(run, reviews, resolveTrainOptions({ ...o, ema: 1e-9 }));
    const averaged = await train(run, reviews, resolveTrainOptions({ ...o, ema: 0.995 }));
    const trainMetrics = (r: typeof plain) => r.history.map(({ loss, acc }) => ({ loss, acc }));
    assert.deepEqual(trainMetrics(averaged), trainMetrics(plain), 'the same training steps');
    assert.deepEqual(trainMetrics(latest), trainMetrics(plain));
    assert.ok(maxDiff(weightsOf(latest.model), weightsOf(plain.model)) < 1e-6, 'an average of the last step alone is the trained weights');
    assert.ok(maxDiff(weightsOf(averaged.model), weightsOf(plain.model)) > 1e-4, 'a real average is not');
    assert.notEqual(averaged.history[0]!.val_loss, plain.history[0]!.val_loss, 'validation scores the average');
    // The independent computation: the stock run's step-by-step average. The fused layers (the default) train on
    // rnn's oneDNN step where it is built, whose float sums differ from tfjs's in the last bits (measured: 1.1e-6
    // after these 8 steps): within 1e-4.
    const reference = await stockStepAverage();
    assert.equal(reference.updates, 8, '108 training reviews in batches of 32 (4 steps), 2 epochs');
    const tolerance = layers === 'stock' ? 1e-6 : 1e-4;
    if (layers === 'fused')
      assert.equal(
        averaged.step,
        REQUIRE_ONEDNN || probeOnednn().addon ? 'onednn' : 'tfjs',
        "the fused layers train on rnn's oneDNN step where it is built",
      );
    assert.ok(
      maxDiff(weightsOf(plain.model), reference.trained) < tolerance,
      `the ${layers} layers train as the stock ones (${maxDiff(weightsOf(plain.model), reference.trained)})`,
    );
    assert.ok(
      maxDiff(weightsOf(averaged.model), reference.values) < tolerance,
      `the saved weights are the average of every step's weights (${maxDiff(weightsOf(averaged.model), reference.values)})`,
    );
    for (const r of [plain, latest, averaged]) {
      r.model.dispose();
      (r.model.optimizer as unknown as { dispose(): void }).dispose();
    }
    assert.equal(tf.memory().numTensors, before, 'no tensors left behind by swapping the average in and out');
  });
}

test('wordDropout: another run than without it, the same run again with the same seed', async () => {
  const o = { cell: 'gru' as const, epochs: 1, batchSize: 32, maxlen: 20, units: 4, embeddingDim: 4, vocabSize: 300, seed: 9, limit: 120 };
  const none = await train(run, reviews, resolveTrainOptions({ ...o, wordDropout: 0 }));
  const a = await train(run, reviews, resolveTrainOptions({ ...o, wordDropout: 0.25 }));
  const b = await train(run, reviews, resolveTrainOptions({ ...o, wordDropout: 0.25 }));
  assert.notEqual(a.history[0]!.loss, none.history[0]!.loss);
  assert.deepEqual(
    a.history.map(({ seconds: _s, samplesPerSec: _p, ...m }) => m),
    b.history.map(({ seconds: _s, samplesPerSec: _p, ...m }) => m),
  );
  assert.equal(maxDiff(weightsOf(a.model), weightsOf(b.model)), 0);
  for (const r of [none, a, b]) r.model.dispose();
});

test('clipNorm: the optimizer clips as asked; options without clipNorm (a checkpoint from before the clip, migrated) train unclipped', async () => {
  const o = {
    cell: 'gru' as const,
    epochs: 1,
    batchSize: 32,
    maxlen: 20,
    units: 4,
    embeddingDim: 4,
    vocabSize: 300,
    seed: 9,
    limit: 120,
    wordDropout: 0,
  };
  const clipped = await train(run, reviews, resolveTrainOptions({ ...o, clipNorm: 1e-3 }));
  const plain = await train(run, reviews, resolveTrainOptions({ ...o, clipNorm: null }));
  const { clipNorm: _c, ...old } = resolveTrainOptions(o);
  const resumedOld = await train(run, reviews, migrateCheckpoint({ options: old as TrainOptions } as CheckpointMeta).options);
  const clipOf = (r: typeof plain): unknown => (r.model.optimizer as unknown as { clipNorm: number | null }).clipNorm;
  assert.deepEqual([clipOf(clipped), clipOf(plain), clipOf(resumedOld)], [1e-3, null, null]);
  assert.equal(maxDiff(weightsOf(resumedOld.model), weightsOf(plain.model)), 0);
  assert.ok(maxDiff(weightsOf(clipped.model), weightsOf(plain.model)) > 1e-4, 'a clip this small changes the run');
  for (const r of [clipped, plain, resumedOld]) r.model.dispose();
});

test('dedupe: repeated training texts are dropped before the shuffle, and counted', async () => {
  // 150 real reviews with 30 of them repeated (an exact copy, the other label for half of them).
  const base = [...reviews.slice(0, 75), ...reviews.slice(-75)];
  const repeated = [
    ...base,
    ...base.slice(0, 30).map((r, i) => ({ ...r, id: `copy-${i}`, label: (i % 2 ? r.label : 1 - r.label) as 0 | 1 })),
  ];
  const o = resolveTrainOptions({ cell: 'gru', epochs: 1, vocabSize: 500, maxlen: 40, units: 4, embeddingDim: 4, seed: 3, dedupe: true });
  const r = await train(run, repeated, o);
  assert.deepEqual(r.counts, { train: 135, validation: 15, repeatsDropped: 30 });
  r.model.dispose();
  const without = await train(run, repeated, { ...o, dedupe: false });
  assert.deepEqual(without.counts, { train: 162, validation: 18, repeatsDropped: 0 });
  without.model.dispose();
});
