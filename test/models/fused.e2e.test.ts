/**
 * Gradient parity of the fused layers against stock tfjs-layers with identical weights: the output, the
 * gradient with respect to the input sequence and every weight gradient agree within 1e-4, for every cell
 * and several shapes (batch 1, sequence length 1, …), on the loaded backend and on pure-JS cpu, with both
 * kernel sets: tfjs/TensorFlow ops and rnn's oneDNN kernels. At the lesson model's full size (batch 64, 256
 * steps, 100 → 128) the oneDNN gradients are within 1e-3 relative error. The two oneDNN 2.6 defects the
 * addon designs around (batch-major input, implicit initial state: see src/kernels/addon/rnn_dnnl.cc) both
 * give wrong weight gradients, which these comparisons catch.
 *
 * The recipe's models (Bidirectional, the output sequence pooled by its maximum or mean) built by
 * `buildModel` with fused layers equal the stock ones on real reviews and at the edges, on each kernel variant:
 * the ops return the whole output sequence and run the backward layer on the input reversed in time.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Tensor, Tensor3D, LayersModel, SymbolicTensor, Variable, Scalar } from '@tensorflow/tfjs';
import { describeKernels, loadBackend, type TF } from '../../src/backend/index.js';
import { fuseRecurrentLayers, fusable } from '../../src/models/fused.js';
import { CELLS, type CellType } from '../../src/cells.js';
import { probeOnednn, tfjsKernels, type Kernels } from '../../src/kernels/index.js';
import { buildModel, MODEL_DEFAULTS } from '../../src/models/index.js';
import type { Topology } from '../../src/kernels/lesson.js';
import type { Review } from '../../src/data/index.js';
import { REQUIRE_NATIVE, REQUIRE_ONEDNN } from '../helpers.js';
import { EDGE_BATCHES, edgeRows, interleavedReviews, rowsOf, SIZE, TOPOLOGIES } from '../onednn-helpers.js';
import { Tokenizer } from '../../src/text/tokenizer.js';
import { encode } from '../../src/predict/index.js';

let tf: TF;
let reviews: Review[] = [];
before(async () => {
  tf = (await loadBackend({ requireNative: REQUIRE_NATIVE })).tf;
  reviews = await interleavedReviews();
});

const onednn = probeOnednn();
/** Why oneDNN tests are skipped here (a failure instead when RNN_REQUIRE_ONEDNN=1, as in CI). */
const NO_ONEDNN = onednn.addon ? false : `rnn's oneDNN addon is not available: ${onednn.error}`;
test(
  'the oneDNN addon loads where it is required (CI installs libdnnl-dev)',
  { skip: !REQUIRE_ONEDNN && 'RNN_REQUIRE_ONEDNN is not set' },
  () => {
    assert.equal(onednn.error, undefined);
    assert.match(onednn.addon!.onednnVersion, /^2\.\d+\.\d+$/);
  },
);
const KERNELS = ['tfjs', 'onednn'] as const;
const skipFor = (kernels: (typeof KERNELS)[number]): string | false => (kernels === 'onednn' && !REQUIRE_ONEDNN ? NO_ONEDNN : false);
/** The kernels as the value a loaded backend carries. */
const kernelsFor = (kernels: (typeof KERNELS)[number]): Kernels =>
  kernels === 'onednn' ? { name: 'onednn', addon: onednn.addon!, reason: 'tests' } : tfjsKernels('tests');

function layerFor(cell: CellType, units: number, seed: number, returnSequences = false) {
  const common = {
    units,
    returnSequences,
    kernelInitializer: tf.initializers.glorotUniform({ seed }),
    recurrentInitializer: tf.initializers.orthogonal({ seed: seed + 1 }),
    biasInitializer: tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: seed + 2 }),
  };
  return cell === 'lstm'
    ? tf.layers.lstm({ ...common, recurrentActivation: 'sigmoid' })
    : cell === 'gru'
      ? tf.layers.gru({ ...common, recurrentActivation: 'sigmoid' })
      : tf.layers.simpleRNN(common);
}

function modelFor(cell: CellType, T: number, D: number, U: number, returnSequences = false): LayersModel {
  const input = tf.input({ shape: [T, D] });
  return tf.model({ inputs: input, outputs: layerFor(cell, U, 7, returnSequences).apply(input) as SymbolicTensor });
}

