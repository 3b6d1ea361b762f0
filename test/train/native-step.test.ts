/**
 * The whole training step in rnn's oneDNN addon (NativeStep) computes what tfjs's `trainOnBatch` computes
 * with tfjs's Adam: same loss and accuracy every step, and after many steps on real IMDB reviews the same
 * weights and Adam moments within float tolerance (the reference is the same model, with the fused layer on
 * the same oneDNN kernels, trained by tfjs). Handing the state over to tfjs (a checkpoint) and back loses
 * nothing, and no tensors are left behind.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { loadBackend, type TF } from '../../src/backend/index.js';
import { loadOnednn, type OnednnAddon } from '../../src/backend/onednn.js';
import { buildModel, MODEL_DEFAULTS, CELLS, type CellType } from '../../src/models/index.js';
import { fusable } from '../../src/models/fused.js';
import { NativePredictor, NativeStep, nativeStepCell } from '../../src/train/native-step.js';
import { encode, predictArrays, resolveTrainOptions } from '../../src/train/index.js';
import { clippedAdam } from '../../src/train/clip.js';
import { Tokenizer } from '../../src/text/tokenizer.js';
import { readImdbTarball } from '../../src/data/imdb.js';
import type { Review } from '../../src/data/index.js';
import { IMDB_TARBALL, REQUIRE_NATIVE, REQUIRE_ONEDNN } from '../helpers.js';

let tf: TF;
let reviews: Review[] = [];
const onednn = loadOnednn();
const skip = REQUIRE_ONEDNN || onednn.addon ? false : `rnn's oneDNN addon is not available: ${onednn.error}`;
const addon = onednn.addon as OnednnAddon;

before(async () => {
  tf = (await loadBackend({ requireNative: REQUIRE_NATIVE, kernels: 'onednn' })).tf;
  const d = await readImdbTarball(IMDB_TARBALL, ['train']);
  // positives and negatives, interleaved
  reviews = d.train.slice(0, 400).flatMap((r, i) => [r, d.train[d.train.length - 1 - i]!]);
});

const SIZE = { vocabSize: 2000, embeddingDim: 24, maxlen: 80, units: 16 };

function seedModel(cell: CellType, clipNorm: number | null = null): LayersModel {
  const m = buildModel(tf, { ...MODEL_DEFAULTS, ...SIZE, cell, seed: 5, layers: 'fused' });
  m.compile({ optimizer: clippedAdam(tf, 1e-2, clipNorm), loss: 'binaryCrossentropy', metrics: ['accuracy'] });
  return m;
}

/** Real review batches of 32 (the last one short, 16), encoded like rnn train does. */
function batches(): Array<{ ids: Int32Array; y: Float32Array }> {
  const tok = new Tokenizer({ numWords: SIZE.vocabSize }).fitOnTexts(reviews.map((r) => r.text));
  const { x } = encode(tok, reviews.map((r) => r.text), resolveTrainOptions({ cell: 'lstm', maxlen: SIZE.maxlen }));
  const out: Array<{ ids: Int32Array; y: Float32Array }> = [];
  for (let start = 0, k = 0; start < 400; start += k % 3 === 2 ? 16 : 32, k++) {
    const size = k % 3 === 2 ? 16 : 32;
    out.push({ ids: x.slice(start * SIZE.maxlen, (start + size) * SIZE.maxlen), y: Float32Array.from(reviews.slice(start, start + size), (r) => r.label) });
  }
  return out;
}

function maxAbsDiff(a: Tensor[] | Float32Array[], b: Tensor[] | Float32Array[]): number {
  let m = 0;
  a.forEach((t, i) => {
    const x = t instanceof Float32Array ? t : (t.dataSync() as Float32Array);
    const u = b[i]!;
    const y = u instanceof Float32Array ? u : (u.dataSync() as Float32Array);
    assert.equal(x.length, y.length);
    for (let k = 0; k < x.length; k++) m = Math.max(m, Math.abs(x[k]! - y[k]!));
  });
  return m;
}

async function moments(model: LayersModel): Promise<{ names: string[]; values: Float32Array[]; iter: number }> {
  const w = await (model.optimizer as unknown as { getWeights(): Promise<Array<{ name: string; tensor: Tensor }>> }).getWeights();
  const iterTensor = w.find((x) => x.name === 'iter')!.tensor;
  const iter = iterTensor.dataSync()[0]!;
  iterTensor.dispose(); // a fresh scalar; the moments are the optimizer's own variables
  const rest = w.filter((x) => x.name !== 'iter');
  return { names: rest.map((x) => x.name.replace(/_\d+(?=\/[mv]$)/, '')), values: rest.map((x) => (x.tensor.dataSync() as Float32Array).slice()), iter };
}

