/**
 * Throughput of the lesson model with stock tfjs-layers vs rnn's fused recurrent layers on tfjs/TensorFlow
 * ops vs the fused layers on rnn's oneDNN kernels, measured side by side in one process on real IMDB
 * batches: train samples/s (forward, backward, adam) and predict samples/s. Returns figures; prints nothing.
 * Another architecture (a preset's: bidirectional, pooled) is measured the same way: without the oneDNN
 * kernels it runs on the fused layers on tfjs/TensorFlow ops, layer by layer. {@link runClassesBench} measures
 * what a head of k classes costs in training against the binary one.
 */
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import type { TF } from '../backend/index.js';
import type { Review } from '../data/index.js';
import { Tokenizer } from '../text/tokenizer.js';
import { padSequences } from '../text/pad.js';
import { buildModel, MODEL_DEFAULTS, topologyOf, type ModelOptions } from '../models/index.js';
import { fuseRecurrentLayers } from '../models/fused.js';
import { tfjsKernels, type Kernels } from '../kernels/index.js';
import { CELLS, type CellType } from '../cells.js';
import type { PresetName } from '../train/options.js';
import { lossFor, OnednnStep } from '../train/onednn-step.js';
import { TfjsStep } from '../train/tfjs-step.js';
import { OnednnPredictor } from '../predict/onednn.js';

/** Defaults of `rnn bench`, read by its option parser and by its help text. */
export const BENCH_DEFAULTS = Object.freeze({
  /** Cells measured. */
  cells: CELLS,
  /** Whose architecture: `rnn train --preset NAME`'s (the lesson model's by default). */
  preset: 'lesson' as PresetName,
  /** Reviews per batch. */
  batchSize: 64,
  /** Timed training batches per implementation. */
  trainBatches: 10,
  /** Timed prediction batches per implementation. */
  predictBatches: 20,
  /** Untimed batches first. */
  warmup: 2,
  /** Classes of the model's head: 2, the lesson's Dense(1, sigmoid); k ≥ 3, Dense(k, softmax). */
  classes: 2,
});

/** Options of {@link runBench}. */
export interface BenchOptions {
  /** Cells to measure. */
  cells: CellType[];
  /** Reviews per batch. */
  batchSize: number;
  /** Timed training batches per implementation (after warm-up batches). */
  trainBatches: number;
  /** Timed prediction batches per implementation. */
  predictBatches: number;
  /** Untimed batches first (graph and kernel warm-up). */
  warmup: number;
  /** The architecture (default: the lesson's); its maxlen is the sequence length, its vocabSize the tokenizer's num_words. */
  model: Required<Pick<ModelOptions, 'vocabSize' | 'embeddingDim' | 'maxlen' | 'units' | 'bidirectional' | 'pooling'>>;
  /** The run's kernels: oneDNN ones add a third column; tfjs ones leave it out. */
  kernels: Kernels;
  /** Classes of the head (default 2; k ≥ 3: Dense(k, softmax), labels the reviews' positions modulo k). */
  classes?: number;
}

/**
 * stock tfjs-layers; fused layers on tfjs/TensorFlow ops; the oneDNN kernels as `rnn train`, `eval` and
 * `predict` use them (the whole training step, {@link OnednnStep}, and the whole prediction, {@link OnednnPredictor}).
 */
export type BenchImpl = 'stock' | 'fused' | 'onednn';

export interface BenchRow {
  cell: CellType;
  impl: BenchImpl;
  trainSamplesPerSec: number;
  predictSamplesPerSec: number;
  /** The recurrent layers that ran rnn's fused op (none for stock): what the column measured, whatever the times. */
  fusedLayers: string[];
}