/**
 * The stock computation. For one timestep it is the stock cell on a zero state: stock tfjs-layers cannot
 * differentiate a whole RNN layer over a length-1 sequence (its unstack gradient throws), the cell can.
 */
function stockApply(model: LayersModel): (x: Tensor) => Tensor {
  return (x: Tensor) => {
    const [B, T, D] = x.shape as [number, number, number];
    if (T > 1) return model.apply(x) as Tensor;
    const layer = model.layers[1] as unknown as {
      cell: { call(i: Tensor[], k: object): Tensor[]; stateSize: number | number[]; units: number };
    };
    const states = Array.isArray(layer.cell.stateSize) ? layer.cell.stateSize.length : 1;
    const zeros = Array.from({ length: states }, () => tf.zeros([B, layer.cell.units]));
    const h = layer.cell.call([tf.reshape(x, [B, D]), ...zeros], {})[0]!;
    return model.outputs[0]!.shape.length === 3 ? tf.expandDims(h, 1) : h;
  };
}

/**
 * Output (with no gradient tape running: the inference path), then d(sum(output · w))/d input and /d every
 * weight from one training forward and backward (the input held in a variable beside the weights).
 */
function outputsAndGrads(
  model: LayersModel,
  x: Tensor3D,
  apply: (x: Tensor) => Tensor = (xx) => model.apply(xx) as Tensor,
): { y: number[]; dx: number[]; dws: number[][] } {
  const input = tf.variable(x);
  try {
    return tf.tidy(() => {
      const w = tf.randomUniform([1, ...(model.outputs[0]!.shape.slice(1) as number[])], -1, 1, 'float32', 3);
      const y = [...apply(x).dataSync()];
      const vars = model.trainableWeights.map((v) => (v as unknown as { val: Variable }).val);
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(apply(input), w)) as Scalar, [input, ...vars]);
      const dx = [...grads[input.name]!.dataSync()];
      const dws = vars.map((v) => [...grads[v.name]!.dataSync()]);
      return { y, dx, dws };
    });
  } finally {
    input.dispose();
  }
}

function maxAbsDiff(a: number[], b: number[]): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

/** ‖a − b‖ / ‖b‖. */
function relError(a: number[], b: number[]): number {
  assert.equal(a.length, b.length);
  let num = 0;
  let den = 0;
  a.forEach((v, i) => {
    num += (v - b[i]!) ** 2;
    den += b[i]! ** 2;
  });
  return Math.sqrt(num / den);
}

const shapes: Array<[number, number, number, number]> = [
  // [batch, timesteps, input dim, units]
  [1, 1, 3, 2],
  [1, 7, 4, 5],
  [3, 1, 5, 4],
  [4, 12, 6, 8],
  [16, 40, 10, 16],
];

for (const kernels of KERNELS) {
  for (const backend of ['loaded', 'cpu'] as const) {
    for (const cell of CELLS) {
      for (const [B, T, D, U] of shapes) {
        // Every step's output: the oneDNN op's own path (the addon's `sequence` pooling); the tfjs ops' is exercised by
        // the pooled and bidirectional models below.
        for (const sequences of kernels === 'onednn' && backend === 'loaded' ? [false, true] : [false]) {
          test(
            `${cell} fused (${kernels} kernels) = stock on ${backend} backend: batch ${B}, ${T} steps, ${D} → ${U}${sequences ? ", every step's output" : ''}`,
            { skip: skipFor(kernels) },
            async () => {
              const previous = tf.getBackend();
              if (backend === 'cpu') await tf.setBackend('cpu');
              try {
                const stock = modelFor(cell, T, D, U, sequences);
                const fused = modelFor(cell, T, D, U, sequences);
                fused.setWeights(stock.getWeights());
                assert.ok(fusable(fused.layers[1]!));
                assert.equal(fuseRecurrentLayers(tf, fused, kernelsFor(kernels)).length, 1);
                const x = tf.randomNormal([B, T, D], 0, 1, 'float32', B * 100 + T) as Tensor3D;
                const a = outputsAndGrads(stock, x, stockApply(stock));
                const before = tf.memory().numTensors;
                const b = outputsAndGrads(fused, x);
                assert.equal(tf.memory().numTensors, before, 'the fused forward and backward leave no tensors behind');
                assert.ok(maxAbsDiff(a.y, b.y) < 1e-5, `output differs by ${maxAbsDiff(a.y, b.y)}`);
                assert.ok(maxAbsDiff(a.dx, b.dx) < 1e-4, `input gradient differs by ${maxAbsDiff(a.dx, b.dx)}`);
                a.dws.forEach((g, i) =>
                  assert.ok(maxAbsDiff(g, b.dws[i]!) < 1e-4, `weight ${i} gradient differs by ${maxAbsDiff(g, b.dws[i]!)}`),
                );
                x.dispose();
                stock.dispose();
                fused.dispose();
              } finally {
                await tf.setBackend(previous);
              }
            },
          );
        }
      }
    }
  }
}

