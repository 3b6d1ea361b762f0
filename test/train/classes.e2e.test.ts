/**
 * The oneDNN step with a softmax head (k ≥ 3 classes: Dense(k, softmax), sparse categorical cross-entropy)
 * computes what tfjs computes for the same model, on real IMDB reviews labelled by their ratings (the file
 * names' `_8.txt`): every step's loss and accuracy and, after several steps, the weights and Adam's moments
 * equal `trainOnBatch`'s (with tfjs's Adam, clipped or not); a single step's every gradient equals stock
 * tfjs-layers' (`tf.variableGrads`), at the edges too; with class weights the oneDNN step and the tfjs step
 * both compute what tfjs's `fit` computes with `classWeight`, for k classes and for the binary model.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import type { LayersModel, Tensor, Variable } from '@tensorflow/tfjs';
import { loadBackend, type TF } from '../../src/backend/index.js';
import { CELLS, type CellType } from '../../src/cells.js';
import { tfjsKernels } from '../../src/kernels/index.js';
import { buildModel, MODEL_DEFAULTS, topologyOf, type Topology } from '../../src/models/index.js';
import { OnednnStep, onednnTrainable } from '../../src/train/onednn-step.js';
import { TfjsStep } from '../../src/train/tfjs-step.js';
import { clippedAdam } from '../../src/train/clip.js';
import type { Review } from '../../src/data/index.js';
import { REQUIRE_NATIVE } from '../helpers.js';
import {
  addon,
  batches,
  EDGE_BATCHES,
  edgeRows,
  interleavedReviews,
  lessonModel,
  maxAbsDiff,
  onednnKernels,
  ratingClass,
  rowsOf,
  SIZE,
  skipOnednn as skip,
  TOPOLOGIES,
} from '../onednn-helpers.js';

let tf: TF;
let reviews: Review[] = [];

before(async () => {
  tf = (await loadBackend({ requireNative: REQUIRE_NATIVE })).tf;
  reviews = await interleavedReviews();
});

/** rnn's learning rate (TRAIN_DEFAULTS.lr). */
const LR = 1e-3;
const name = (t: Topology): string => `${t.bidirectional ? 'bidirectional' : 'one direction'}, pooling ${t.pooling}`;
const byRating = (classes: 3 | 8) => (r: Review) => ratingClass(r, classes);

async function moments(model: LayersModel): Promise<{ names: string[]; values: Float32Array[]; iter: number }> {
  const w = await (model.optimizer as unknown as { getWeights(): Promise<Array<{ name: string; tensor: Tensor }>> }).getWeights();
  const iterTensor = w.find((x) => x.name === 'iter')!.tensor;
  const iter = iterTensor.dataSync()[0]!;
  iterTensor.dispose();
  const rest = w.filter((x) => x.name !== 'iter');
  return {
    names: rest.map((x) => x.name.replace(/_\d+(?=\/[mv]$)/, '')),
    values: rest.map((x) => (x.tensor.dataSync() as Float32Array).slice()),
    iter,
  };
}

test('the rating labels: eight classes, every one among these reviews', () => {
  const counts = new Array<number>(8).fill(0);
  for (const r of reviews) counts[ratingClass(r, 8)]!++;
  assert.ok(
    counts.every((c) => c >= 40),
    `reviews per rating: ${counts.join(', ')}`,
  );
});