export async function runBench(
  tf: TF,
  reviews: readonly Review[],
  bench: BenchOptions,
  onProgress?: (m: string) => void,
): Promise<BenchRow[]> {
  const o = { ...bench, maxlen: bench.model.maxlen };
  const tok = new Tokenizer({ numWords: o.model.vocabSize }).fitOnTexts(reviews.map((r) => r.text));
  const need = o.batchSize * (o.warmup + Math.max(o.trainBatches, o.predictBatches));
  const used = reviews.slice(0, need);
  const x = padSequences(tok.textsToSequences(used.map((r) => r.text)), { maxlen: o.maxlen });
  const classes = o.classes ?? 2;
  // A step's cost does not depend on its labels' values: k ≥ 3 classes take the reviews' positions modulo k.
  const y = classes === 2 ? Float32Array.from(used, (r) => r.label) : Float32Array.from(used, (_, i) => i % classes);
  /** Batch k's ids and labels (the batches repeat when k runs past the reviews). */
  const arrays = (k: number): { ids: Int32Array; labels: Float32Array } => {
    const j = k % Math.floor(used.length / o.batchSize);
    return {
      ids: x.subarray(j * o.batchSize * o.maxlen, (j + 1) * o.batchSize * o.maxlen),
      labels: y.subarray(j * o.batchSize, (j + 1) * o.batchSize),
    };
  };
  const batch = (k: number): { xs: Tensor; ys: Tensor } => {
    const { ids, labels } = arrays(k);
    return { xs: tf.tensor2d(ids, [o.batchSize, o.maxlen], 'int32'), ys: tf.tensor2d(labels, [o.batchSize, 1]) };
  };
  const rows: BenchRow[] = [];
  const tfjs = tfjsKernels('the fused column runs the tfjs kernels');
  const onednn = o.kernels.name === 'onednn' ? o.kernels : undefined;
  for (const cell of o.cells) {
    const stock = buildModel(tf, { ...MODEL_DEFAULTS, ...o.model, cell, seed: 1, layers: 'stock', classes }, tfjs);
    const copy = (kernels: Kernels): [LayersModel, string[]] => {
      const m = buildModel(tf, { ...MODEL_DEFAULTS, ...o.model, cell, seed: 1, layers: 'stock', classes }, kernels);
      m.setWeights(stock.getWeights());
      return [m, fuseRecurrentLayers(tf, m, kernels)];
    };
    const models: Array<[BenchImpl, LayersModel, string[]]> = [
      ['stock', stock, []],
      ['fused', ...copy(tfjs)],
    ];
    if (onednn) models.push(['onednn', ...copy(onednn)]);
    for (const [impl, model, fusedLayers] of models) {
      onProgress?.(`${cell} ${impl}: training`);
      model.compile({ optimizer: tf.train.adam(1e-3), loss: lossFor(classes), metrics: ['accuracy'] });
      const step = impl === 'onednn' && onednn ? await OnednnStep.create(tf, onednn.addon, cell, o.maxlen, model) : undefined;
      const train = await timeBatches(o.warmup, o.trainBatches, async (k) => {
        if (step) {
          const { ids, labels } = arrays(k);
          step.stepNow(ids, labels, 1e-3);
          return;
        }
        const { xs, ys } = batch(k);
        await model.trainOnBatch(xs, ys);
        xs.dispose();
        ys.dispose();
      });
      step?.syncWeights();
      onProgress?.(`${cell} ${impl}: predicting`);
      const predictor =
        impl === 'onednn' && onednn ? new OnednnPredictor(onednn.addon, cell, o.maxlen, model, topologyOf(model, cell)!) : undefined;
      const predict = await timeBatches(o.warmup, o.predictBatches, async (k) => {
        if (predictor) {
          predictor.predict(arrays(k).ids);
          return;
        }
        const { xs, ys } = batch(k);
        tf.tidy(() => (model.predict(xs) as Tensor).dataSync());
        xs.dispose();
        ys.dispose();
      });
      rows.push({
        cell,
        impl,
        trainSamplesPerSec: (o.trainBatches * o.batchSize) / train,
        predictSamplesPerSec: (o.predictBatches * o.batchSize) / predict,
        fusedLayers,
      });
    }
    for (const [, model] of models) model.dispose();
  }
  return rows;
}

async function timeBatches(warmup: number, timed: number, step: (k: number) => Promise<void>): Promise<number> {
  for (let k = 0; k < warmup; k++) await step(k);
  const t0 = performance.now();
  for (let k = 0; k < timed; k++) await step(warmup + k);
  return (performance.now() - t0) / 1000;
}

/** Defaults of `rnn bench classes`, read by its option parser and its help text. */
export const CLASSES_BENCH_DEFAULTS = Object.freeze({
  cells: ['lstm', 'gru'] as readonly CellType[],
  /** The case: IMDB's eight ratings. */
  classes: 8,
  preset: 'lesson' as PresetName,
  /** `rnn train`'s batch size. */
  batchSize: 32,
  batches: 20,
  rounds: 5,
  warmup: 2,
});

/** Options of {@link runClassesBench}. */
export interface ClassesBenchOptions {
  cell: CellType;
  /** Classes of the model measured against the binary one (k ≥ 3). */
  classes: number;
  /** Reviews per step (`rnn train`'s batch size). */
  batchSize: number;
  /** Timed training steps per model per round. */
  batches: number;
  /** Untimed steps per model, first. */
  warmup: number;
  /** Rounds of `batches` interleaved steps of each model. */
  rounds: number;
  /** The architecture (default: the lesson's). */
  model: Required<Pick<ModelOptions, 'vocabSize' | 'embeddingDim' | 'maxlen' | 'units' | 'bidirectional' | 'pooling'>>;
  /** The run's kernels: the oneDNN step on oneDNN ones, tfjs's trainOnBatch on tfjs ones (as `rnn train` chooses). */
  kernels: Kernels;
}