for (const cell of CELLS) {
  test(
    `${cell} on the oneDNN kernels at the lesson model's size (batch 64, 256 steps, 100 → 128): relative error < 1e-3`,
    { skip: skipFor('onednn') },
    () => {
      const [B, T, D, U] = [64, 256, 100, 128];
      const stock = modelFor(cell, T, D, U);
      const fused = modelFor(cell, T, D, U);
      fused.setWeights(stock.getWeights());
      fuseRecurrentLayers(tf, fused, kernelsFor('onednn'));
      // Embedding-like inputs (the lesson's embeddings start uniform in ±0.05; trained ones grow to about ±0.5).
      const x = tf.randomUniform([B, T, D], -0.5, 0.5, 'float32', 11) as Tensor3D;
      const a = outputsAndGrads(stock, x);
      const b = outputsAndGrads(fused, x);
      assert.ok(relError(b.y, a.y) < 1e-3, `output: relative error ${relError(b.y, a.y)}`);
      assert.ok(relError(b.dx, a.dx) < 1e-3, `input gradient: relative error ${relError(b.dx, a.dx)}`);
      a.dws.forEach((g, i) => assert.ok(relError(b.dws[i]!, g) < 1e-3, `weight ${i} gradient: relative error ${relError(b.dws[i]!, g)}`));
      x.dispose();
      stock.dispose();
      fused.dispose();
    },
  );
}

test(
  'oneDNN kernels: one model serves several batch sizes; predict and training leave no tensors behind',
  { skip: skipFor('onednn') },
  async () => {
    const [T, D, U] = [20, 6, 8];
    const stock = modelFor('lstm', T, D, U);
    const fused = modelFor('lstm', T, D, U);
    fused.setWeights(stock.getWeights());
    fuseRecurrentLayers(tf, fused, kernelsFor('onednn'));
    for (const B of [5, 3, 5, 1]) {
      const x = tf.randomNormal([B, T, D], 0, 1, 'float32', B) as Tensor3D;
      const before = tf.memory().numTensors;
      const p = fused.predict(x) as Tensor;
      assert.ok(maxAbsDiff([...p.dataSync()], [...(stock.predict(x) as Tensor).dataSync()]) < 1e-5);
      tf.dispose(p);
      const a = outputsAndGrads(stock, x);
      const b = outputsAndGrads(fused, x);
      assert.ok(maxAbsDiff(a.dx, b.dx) < 1e-4, `batch ${B}: input gradient differs by ${maxAbsDiff(a.dx, b.dx)}`);
      assert.ok(tf.memory().numTensors <= before + 1, `batch ${B}: tensors left behind`); // + the stock prediction, disposed below
      tf.dispose(x);
    }
    stock.dispose();
    fused.dispose();
  },
);