// Several steps against trainOnBatch, at rnn's learning rate (1e-3). At 1e-2 Adam's first steps move an embedding
// element whose gradient is ~1e-9 (a rare word's) by about lr·g/(|g| + ε), so the float32 rounding of tfjs's
// gradient sums (~1e-10 apart from the step's double-precision ones) becomes lr/ε = 1e5 times that in the weights:
// 2e-4 after 15 steps for the 8-class SimpleRNN (5.8e-5 for the binary one; 1e-3 bidirectional), every other
// weight within 6e-6. With max pooling a float difference can move a maximum to another step and the runs part
// after a few steps (test/train/onednn-step.test.ts), the binary model's as much as this one's (the bidirectional
// GRU's weights 3e-4 apart after the second step, binary or 8 classes), so max-pooled models run 4 steps here,
// bidirectional ones and the GRU 1 (on an AMD EPYC host the one-direction GRU's 8-class weights were 1.5e-3 apart
// after 2 steps, 3.5e-3 after 4), and every gradient of their single steps is checked against stock tfjs-layers below.
const maxSteps = (cell: CellType, t: Topology): number => (t.pooling !== 'max' ? 15 : t.bidirectional || cell === 'gru' ? 1 : 4);
const parityCases: Array<{ cell: CellType; topology: Topology; classes: 3 | 8; clipNorm: number | null; steps: number }> = [
  ...CELLS.flatMap((cell) =>
    TOPOLOGIES.map((topology) => ({ cell, topology, classes: 8 as const, clipNorm: null, steps: maxSteps(cell, topology) })),
  ),
  { cell: 'lstm', topology: TOPOLOGIES[0]!, classes: 3, clipNorm: 0.05, steps: 15 },
  { cell: 'gru', topology: { bidirectional: true, pooling: 'mean' }, classes: 8, clipNorm: 0.05, steps: 15 },
];
for (const { cell, topology, classes, clipNorm, steps } of parityCases) {
  test(
    `${cell}, ${name(topology)}, ${classes} classes: OnednnStep = trainOnBatch with tfjs's Adam${clipNorm === null ? '' : ` clipped to ${clipNorm}`} over ${steps} real-review batches`,
    { skip },
    async () => {
      const reference = lessonModel(tf, cell, onednnKernels, clipNorm, topology, classes);
      const model = lessonModel(tf, cell, onednnKernels, clipNorm, topology, classes);
      model.setWeights(reference.getWeights());
      (reference.optimizer as unknown as { learningRate: number }).learningRate = LR;
      assert.equal(onednnTrainable(model, cell), true);
      assert.equal(reference.loss, 'sparseCategoricalCrossentropy');
      const step = await OnednnStep.create(tf, addon, cell, SIZE.maxlen, model);
      assert.equal(step.classes, classes);
      let clipped = 0;
      let right = 0;
      for (const [k, b] of batches(reviews, byRating(classes)).slice(0, steps).entries()) {
        const xs = tf.tensor2d(b.ids, [b.y.length, SIZE.maxlen], 'int32');
        const ys = tf.tensor2d(b.y, [b.y.length, 1]);
        const [loss, acc] = (await reference.trainOnBatch(xs, ys)) as number[];
        tf.dispose([xs, ys]);
        const r = await step.step(b.ids, b.y, LR);
        if (clipNorm !== null && r.gradNorm! > clipNorm) clipped++;
        assert.ok(Math.abs(r.loss - loss!) < 1e-4, `batch ${k}: loss ${r.loss} vs ${loss}`);
        assert.equal(r.acc, acc, `batch ${k}: accuracy`);
        right += r.acc;
      }
      if (clipNorm !== null) assert.ok(clipped >= 10, `the clip acted on ${clipped} of ${steps} steps`);
      if (steps === 15) assert.ok(right > 0, 'some answers are right');
      step.syncWeights();
      await step.syncOptimizer();
      const d = maxAbsDiff(model.getWeights(), reference.getWeights());
      assert.ok(d < 1e-4, `weights differ by ${d}`);
      const a = await moments(model);
      const b = await moments(reference);
      assert.deepEqual(a.names, b.names, "Adam's moments under tfjs's names");
      assert.equal(a.iter, b.iter);
      assert.ok(maxAbsDiff(a.values, b.values) < 1e-5, `moments differ by ${maxAbsDiff(a.values, b.values)}`);
      reference.dispose();
      model.dispose();
    },
  );
}

/** The stock model and the same weights in a model compiled for the oneDNN step, at `maxlen`, with a head of `classes`. */
function pair(cell: CellType, t: Topology, maxlen: number, classes: number): { stock: LayersModel; model: LayersModel } {
  const o = { ...MODEL_DEFAULTS, ...SIZE, ...t, maxlen, cell, seed: 3, classes };
  const stock = buildModel(tf, { ...o, layers: 'stock' }, tfjsKernels('reference'));
  const model = buildModel(tf, { ...o, layers: 'fused' }, onednnKernels);
  // A head large enough that its gradients are not small against the tolerance.
  const weights = stock.getWeights().map((w, i, all) => (i >= all.length - 2 ? tf.mul(w, 4) : w.clone()));
  stock.setWeights(weights);
  model.setWeights(weights);
  tf.dispose(weights);
  for (const m of [stock, model]) m.compile({ optimizer: clippedAdam(tf, 1e-2, null), loss: 'sparseCategoricalCrossentropy' });
  return { stock, model };
}

/** tfjs's gradients of the mean sparse categorical cross-entropy (tfjs-layers' own loss function) of `model` on a batch, in trainable-weight order. */
function stockGradients(model: LayersModel, ids: Int32Array, y: Float32Array, maxlen: number): Float32Array[] {
  // A Sequential keeps its compiled loss in the LayersModel inside it.
  const loss = ((model as unknown as { model?: LayersModel }).model ?? model).lossFunctions[0]!;
  return tf.tidy(() => {
    const xs = tf.tensor2d(ids, [y.length, maxlen], 'int32');
    const ys = tf.tensor2d(y, [y.length, 1]);
    const vars = model.trainableWeights.map((w) => (w as unknown as { val: Variable }).val);
    const { grads } = tf.variableGrads(() => tf.mean(loss(ys, model.apply(xs, { training: true }) as Tensor)) as never, vars);
    return vars.map((v) => (grads[v.name]!.dataSync() as Float32Array).slice());
  });
}