// Without a clip, and with one (--clip-norm) small enough to act on most of these steps.
const parityCases: Array<{ cell: CellType; clipNorm: number | null }> = [...CELLS.map((cell) => ({ cell, clipNorm: null })), ...CELLS.map((cell) => ({ cell, clipNorm: 0.05 }))];
for (const { cell, clipNorm } of parityCases) {
  test(`${cell}: NativeStep = trainOnBatch with tfjs's Adam${clipNorm === null ? '' : ` clipped to global norm ${clipNorm}`} over ${Math.ceil(400 / 80) * 3} real-review batches`, { skip }, async () => {
    const reference = seedModel(cell, clipNorm);
    const model = seedModel(cell, clipNorm);
    model.setWeights(reference.getWeights());
    const kind = nativeStepCell(model, fusable);
    assert.equal(kind, { simplernn: 'SimpleRNN', lstm: 'LSTM', gru: 'GRU' }[cell]);
    const step = await NativeStep.create(addon, kind!, SIZE.maxlen, model);
    const before = tf.memory().numTensors;
    let clipped = 0;
    for (const [k, b] of batches().entries()) {
      const xs = tf.tensor2d(b.ids, [b.y.length, SIZE.maxlen], 'int32');
      const ys = tf.tensor2d(b.y, [b.y.length, 1]);
      const [loss, acc] = (await reference.trainOnBatch(xs, ys)) as number[];
      tf.dispose([xs, ys]);
      const r = step.step(b.ids, b.y);
      assert.equal(r.gradNorm === undefined, clipNorm === null, 'the norm is reported when the optimizer clips');
      if (clipNorm !== null && r.gradNorm! > clipNorm) clipped++;
      assert.ok(Math.abs(r.loss - loss!) < 1e-4, `batch ${k}: loss ${r.loss} vs ${loss}`);
      assert.equal(r.acc, acc, `batch ${k}: accuracy`);
    }
    if (clipNorm !== null) assert.ok(clipped >= 10, `the clip acted on ${clipped} of 15 steps`);
    step.syncWeights(tf, model);
    await step.syncOptimizer(tf, model);
    const tensorsAfterSync = tf.memory().numTensors;
    assert.ok(maxAbsDiff(model.getWeights(), reference.getWeights()) < 1e-4, `weights differ by ${maxAbsDiff(model.getWeights(), reference.getWeights())}`);
    const a = await moments(model);
    const b = await moments(reference);
    assert.deepEqual(a.names, b.names, "Adam's moments under tfjs's names");
    assert.equal(a.iter, b.iter);
    assert.ok(maxAbsDiff(a.values, b.values) < 1e-5, `moments differ by ${maxAbsDiff(a.values, b.values)}`);
    // Syncing again (every epoch, every checkpoint) adds nothing: tfjs's old moment variables are disposed.
    step.syncWeights(tf, model);
    await step.syncOptimizer(tf, model);
    assert.equal(tf.memory().numTensors, tensorsAfterSync);
    // What stays: the two Adams' moments (the reference's from trainOnBatch, the model's from the sync).
    assert.equal(tensorsAfterSync - before, 4 * model.trainableWeights.length);
    reference.dispose();
    model.dispose();
  });
}

for (const cell of CELLS) {
  test(`${cell}: NativePredictor and predictArrays on the oneDNN kernels = stock tfjs-layers' predict on real reviews`, { skip }, () => {
    const stock = buildModel(tf, { ...MODEL_DEFAULTS, ...SIZE, cell, seed: 9, layers: 'stock' });
    const fused = seedModel(cell); // fused onto the addon (the process chose --kernels onednn)
    fused.setWeights(stock.getWeights());
    const all = batches();
    const ids = new Int32Array(all.reduce((n, b) => n + b.ids.length, 0));
    all.reduce((at, b) => (ids.set(b.ids, at), at + b.ids.length), 0);
    const want = tf.tidy(() => (stock.predict(tf.tensor2d(ids, [ids.length / SIZE.maxlen, SIZE.maxlen], 'int32')) as Tensor).dataSync() as Float32Array);
    const before = tf.memory().numTensors;
    const predictor = NativePredictor.for(addon, fused, fusable)!;
    assert.ok(maxAbsDiff([predictor.predict(ids)], [want]) < 1e-5, 'one call, all 400 reviews');
    // predictArrays takes the native path for a model fused onto the addon, in batches of 64 (the last one short)
    assert.ok(maxAbsDiff([predictArrays(tf, fused, ids, SIZE.maxlen, 64)], [want]) < 1e-5);
    assert.equal(tf.memory().numTensors, before);
    assert.equal(NativePredictor.for(addon, stock, () => false), undefined, 'not for a model whose recurrent layer is not fusable');
    stock.dispose();
    fused.dispose();
  });
}

