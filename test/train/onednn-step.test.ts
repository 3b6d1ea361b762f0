/**
 * The lesson model's whole training step on rnn's oneDNN kernels (OnednnStep) computes what tfjs's
 * `trainOnBatch` computes with tfjs's Adam: same loss and accuracy every step, and after many steps on real
 * IMDB reviews the same weights and Adam moments within float tolerance (the reference is the same model,
 * with the fused layer on the same oneDNN kernels, trained by tfjs). Handing the state over to tfjs (a
 * checkpoint) and back loses nothing, and no tensors are left behind.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { loadBackend, type TF } from '../../src/backend/index.js';
import { CELLS, type CellType } from '../../src/cells.js';
import type { Topology } from '../../src/models/index.js';
import { OnednnStep, onednnTrainable } from '../../src/train/onednn-step.js';
import { layerRates, ONE_RATE, type LayerRates } from '../../src/train/options.js';
import type { Review } from '../../src/data/index.js';
import { REQUIRE_NATIVE } from '../helpers.js';
import { addon, batches, interleavedReviews, lessonModel, maxAbsDiff, onednnKernels, SIZE, skipOnednn as skip } from '../onednn-helpers.js';

let tf: TF;
let reviews: Review[] = [];

before(async () => {
  tf = (await loadBackend({ requireNative: REQUIRE_NATIVE })).tf;
  reviews = await interleavedReviews();
});

async function moments(model: LayersModel): Promise<{ names: string[]; values: Float32Array[]; iter: number }> {
  const w = await (model.optimizer as unknown as { getWeights(): Promise<Array<{ name: string; tensor: Tensor }>> }).getWeights();
  const iterTensor = w.find((x) => x.name === 'iter')!.tensor;
  const iter = iterTensor.dataSync()[0]!;
  iterTensor.dispose(); // a fresh scalar; the moments are the optimizer's own variables
  const rest = w.filter((x) => x.name !== 'iter');
  return {
    names: rest.map((x) => x.name.replace(/_\d+(?=\/[mv]$)/, '')),
    values: rest.map((x) => (x.tensor.dataSync() as Float32Array).slice()),
    iter,
  };
}

// Without a clip, and with one (--clip-norm) small enough to act on most of these steps; a bidirectional, pooled
// topology too (its reference, trainOnBatch, runs the fused layers' tfjs ops, which return the output sequence; they
// equal stock tfjs-layers: test/models/fused.e2e.test.ts). Mean pooling:
// with max pooling a float difference can move a maximum to another step, and the runs part (measured: loss
// 1e-4 apart by the sixth step), which is no error of either; its single steps are checked in topologies.e2e.test.ts.
const parityCases: Array<{ cell: CellType; clipNorm: number | null; topology?: Topology }> = [
  ...CELLS.map((cell) => ({ cell, clipNorm: null })),
  ...CELLS.map((cell) => ({ cell, clipNorm: 0.05 })),
  { cell: 'gru', clipNorm: 0.01, topology: { bidirectional: true, pooling: 'mean' } },
];
for (const { cell, clipNorm, topology } of parityCases) {
  test(
    `${cell}${topology ? ', bidirectional, mean over time' : ''}: OnednnStep = trainOnBatch with tfjs's Adam${clipNorm === null ? '' : ` clipped to global norm ${clipNorm}`} over ${Math.ceil(400 / 80) * 3} real-review batches`,
    { skip },
    async () => {
      const reference = lessonModel(tf, cell, onednnKernels, clipNorm, topology);
      const model = lessonModel(tf, cell, onednnKernels, clipNorm, topology);
      model.setWeights(reference.getWeights());
      assert.equal(onednnTrainable(model, cell), true);
      const step = await OnednnStep.create(tf, addon, cell, SIZE.maxlen, model);
      const before = tf.memory().numTensors;
      let clipped = 0;
      for (const [k, b] of batches(reviews).entries()) {
        const xs = tf.tensor2d(b.ids, [b.y.length, SIZE.maxlen], 'int32');
        const ys = tf.tensor2d(b.y, [b.y.length, 1]);
        const [loss, acc] = (await reference.trainOnBatch(xs, ys)) as number[];
        tf.dispose([xs, ys]);
        const r = await step.step(b.ids, b.y, 1e-2);
        assert.equal(r.gradNorm === undefined, clipNorm === null, 'the norm is reported when the optimizer clips');
        if (clipNorm !== null && r.gradNorm! > clipNorm) clipped++;
        assert.ok(Math.abs(r.loss - loss!) < 1e-4, `batch ${k}: loss ${r.loss} vs ${loss}`);
        assert.equal(r.acc, acc, `batch ${k}: accuracy`);
      }
      if (clipNorm !== null) assert.ok(clipped >= 10, `the clip acted on ${clipped} of 15 steps`);
      step.syncWeights();
      await step.syncOptimizer();
      const tensorsAfterSync = tf.memory().numTensors;
      assert.ok(
        maxAbsDiff(model.getWeights(), reference.getWeights()) < 1e-4,
        `weights differ by ${maxAbsDiff(model.getWeights(), reference.getWeights())}`,
      );
      const a = await moments(model);
      const b = await moments(reference);
      assert.deepEqual(a.names, b.names, "Adam's moments under tfjs's names");
      assert.equal(a.iter, b.iter);
      assert.ok(maxAbsDiff(a.values, b.values) < 1e-5, `moments differ by ${maxAbsDiff(a.values, b.values)}`);
      // Syncing again (every epoch, every checkpoint) adds nothing: tfjs's old moment variables are disposed.
      step.syncWeights();
      await step.syncOptimizer();
      assert.equal(tf.memory().numTensors, tensorsAfterSync);
      // What stays: the two Adams' moments (the reference's from trainOnBatch, the model's from the sync).
      assert.equal(tensorsAfterSync - before, 4 * model.trainableWeights.length);
      reference.dispose();
      model.dispose();
    },
  );
}

for (const topology of [undefined, { bidirectional: true, pooling: 'max' } as const])
  test(
    `handing the state to tfjs and back (a checkpoint, then resume) continues the same run${topology ? ' (bidirectional, max over time)' : ''}`,
    { skip },
    async () => {
      const all = batches(reviews);
      const straight = lessonModel(tf, 'gru', onednnKernels, null, topology);
      const resumed = lessonModel(tf, 'gru', onednnKernels, null, topology);
      resumed.setWeights(straight.getWeights());
      const s1 = await OnednnStep.create(tf, addon, 'gru', SIZE.maxlen, straight);
      for (const b of all) await s1.step(b.ids, b.y, 1e-2);
      s1.syncWeights();
      let s2 = await OnednnStep.create(tf, addon, 'gru', SIZE.maxlen, resumed);
      for (const [k, b] of all.entries()) {
        if (k === 7) {
          s2.syncWeights();
          await s2.syncOptimizer();
          s2 = await OnednnStep.create(tf, addon, 'gru', SIZE.maxlen, resumed);
        }
        await s2.step(b.ids, b.y, 1e-2);
      }
      s2.syncWeights();
      assert.ok(
        maxAbsDiff(resumed.getWeights(), straight.getWeights()) < 1e-6,
        `weights differ by ${maxAbsDiff(resumed.getWeights(), straight.getWeights())}`,
      );
      straight.dispose();
      resumed.dispose();
    },
  );

test('OnednnStep takes only the lesson model of its cell: Embedding → fused-compatible cell → Dense(1, sigmoid), adam, BCE', async () => {
  const input = () => tf.input({ shape: [10], dtype: 'int32' });
  const build = (opts: { mask?: boolean; hardSigmoid?: boolean; units?: number; optimizer?: string; loss?: string }): LayersModel => {
    const x = input();
    const e = tf.layers.embedding({ inputDim: 50, outputDim: 4, maskZero: opts.mask }).apply(x);
    const r = tf.layers.lstm({ units: 3, recurrentActivation: opts.hardSigmoid ? 'hardSigmoid' : 'sigmoid' }).apply(e);
    const d = tf.layers.dense({ units: opts.units ?? 1, activation: 'sigmoid' }).apply(r);
    const m = tf.model({ inputs: x, outputs: d as never });
    m.compile({ optimizer: opts.optimizer ?? 'adam', loss: opts.loss ?? 'binaryCrossentropy' });
    return m;
  };
  const cases: Array<[string, Parameters<typeof build>[0], CellType, boolean]> = [
    ['the lesson shape', {}, 'lstm', true],
    ['the lesson shape, asked as another cell', {}, 'gru', false],
    ['maskZero embedding', { mask: true }, 'lstm', false],
    ["tfjs's hardSigmoid default", { hardSigmoid: true }, 'lstm', false],
    ['two outputs', { units: 2 }, 'lstm', false],
    ['sgd', { optimizer: 'sgd' }, 'lstm', false],
    ['mse', { loss: 'meanSquaredError' }, 'lstm', false],
  ];
  for (const [name, opts, cell, expected] of cases) {
    const m = build(opts);
    assert.equal(onednnTrainable(m, cell), expected, name);
    if (!expected && addon)
      await assert.rejects(OnednnStep.create(tf, addon, cell, 10, m), /the oneDNN step trains the (lstm|gru) lesson model/, name);
    m.dispose();
  }
});

test(
  'layer rates: a group at rate 0 keeps its weights and moments exactly; at rate r it moves r times as far (first Adam step); the head is the same',
  { skip },
  async () => {
    const [b] = batches(reviews);
    const start = lessonModel(tf, 'lstm', onednnKernels, null);
    const runWith = async (rates: LayerRates) => {
      const model = lessonModel(tf, 'lstm', onednnKernels, null);
      model.setWeights(start.getWeights());
      const step = await OnednnStep.create(tf, addon, 'lstm', SIZE.maxlen, model);
      await step.step(b!.ids, b!.y, 1e-2, rates);
      step.syncWeights();
      await step.syncOptimizer();
      const m = await moments(model);
      const w = model.getWeights().map((t) => (t.dataSync() as Float32Array).slice());
      model.dispose();
      return { w, m: m.values };
    };
    const w0 = start.getWeights().map((t) => (t.dataSync() as Float32Array).slice());
    const full = await runWith(ONE_RATE);
    const frozen = await runWith({ embedding: 0, recurrent: 0, head: 1 });
    const half = await runWith({ embedding: 0.5, recurrent: 0.5, head: 1 });
    // model order: embeddings, kernel, recurrent kernel, bias, dense kernel, dense bias; moments m then v
    for (const i of [0, 1, 2, 3]) {
      assert.deepEqual(frozen.w[i], w0[i], `frozen weight ${i} moved`);
      assert.ok(frozen.m[i]!.every((v) => v === 0) && frozen.m[6 + i]!.every((v) => v === 0), `frozen weight ${i}'s moments moved`);
      const d = half.w[i]!.reduce((m, v, j) => Math.max(m, Math.abs(v - w0[i]![j]! - (full.w[i]![j]! - w0[i]![j]!) / 2)), 0);
      assert.ok(d < 1e-6, `weight ${i} at rate 0.5: off half the full step by ${d}`);
      assert.ok(
        full.w[i]!.some((v, j) => v !== w0[i]![j]),
        `weight ${i} moves at rate 1`,
      );
    }
    for (const i of [4, 5]) {
      assert.deepEqual(frozen.w[i], full.w[i], `head weight ${i}`);
      assert.deepEqual(half.w[i], full.w[i], `head weight ${i}`);
    }
    start.dispose();
  },
);

test('layerRates: --init-lr-scale for the body; gradual unfreezing thaws the recurrent layer in epoch 2 and the embedding in epoch 3', () => {
  assert.deepEqual(layerRates({}, 1), ONE_RATE);
  assert.deepEqual(layerRates({ initLrScale: 0.3 }, 1), { embedding: 0.3, recurrent: 0.3, head: 1 });
  const g = [1, 2, 3, 9].map((e) => layerRates({ gradualUnfreezing: true, initLrScale: 0.5 }, e));
  assert.deepEqual(g, [
    { embedding: 0, recurrent: 0, head: 1 },
    { embedding: 0, recurrent: 0.5, head: 1 },
    { embedding: 0.5, recurrent: 0.5, head: 1 },
    { embedding: 0.5, recurrent: 0.5, head: 1 },
  ]);
});