function checkGradients(what: string, got: Float32Array[], want: Float32Array[]): void {
  assert.equal(got.length, want.length);
  got.forEach((g, i) => {
    const d = maxAbsDiff([g], [want[i]!]);
    const scale = want[i]!.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    assert.ok(d < 1e-4 && d <= 1e-3 * scale, `${what}: gradient ${i} differs by ${d} (largest ${scale})`);
  });
}

for (const cell of CELLS)
  test(
    `${cell}, 8 classes, every topology: one step's every gradient = stock tfjs-layers' (real reviews, and the edges)`,
    { skip },
    async () => {
      const all = batches(reviews, byRating(8));
      const T = 13;
      const edges = edgeRows(T);
      const edgeLabels = Float32Array.from(edges.y, (_, i) => (i * 3) % 8);
      for (const t of TOPOLOGIES) {
        const { stock, model } = pair(cell, t, SIZE.maxlen, 8);
        assert.deepEqual(topologyOf(model, cell), t);
        const step = await OnednnStep.create(tf, addon, cell, SIZE.maxlen, model);
        const before = tf.memory().numTensors;
        for (const b of all.slice(0, 2))
          checkGradients(
            `${name(t)}, batch of ${b.y.length}`,
            step.gradients(b.ids, b.y).grads,
            stockGradients(stock, b.ids, b.y, SIZE.maxlen),
          );
        assert.equal(tf.memory().numTensors, before);
        stock.dispose();
        model.dispose();
        const short = pair(cell, t, T, 8);
        const edgeStep = await OnednnStep.create(tf, addon, cell, T, short.model);
        for (const [what, rows] of EDGE_BATCHES) {
          const ids = rowsOf(edges.ids, T, rows);
          const ys = Float32Array.from(rows, (r) => edgeLabels[r]!);
          checkGradients(`${name(t)}, ${what}`, edgeStep.gradients(ids, ys).grads, stockGradients(short.stock, ids, ys, T));
        }
        short.stock.dispose();
        short.model.dispose();
      }
    },
  );

test(
  'a confidently wrong review: the loss is bounded and its gradient is none, as tfjs-layers clips probabilities to [1e-7, 1 − 1e-7]',
  { skip },
  async () => {
    const { stock, model } = pair('gru', TOPOLOGIES[0]!, SIZE.maxlen, 3);
    // A head whose logits put class 2 far ahead of the others for any features: p(0) ≈ e^-40.
    const head = [tf.zeros([SIZE.units, 3]), tf.tensor1d([0, 0, 40])];
    for (const m of [stock, model]) m.layers[m.layers.length - 1]!.setWeights(head);
    tf.dispose(head);
    const step = await OnednnStep.create(tf, addon, 'gru', SIZE.maxlen, model);
    const b = batches(reviews, () => 0)[0]!;
    const { loss, grads } = step.gradients(b.ids, b.y);
    assert.ok(Math.abs(loss - -Math.log(1e-7)) < 1e-3, `loss ${loss}`);
    const want = stockGradients(stock, b.ids, b.y, SIZE.maxlen);
    assert.ok(maxAbsDiff(grads, want) < 1e-6, `gradients differ by ${maxAbsDiff(grads, want)}`);
    assert.ok(
      grads.every((g) => g.every((x) => Math.abs(x) < 1e-6)),
      'no gradient',
    );
    stock.dispose();
    model.dispose();
  },
);

