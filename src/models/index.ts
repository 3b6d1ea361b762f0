/**
 * The lesson model, Keras's Sequential Embedding(vocab → dim, input length maxlen) → SimpleRNN/LSTM/GRU(units)
 * → Dense(1, sigmoid), with Keras's defaults where tfjs differs (sigmoid recurrent activation, LSTM
 * unit_forget_bias). Built from stock tfjs-layers so a saved model loads with `tf.loadLayersModel`.
 */
import type { TF } from '../backend/index.js';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { fusable, fuseRecurrentLayers } from './fused.js';
import { tfjsKernels, type Kernels } from '../kernels/index.js';
import { LESSON_PARAMS } from '../kernels/lesson.js';
import { LAYER_CLASS, type CellType } from '../cells.js';

/** Architecture options; the defaults are the lesson's. */
export interface ModelOptions {
  /** Recurrent cell. */
  cell: CellType;
  /** Embedding input size: ids 0..vocabSize-1 (Keras `num_words`). */
  vocabSize: number;
  /** Embedding output size. */
  embeddingDim: number;
  /** Sequence length the model takes. */
  maxlen: number;
  /** Units of the recurrent layer. */
  units: number;
  /** Seed for the weight initializers. */
  seed: number;
  /** `fused`: the recurrent layer runs rnn's fused forward/backward (same weights and saved form); `stock`: tfjs-layers as is. */
  layers: RecurrentImpl;
}

export const RECURRENT_IMPLS = ['fused', 'stock'] as const;
export type RecurrentImpl = (typeof RECURRENT_IMPLS)[number];

export const MODEL_DEFAULTS: Omit<ModelOptions, 'cell' | 'seed'> = {
  vocabSize: 10000,
  embeddingDim: 100,
  maxlen: 256,
  units: 128,
  layers: 'fused',
};

/** One row of {@link summarize}. */
export interface LayerSummary {
  name: string;
  className: string;
  outputShape: (number | null)[];
  params: number;
}

/** Builds the lesson model; with `layers: 'fused'` its recurrent layer runs on `kernels`. */
export function buildModel(tf: TF, o: ModelOptions, kernels: Kernels): LayersModel {
  // In a tidy: tfjs-layers' LSTM bias initializer (unitForgetBias) leaves 4 intermediate tensors behind
  // (a tidy keeps variables, so the weights stay).
  let model: LayersModel | undefined;
  tf.tidy(() => {
    model = withoutOrthogonalWarning(() => build(tf, o));
  });
  if (!model) throw new Error('unreachable: the model is built synchronously');
  if (o.layers === 'fused') fuseRecurrentLayers(tf, model, kernels);
  return model;
}

/** The kernels a model's recurrent layer runs on: the run's for fused layers; tfjs for stock tfjs-layers. */
export function kernelsFor(layers: RecurrentImpl, kernels: Kernels): Kernels {
  return layers === 'fused' ? kernels : tfjsKernels('stock tfjs-layers were requested (--layers stock)');
}

/**
 * Whether `model` is the lesson model with a `cell` recurrent layer that the fused ops compute: Embedding
 * (no mask) → that layer → Dense(1, sigmoid) with a bias. Such a model runs whole on rnn's oneDNN kernels.
 */
export function isLessonModel(model: LayersModel, cell: CellType): boolean {
  const ls = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  if (ls.length !== 3) return false;
  const [emb, rnn, dense] = ls as [LayersModel['layers'][number], LayersModel['layers'][number], LayersModel['layers'][number]];
  const ec = emb.getConfig() as Record<string, unknown>;
  const dc = dense.getConfig() as Record<string, unknown>;
  return (
    emb.getClassName() === 'Embedding' &&
    !(ec.mask_zero ?? ec.maskZero) &&
    rnn.getClassName() === LAYER_CLASS[cell] &&
    fusable(rnn) &&
    dense.getClassName() === 'Dense' &&
    dc.units === 1 &&
    dc.activation === 'sigmoid' &&
    (dc.use_bias ?? dc.useBias) !== false &&
    model.trainableWeights.length === LESSON_PARAMS
  );
}

function build(tf: TF, o: ModelOptions): LayersModel {
  const common = {
    units: o.units,
    kernelInitializer: tf.initializers.glorotUniform({ seed: o.seed + 2 }),
    recurrentInitializer: tf.initializers.orthogonal({ seed: o.seed + 3 }),
  };
  const rnn =
    o.cell === 'lstm'
      ? tf.layers.lstm({ ...common, recurrentActivation: 'sigmoid', unitForgetBias: true, name: 'lstm' })
      : o.cell === 'gru'
        ? tf.layers.gru({ ...common, recurrentActivation: 'sigmoid', name: 'gru' })
        : tf.layers.simpleRNN({ ...common, name: 'simple_rnn' });
  const model = tf.sequential({
    name: `imdb_${o.cell}`,
    layers: [
      tf.layers.embedding({
        inputDim: o.vocabSize,
        outputDim: o.embeddingDim,
        inputLength: o.maxlen,
        embeddingsInitializer: tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed: o.seed + 1 }),
        name: 'embedding',
      }),
      rnn,
      tf.layers.dense({
        units: 1,
        activation: 'sigmoid',
        kernelInitializer: tf.initializers.glorotUniform({ seed: o.seed + 4 }),
        name: 'dense',
      }),
    ],
  });
  return model;
}

/**
 * tfjs warns (console.warn) at every orthogonal initialization above 2000 elements;
 * the lesson's 128×128 (×3, ×4) is one, and the warning is noise to every command. This silences that one
 * message while `fn` runs, and nothing else.
 */
/* eslint-disable no-console -- tfjs's message can only be caught where it is printed */
function withoutOrthogonalWarning<T>(fn: () => T): T {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('Orthogonal initializer')) return;
    warn(...args);
  };
  try {
    return fn();
  } finally {
    console.warn = warn;
  }
}
/* eslint-enable no-console */

/** Layer rows like Keras's `model.summary()`. */
export function summarize(model: LayersModel): { layers: LayerSummary[]; totalParams: number; trainableParams: number } {
  const layers = model.layers.map((l) => ({
    name: l.name,
    className: l.getClassName(),
    outputShape: l.outputShape as (number | null)[],
    params: l.countParams(),
  }));
  const trainable = model.trainableWeights.reduce((s, w) => s + (w.shape as number[]).reduce((a, b) => a * b, 1), 0);
  return { layers, totalParams: layers.reduce((s, l) => s + l.params, 0), trainableParams: trainable };
}

/** Sets the model's trainable weights (in model.trainableWeights order) to `values` (copied or, for tensors, assigned). */
export function setTrainableWeights(tf: TF, model: LayersModel, values: readonly (Float32Array | Tensor)[]): void {
  model.trainableWeights.forEach((w, i) => {
    const v = values[i]!;
    // A copy: tfjs-node may read a typed array only when the tensor is first used, and `values` change on.
    const t = v instanceof Float32Array ? tf.tensor(v.slice(), w.shape as number[]) : v;
    w.write(t);
    if (t !== v) t.dispose();
  });
}