/** Everything one forwardIds (inference, then training) and its backwardEmbedding return, with the run's work share. */
function idsRun(cell: 'SimpleRNN' | 'LSTM' | 'GRU', T: number, B: number, D: number, U: number, ids: Int32Array, parts?: number, chunk?: number) {
  const G = { SimpleRNN: 1, LSTM: 4, GRU: 3 }[cell];
  const V = Math.max(...ids) + 1;
  const rand = (n: number, seed: number, scale: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 1000 + i * 12.9898) * scale);
  const E = rand(V * D, 1, 0.3);
  const w = [rand(D * G * U, 2, 0.3), rand(U * G * U, 3, 0.3), rand(G * U, 4, 0.3)] as const;
  const s = new addon.Sequence(cell, T, B, D, U, parts, chunk);
  const infer = s.forwardIds(ids, E, ...w, false);
  const work = s.work;
  const h = s.forwardIds(ids, E, ...w, true);
  const dE = new Float32Array(V * D);
  const grads = s.backwardEmbedding(rand(B * U, 5, 1), s.generation, dE);
  return { work, parts: s.parts, out: [infer, h, dE, ...grads] };
}

/** Largest |a − b| over the largest |a|, per output. */
function relErrors(a: Float32Array[], b: Float32Array[]): number[] {
  return a.map((x, i) => {
    let d = 0;
    let m = 1e-30;
    for (let k = 0; k < x.length; k++) {
      d = Math.max(d, Math.abs(x[k]! - b[i]![k]!));
      m = Math.max(m, Math.abs(x[k]!));
    }
    return d / m;
  });
}

const OUTPUTS = ['inference h_T', 'training h_T', 'embedding gradient', 'kernel gradient', 'recurrent kernel gradient', 'bias gradient'];

test("rows in their leading padding share one trajectory: on real 64 × 256 batches ('pre' padding, 10,000 words) about 3/4 of the steps run, with the whole run's results", { skip }, () => {
  const texts = reviews.slice(0, 64).map((r) => r.text);
  const tok = new Tokenizer({ numWords: 10000 }).fitOnTexts(reviews.map((r) => r.text));
  const { x } = encode(tok, texts, resolveTrainOptions({ cell: 'lstm', maxlen: 256 }));
  for (const cell of ['SimpleRNN', 'LSTM', 'GRU'] as const) {
    const whole = idsRun(cell, 256, 64, 100, 128, x, undefined, 256);
    const shared = idsRun(cell, 256, 64, 100, 128, x);
    assert.equal(whole.work, 1);
    assert.ok(shared.work > 0.5 && shared.work < 0.85, `${cell}: ran ${shared.work} of the steps`);
    // the sums over 64 × 256 steps run in another order: float32 rounding, as against stock tfjs (1e-3 there)
    relErrors(whole.out, shared.out).forEach((e, i) => assert.ok(e < 1e-4, `${cell} ${OUTPUTS[i]}: relative error ${e}`));
  }
});

test('shared padding trajectories: every edge gives the whole run\'s results', { skip }, () => {
  // rows' leading padding (in steps); the other steps get ids 1…
  const cases: Array<[string, number, number, number | undefined, number[]]> = [
    // name, T, chunk, parts, padding per row
    ['T not a multiple of the chunk, two halves', 23, 5, 2, [0, 23, 3, 9, 14, 20, 22, 6, 11]],
    ['one half', 23, 5, 1, [0, 23, 3, 9, 14, 20, 22, 6, 11]],
    ['every row entirely padding', 12, 4, 2, [12, 12, 12, 12, 12]],
    ['no padding anywhere', 12, 4, 2, [0, 0, 0, 0, 0]],
    ['one row, padded', 17, 4, 1, [9]],
    ['chunk of one step', 9, 1, 2, [8, 7, 1, 0, 5, 2, 3, 4]],
    ['all rows begin in the last chunk', 16, 4, 2, [13, 14, 15, 12, 13, 14]],
  ];
  for (const [name, T, chunk, parts, pads] of cases) {
    const B = pads.length;
    const ids = new Int32Array(B * T);
    pads.forEach((p, b) => {
      for (let t = p; t < T; t++) ids[b * T + t] = 1 + ((b * 31 + t * 7) % 10);
    });
    for (const cell of ['SimpleRNN', 'LSTM', 'GRU'] as const) {
      const whole = idsRun(cell, T, B, 5, 6, ids, parts, T);
      const shared = idsRun(cell, T, B, 5, 6, ids, parts, chunk);
      assert.equal(shared.parts, parts ?? shared.parts);
      relErrors(whole.out, shared.out).forEach((e, i) => assert.ok(e < 1e-5, `${name}, ${cell}: ${OUTPUTS[i]} relative error ${e}`));
    }
  }
});