// Class weights: tfjs's fit with classWeight is the reference (trainOnBatch takes none); fit runs one batch per call.
const weightCases: Array<{ cell: CellType; classes: 2 | 3 | 8; topology: Topology; weights: number[] }> = [
  { cell: 'gru', classes: 8, topology: TOPOLOGIES[0]!, weights: [3, 0.5, 1, 2, 0.25, 1.5, 1, 4] },
  { cell: 'lstm', classes: 3, topology: { bidirectional: true, pooling: 'mean' }, weights: [2.5, 0.4, 1.25] },
  { cell: 'simplernn', classes: 2, topology: TOPOLOGIES[0]!, weights: [3, 0.5] },
];
for (const { cell, classes, topology, weights } of weightCases)
  test(
    `${cell}, ${name(topology)}, ${classes} classes, class weights ${weights.join('/')}: OnednnStep = TfjsStep = tfjs's fit with classWeight over 8 real-review batches (the weighted mean over the batch)`,
    { skip },
    async () => {
      const [fitted, tfjsStepped, onednnStepped] = [0, 1, 2].map(() => lessonModel(tf, cell, onednnKernels, null, topology, classes));
      for (const m of [tfjsStepped!, onednnStepped!]) m.setWeights(fitted!.getWeights());
      (fitted!.optimizer as unknown as { learningRate: number }).learningRate = LR;
      const tfjsStep = new TfjsStep(tf, tfjsStepped!, SIZE.maxlen, weights);
      const onednnStep = await OnednnStep.create(tf, addon, cell, SIZE.maxlen, onednnStepped!, weights);
      const label = classes === 2 ? (r: Review) => r.label : byRating(classes);
      const classWeight = Object.fromEntries(weights.map((w, c) => [c, w]));
      for (const [k, b] of batches(reviews, label).slice(0, 8).entries()) {
        const xs = tf.tensor2d(b.ids, [b.y.length, SIZE.maxlen], 'int32');
        const ys = tf.tensor2d(b.y, [b.y.length, 1]);
        const h = await fitted!.fit(xs, ys, { batchSize: b.y.length, epochs: 1, shuffle: false, verbose: 0, classWeight });
        tf.dispose([xs, ys]);
        const [loss, acc] = [h.history.loss![0] as number, h.history.acc![0] as number];
        const t = await tfjsStep.step(b.ids, b.y, LR);
        const o = await onednnStep.step(b.ids, b.y, LR);
        assert.ok(Math.abs(t.loss - loss) < 1e-5, `batch ${k}: the tfjs step's loss ${t.loss} vs fit's ${loss}`);
        assert.ok(Math.abs(o.loss - loss) < 1e-4, `batch ${k}: the oneDNN step's loss ${o.loss} vs fit's ${loss}`);
        assert.equal(t.acc, acc, `batch ${k}: the tfjs step's accuracy (unweighted, as fit's)`);
        assert.equal(o.acc, acc, `batch ${k}: the oneDNN step's accuracy`);
        // fit divides the weighted sum by the batch size, not by the weights' sum: these batches' weights do not average 1.
        if (k === 0) assert.ok(Math.abs(Array.from(b.y, (y) => weights[y]!).reduce((a, w) => a + w, 0) / b.y.length - 1) > 0.05);
      }
      onednnStep.syncWeights();
      const dt = maxAbsDiff(tfjsStepped!.getWeights(), fitted!.getWeights());
      const dn = maxAbsDiff(onednnStepped!.getWeights(), fitted!.getWeights());
      assert.ok(dt < 1e-5, `the tfjs step's weights differ from fit's by ${dt}`);
      assert.ok(dn < 1e-4, `the oneDNN step's weights differ from fit's by ${dn}`);
      for (const m of [fitted!, tfjsStepped!, onednnStepped!]) m.dispose();
    },
  );

test('class weights of all ones change nothing; the binary step without class weights is the one it always was', { skip }, async () => {
  for (const classes of [2, 8] as const) {
    const a = lessonModel(tf, 'gru', onednnKernels, null, undefined, classes);
    const b = lessonModel(tf, 'gru', onednnKernels, null, undefined, classes);
    b.setWeights(a.getWeights());
    const plain = await OnednnStep.create(tf, addon, 'gru', SIZE.maxlen, a);
    const ones = await OnednnStep.create(tf, addon, 'gru', SIZE.maxlen, b, new Array<number>(classes).fill(1));
    const label = classes === 2 ? (r: Review) => r.label : byRating(8);
    for (const batch of batches(reviews, label).slice(0, 3)) {
      const p = await plain.step(batch.ids, batch.y, 1e-2);
      const q = await ones.step(batch.ids, batch.y, 1e-2);
      assert.equal(q.loss, p.loss);
      assert.equal(q.acc, p.acc);
    }
    assert.equal(maxAbsDiff(plain.weights(), ones.weights()), 0);
    a.dispose();
    b.dispose();
  }
  const m = lessonModel(tf, 'gru', onednnKernels, null, undefined, 8);
  await assert.rejects(OnednnStep.create(tf, addon, 'gru', SIZE.maxlen, m, [1, 2]), /2 class weights were given for a model of 8 classes/);
  const step = await OnednnStep.create(tf, addon, 'gru', SIZE.maxlen, m);
  assert.throws(
    () => step.gradients(new Int32Array(SIZE.maxlen), Float32Array.of(8)),
    /label 8 is not a class index of a model of 8 classes/,
  );
  m.dispose();
});