test("with tfjs kernels chosen, on the native backend the fused LSTM/GRU run TensorFlow's block-cell kernels; on cpu, tfjs ops", async () => {
  if (REQUIRE_NATIVE) assert.equal(describeKernels(tf, tfjsKernels('tests')), 'TensorFlow LSTMBlockCell/GRUBlockCell kernels');
  if (onednn.addon) assert.match(describeKernels(tf, kernelsFor('onednn')), /^oneDNN 2\.\d+\.\d+ whole-sequence kernels \(rnn's addon\)$/);
  const previous = tf.getBackend();
  await tf.setBackend('cpu');
  try {
    assert.equal(describeKernels(tf, tfjsKernels('tests')), 'tfjs ops');
  } finally {
    await tf.setBackend(previous);
  }
});

test('unsupported configurations keep the stock call; the output sequence and going backwards are fused', () => {
  for (const layer of [
    tf.layers.lstm({ units: 2, returnSequences: true, recurrentActivation: 'sigmoid' }),
    tf.layers.gru({ units: 2, goBackwards: true, recurrentActivation: 'sigmoid' }),
    tf.layers.simpleRNN({ units: 2, returnSequences: true, goBackwards: true }),
  ]) {
    assert.equal(fusable(layer), true, JSON.stringify(layer.getConfig()));
  }
  for (const layer of [
    tf.layers.lstm({ units: 2, returnState: true, recurrentActivation: 'sigmoid' }),
    tf.layers.lstm({ units: 2 }), // tfjs's hardSigmoid default
    tf.layers.gru({ units: 2, recurrentActivation: 'sigmoid', dropout: 0.1 }),
    tf.layers.simpleRNN({ units: 2, activation: 'relu' }),
  ]) {
    assert.equal(fusable(layer), false, JSON.stringify(layer.getConfig()));
  }
});

/**
 * Where the fused ops run: tfjs ops (pure-JS cpu backend), TensorFlow's block-cell kernels and TensorFlow ops
 * (the native backend), and the oneDNN kernels layer by layer (layers returning their sequence on the tfjs op).
 */
const VARIANTS = [
  // Smaller on pure-JS cpu, whose embedding gradient (unsortedSegmentSum) costs a few ops per word of the vocabulary.
  { name: 'tfjs ops', backend: 'cpu', kernels: 'tfjs', real: { rows: 8, maxlen: 40, vocabSize: 100 }, skip: false },
  {
    name: "TensorFlow's kernels",
    backend: 'loaded',
    kernels: 'tfjs',
    real: { rows: 16, maxlen: SIZE.maxlen, vocabSize: SIZE.vocabSize },
    skip: !REQUIRE_NATIVE && 'RNN_REQUIRE_NATIVE is not set',
  },
  {
    name: 'oneDNN kernels',
    backend: 'loaded',
    kernels: 'onednn',
    real: { rows: 16, maxlen: SIZE.maxlen, vocabSize: SIZE.vocabSize },
    skip: skipFor('onednn'),
  },
] as const;

/** The tokenizer `rnn train` would fit on the reviews, once per vocabulary size (fitting 800 reviews costs about 1.3 CPU-s). */
const tokenizers = new Map<number, Tokenizer>();

/** The first `rows` real reviews (positive and negative in turn), encoded as `rnn train` encodes them. */
function realBatch(r: { rows: number; maxlen: number; vocabSize: number }): { ids: Int32Array; y: Float32Array } {
  let tok = tokenizers.get(r.vocabSize);
  if (!tok) tokenizers.set(r.vocabSize, (tok = new Tokenizer({ numWords: r.vocabSize }).fitOnTexts(reviews.map((x) => x.text))));
  const used = reviews.slice(0, r.rows);
  const { x } = encode(
    tok,
    used.map((x) => x.text),
    { maxlen: r.maxlen, padding: 'pre', truncating: 'pre' },
  );
  return { ids: x, y: Float32Array.from(used, (x) => x.label) };
}

const topologyName = (t: Topology) => `${t.bidirectional ? 'bidirectional' : 'one direction'}, pooling ${t.pooling}`;

/** The recurrent layers of a model: a Bidirectional's two, or the one. */
function recurrentOf(model: LayersModel): LayersModel['layers'] {
  const rec = model.layers[1]! as unknown as {
    forwardLayer?: LayersModel['layers'][number];
    backwardLayer?: LayersModel['layers'][number];
  };
  return rec.forwardLayer ? [rec.forwardLayer, rec.backwardLayer!] : [model.layers[1]!];
}

/**
 * A stock model (with its predictions and gradients per batch, filled in by {@link checkParity}), built once per
 * backend, cell, topology and size: the TensorFlow-kernel and oneDNN variants compare with the same reference
 * instead of building it and running stock tfjs-layers' forward and backward again (the stock half of each
 * comparison was 40% of these tests' CPU). The weights never change; the models are disposed after the tests.
 */
interface Reference {
  stock: LayersModel;
  results: Map<string, { p: Float32Array; grads: Float32Array[] }>;
}
const references = new Map<string, Reference>();
after(() => {
  for (const r of references.values()) r.stock.dispose();
  references.clear();
});

/** The stock model and the same weights in a fused one, both from buildModel (the stock one shared: {@link Reference}). */
function recipePair(
  cell: CellType,
  t: Topology,
  size: { maxlen: number; vocabSize: number },
  kernels: Kernels,
): { stock: Reference; fused: LayersModel } {
  const o = { ...MODEL_DEFAULTS, ...SIZE, ...t, ...size, cell, seed: 3 };
  const key = JSON.stringify([tf.getBackend(), cell, t, size]);
  let stock = references.get(key);
  if (!stock) {
    stock = { stock: buildModel(tf, { ...o, layers: 'stock' }, tfjsKernels('reference')), results: new Map() };
    references.set(key, stock);
  }
  const fused = buildModel(tf, { ...o, layers: 'fused' }, kernels);
  fused.setWeights(stock.stock.getWeights());
  for (const l of recurrentOf(fused)) assert.ok(Object.hasOwn(l, 'call'), `${l.name} is fused`);
  for (const l of recurrentOf(stock.stock)) assert.ok(!Object.hasOwn(l, 'call'), `${l.name} is stock`);
  return { stock, fused };
}

/** The predictions and tfjs's gradients of the mean binary cross-entropy with respect to every trainable weight. */
function predictionsAndGrads(
  model: LayersModel,
  ids: Int32Array,
  y: Float32Array,
  maxlen: number,
): { p: Float32Array; grads: Float32Array[] } {
  return tf.tidy(() => {
    const xs = tf.tensor2d(ids, [y.length, maxlen], 'int32');
    const ys = tf.tensor2d(y, [y.length, 1]);
    const p = (model.apply(xs) as Tensor).dataSync() as Float32Array;
    const vars = model.trainableWeights.map((w) => (w as unknown as { val: Variable }).val);
    const { grads } = tf.variableGrads(
      () => tf.mean(tf.metrics.binaryCrossentropy(ys, model.apply(xs, { training: true }) as Tensor)) as Scalar,
      vars,
    );
    return { p: p.slice(), grads: vars.map((v) => (grads[v.name]!.dataSync() as Float32Array).slice()) };
  });
}

/**
 * The fused model's predictions and gradients = the stock model's: within 1e-4, and 1e-3 of each gradient's largest
 * entry. The stock model's are computed on the first call for `what` and kept in the reference.
 */
function checkParity(what: string, stock: Reference, fused: LayersModel, ids: Int32Array, y: Float32Array, maxlen: number): void {
  let want = stock.results.get(what);
  if (!want) stock.results.set(what, (want = predictionsAndGrads(stock.stock, ids, y, maxlen)));
  const before = tf.memory().numTensors;
  const got = predictionsAndGrads(fused, ids, y, maxlen);
  assert.equal(tf.memory().numTensors, before, `${what}: the fused forward and backward leave no tensors behind`);
  const dp = maxAbsDiff([...got.p], [...want.p]);
  assert.ok(dp < 1e-5, `${what}: predictions differ by ${dp}`);
  assert.equal(got.grads.length, want.grads.length);
  want.grads.forEach((g, i) => {
    const d = maxAbsDiff([...got.grads[i]!], [...g]);
    const scale = g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assert.ok(d < 1e-4 && d <= 1e-3 * scale, `${what}: gradient ${i} differs by ${d} (largest ${scale})`);
  });
}

for (const v of VARIANTS) {
  for (const cell of CELLS) {
    for (const t of TOPOLOGIES) {
      test(
        `${cell}, ${topologyName(t)}: buildModel's fused layers on ${v.name} = stock tfjs-layers on real reviews and at the edges`,
        { skip: v.skip },
        async () => {
          const previous = tf.getBackend();
          if (v.backend === 'cpu') await tf.setBackend('cpu');
          try {
            const kernels = kernelsFor(v.kernels);
            if (v.name === "TensorFlow's kernels")
              assert.equal(describeKernels(tf, kernels), 'TensorFlow LSTMBlockCell/GRUBlockCell kernels');
            const real = recipePair(cell, t, v.real, kernels);
            const b = realBatch(v.real);
            checkParity(`${v.real.rows} real reviews`, real.stock, real.fused, b.ids, b.y, v.real.maxlen);
            real.fused.dispose();
            const T = 13;
            const edge = recipePair(cell, t, { maxlen: T, vocabSize: v.real.vocabSize }, kernels);
            const { ids, y } = edgeRows(T);
            for (const [what, rows] of EDGE_BATCHES) {
              const sub = rowsOf(ids, T, rows);
              checkParity(
                `${T} steps, ${what}`,
                edge.stock,
                edge.fused,
                sub,
                Float32Array.from(rows, (r) => y[r]!),
                T,
              );
            }
            edge.fused.dispose();
          } finally {
            await tf.setBackend(previous);
          }
        },
      );
    }
  }
}