test('a backward needs its own kind of training forward, and no inference forward in between', { skip }, () => {
  const s = new addon.Sequence('GRU', 3, 2, 4, 5);
  const [x, W, R, b] = [new Float32Array(2 * 3 * 4), new Float32Array(4 * 15), new Float32Array(5 * 15), new Float32Array(15)];
  s.forwardIds(new Int32Array(6), new Float32Array(8), W, R, b, true);
  assert.throws(() => s.backward(new Float32Array(10), s.generation), /backward needs a forward \(after forwardIds, use backwardEmbedding\)/);
  s.forward(x, W, R, b, true);
  s.forward(x, W, R, b, false);
  assert.throws(() => s.backward(new Float32Array(10), s.generation), /backward needs the saved activations of its own training forward/);
  assert.throws(() => new addon.Sequence('GRU', 3, 2, 4, 5, 1, 0), /chunk must be >= 1/);
});

test('handing the state to tfjs and back (a checkpoint, then resume) continues the same run', { skip }, async () => {
  const all = batches();
  const straight = seedModel('gru');
  const resumed = seedModel('gru');
  resumed.setWeights(straight.getWeights());
  const s1 = await NativeStep.create(addon, 'GRU', SIZE.maxlen, straight);
  for (const b of all) s1.step(b.ids, b.y);
  s1.syncWeights(tf, straight);
  let s2 = await NativeStep.create(addon, 'GRU', SIZE.maxlen, resumed);
  for (const [k, b] of all.entries()) {
    if (k === 7) {
      s2.syncWeights(tf, resumed);
      await s2.syncOptimizer(tf, resumed);
      s2 = await NativeStep.create(addon, 'GRU', SIZE.maxlen, resumed);
    }
    s2.step(b.ids, b.y);
  }
  s2.syncWeights(tf, resumed);
  assert.ok(maxAbsDiff(resumed.getWeights(), straight.getWeights()) < 1e-6, `weights differ by ${maxAbsDiff(resumed.getWeights(), straight.getWeights())}`);
  straight.dispose();
  resumed.dispose();
});

test('NativeStep takes only the seed model: Embedding → fused-compatible cell → Dense(1, sigmoid), adam, BCE', () => {
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
  const cases: Array<[string, Parameters<typeof build>[0], string | undefined]> = [
    ['the seed shape', {}, 'LSTM'],
    ['maskZero embedding', { mask: true }, undefined],
    ["tfjs's hardSigmoid default", { hardSigmoid: true }, undefined],
    ['two outputs', { units: 2 }, undefined],
    ['sgd', { optimizer: 'sgd' }, undefined],
    ['mse', { loss: 'meanSquaredError' }, undefined],
  ];
  for (const [name, opts, expected] of cases) {
    const m = build(opts);
    assert.equal(nativeStepCell(m, fusable), expected, name);
    m.dispose();
  }
});

test('the addon checks ids against the embedding and needs a forwardIds before backwardEmbedding', { skip }, () => {
  const s = new addon.Sequence('LSTM', 2, 1, 3, 2);
  const w = [new Float32Array(3 * 8), new Float32Array(2 * 8), new Float32Array(8)] as const;
  assert.throws(() => s.backwardEmbedding(new Float32Array(2), s.generation, new Float32Array(15)), /backwardEmbedding needs a forwardIds/);
  assert.throws(() => s.forwardIds(Int32Array.from([0, 5]), new Float32Array(15), ...w, true), /token id 5 is outside the embedding \(size 5\)/);
  s.forwardIds(Int32Array.from([0, 4]), new Float32Array(15).fill(0.1), ...w, true);
  const dE = new Float32Array(15).fill(9);
  assert.equal(s.backwardEmbedding(Float32Array.from([1, 1]), s.generation, dE).length, 3);
  assert.deepEqual([...dE.subarray(3, 12)], new Array(9).fill(0), 'rows of unused ids are zeroed');
});