/** Training samples/s of the binary model and of the same model with a head of k classes, medians over the rounds. */
export interface ClassesBenchResult {
  cell: CellType;
  classes: number;
  /** What ran the steps. */
  step: 'onednn' | 'tfjs';
  binarySamplesPerSec: number;
  classesSamplesPerSec: number;
  /** The k-class model's training speed as a share of the binary model's: the median of the rounds' ratios (each round's pair ran side by side). */
  ratio: number;
  /** Every round's samples/s, binary then k classes. */
  rounds: Array<[number, number]>;
}

/**
 * The cost of k classes: the lesson model (or `model`'s architecture) trained with Dense(1, sigmoid) and with
 * Dense(k, softmax), step for step as `rnn train` trains it, in one process on the same real review batches,
 * their steps interleaved (one of each in turn, which first alternating) so that a busy machine's load falls on
 * both alike; each round's samples/s per model, and their medians over the rounds. The k-class labels are the
 * reviews' positions modulo k (a step's cost does not depend on its labels' values).
 */
export async function runClassesBench(
  tf: TF,
  reviews: readonly Review[],
  o: ClassesBenchOptions,
  onProgress?: (m: string) => void,
): Promise<ClassesBenchResult> {
  const { maxlen, vocabSize } = o.model;
  const tok = new Tokenizer({ numWords: vocabSize }).fitOnTexts(reviews.map((r) => r.text));
  const n = o.batchSize * (o.warmup + o.batches);
  const used = reviews.slice(0, n);
  const x = padSequences(tok.textsToSequences(used.map((r) => r.text)), { maxlen });
  const labels = (classes: number): Float32Array =>
    classes === 2 ? Float32Array.from(used, (r) => r.label) : Float32Array.from(used, (_, i) => i % classes);
  const onednn = o.kernels.name === 'onednn' ? o.kernels : undefined;
  const steppers = await Promise.all(
    [2, o.classes].map(async (classes) => {
      const model = buildModel(tf, { ...MODEL_DEFAULTS, ...o.model, cell: o.cell, seed: 1, layers: 'fused', classes }, o.kernels);
      model.compile({ optimizer: tf.train.adam(1e-3), loss: lossFor(classes), metrics: ['accuracy'] });
      const step = onednn ? await OnednnStep.create(tf, onednn.addon, o.cell, maxlen, model) : new TfjsStep(tf, model, maxlen);
      return { classes, model, step, y: labels(classes) };
    }),
  );
  const batch = (k: number): number => (k % (o.warmup + o.batches)) * o.batchSize;
  const step = async (s: (typeof steppers)[number], k: number): Promise<number> => {
    const at = batch(k);
    const t0 = performance.now();
    await s.step.step(x.subarray(at * maxlen, (at + o.batchSize) * maxlen), s.y.subarray(at, at + o.batchSize), 1e-3);
    return performance.now() - t0;
  };
  for (let k = 0; k < o.warmup; k++) for (const s of steppers) await step(s, k);
  const rounds: Array<[number, number]> = [];
  for (let r = 0; r < o.rounds; r++) {
    onProgress?.(`${o.cell}: round ${r + 1} of ${o.rounds}`);
    const ms = [0, 0];
    for (let k = o.warmup; k < o.warmup + o.batches; k++) {
      // Step by step, the two models one after the other (which first alternates), so load and drift fall on both.
      const order = (r + k) % 2 === 0 ? [0, 1] : [1, 0];
      for (const i of order) ms[i]! += await step(steppers[i]!, k);
    }
    rounds.push([(o.batches * o.batchSize * 1000) / ms[0]!, (o.batches * o.batchSize * 1000) / ms[1]!]);
  }
  for (const s of steppers) {
    s.model.optimizer.dispose(); // not the model's own (compiled with an instance), so dispose leaves it
    s.model.dispose();
  }
  const median = (v: number[]): number => {
    const s = [...v].sort((p, q) => p - q);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const binary = median(rounds.map((r) => r[0]));
  const k = median(rounds.map((r) => r[1]));
  return {
    cell: o.cell,
    classes: o.classes,
    step: onednn ? 'onednn' : 'tfjs',
    binarySamplesPerSec: binary,
    classesSamplesPerSec: k,
    ratio: median(rounds.map(([a, b]) => b / a)),
    rounds,
  };
}
