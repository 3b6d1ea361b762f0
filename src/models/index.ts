/**
 * The lesson model, Keras's Sequential Embedding(vocab → dim, input length maxlen) → SimpleRNN/LSTM/GRU(units)
 * → Dense(1, sigmoid), with Keras's defaults where tfjs differs (sigmoid recurrent activation, LSTM
 * unit_forget_bias), and the recipe's variations of it: the recurrent layer wrapped in Bidirectional
 * (merge_mode concat), and its output sequence pooled over time (GlobalMaxPooling1D / GlobalAveragePooling1D)
 * instead of its last state. Labels of k ≥ 3 classes get the head Keras gives them, Dense(k, softmax); two
 * classes keep the lesson's Dense(1, sigmoid). Built from stock tfjs-layers so a saved model loads with
 * `tf.loadLayersModel`.
 */
import type { TF } from '../backend/index.js';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { fusable, fuseRecurrentLayers } from './fused.js';
import { tfjsKernels, type Kernels } from '../kernels/index.js';
import { paramCount, type Topology } from '../kernels/lesson.js';
import { LAYER_CLASS, POOLING_LAYER, type CellType, type Pooling } from '../cells.js';

export type { Topology } from '../kernels/lesson.js';

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
  /** Units of the recurrent layer (of each direction). */
  units: number;
  /** Wrap the recurrent layer in Bidirectional (merge_mode concat): 2 × units features (default false). */
  bidirectional?: boolean;
  /** What the dense layer reads: the recurrent layer's last state (default), or its outputs' maximum or mean over time. */
  pooling?: Pooling;
  /** Seed for the weight initializers. */
  seed: number;
  /**
   * Classes the labels are (default {@link BINARY_CLASSES}): 2 builds the lesson's head, Dense(1, sigmoid), whose
   * output is the probability of class 1; k ≥ 3 builds Dense(k, softmax), one probability per class.
   */
  classes?: number;
  /** `fused`: the recurrent layer runs rnn's fused forward/backward (same weights and saved form); `stock`: tfjs-layers as is. */
  layers: RecurrentImpl;
}

export const RECURRENT_IMPLS = ['fused', 'stock'] as const;
export type RecurrentImpl = (typeof RECURRENT_IMPLS)[number];

/** Classes of the lesson's data (negative, positive): the model ends in Dense(1, sigmoid). */
export const BINARY_CLASSES = 2;

export const MODEL_DEFAULTS: Required<Omit<ModelOptions, 'cell' | 'seed' | 'classes'>> = {
  vocabSize: 10000,
  embeddingDim: 100,
  maxlen: 256,
  units: 128,
  bidirectional: false,
  pooling: 'last',
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
  const model = buildQuietly(tf, () => build(tf, o));
  if (o.layers === 'fused') fuseRecurrentLayers(tf, model, kernels);
  return model;
}

/** The kernels a model's recurrent layer runs on: the run's for fused layers; tfjs for stock tfjs-layers. */
export function kernelsFor(layers: RecurrentImpl, kernels: Kernels): Kernels {
  return layers === 'fused' ? kernels : tfjsKernels('stock tfjs-layers were requested (--layers stock)');
}

type Layer = LayersModel['layers'][number];

/** Whether options describe the lesson's topology (one direction, last state), which every kernel fuses. */
export function isLessonTopology(o: { bidirectional?: boolean; pooling?: Pooling }): boolean {
  return !o.bidirectional && (o.pooling ?? 'last') === 'last';
}

/**
 * Classes a model's head tells apart: 2 for the lesson's Dense(1, sigmoid) (its output is the probability of
 * class 1), k for Dense(k ≥ 3, softmax) (one probability per class); undefined for any other last layer.
 */
export function classesOf(model: LayersModel): number | undefined {
  const dense = model.layers[model.layers.length - 1];
  if (!dense || dense.getClassName() !== 'Dense') return undefined;
  const c = dense.getConfig() as Record<string, unknown>;
  if (c.units === 1 && c.activation === 'sigmoid') return BINARY_CLASSES;
  if (typeof c.units === 'number' && c.units > BINARY_CLASSES && c.activation === 'softmax') return c.units;
  return undefined;
}

/**
 * The topology of a model that runs whole on rnn's oneDNN kernels (training step and prediction), or
 * undefined for any other model: Embedding (no mask) → a `cell` layer the kernels compute, alone or in
 * Bidirectional(merge_mode concat) → GlobalMaxPooling1D / GlobalAveragePooling1D when the layer returns
 * sequences → a head of {@link classesOf} (Dense(1, sigmoid) or Dense(k, softmax)) with a bias.
 */
export function topologyOf(model: LayersModel, cell: CellType): Topology | undefined {
  const ls = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  const [emb, rec] = ls as [Layer | undefined, Layer | undefined];
  const dense = ls[ls.length - 1];
  if (!emb || !rec || !dense || (ls.length !== 3 && ls.length !== 4)) return undefined;
  const ec = emb.getConfig() as Record<string, unknown>;
  const dc = dense.getConfig() as Record<string, unknown>;
  const plain =
    emb.getClassName() === 'Embedding' &&
    !(ec.mask_zero ?? ec.maskZero) &&
    classesOf(model) !== undefined &&
    (dc.use_bias ?? dc.useBias) !== false;
  if (!plain) return undefined;
  const bidirectional = rec.getClassName() === 'Bidirectional';
  const inner = bidirectional ? directions(rec) : [rec];
  if (!inner || inner.length === 0) return undefined;
  const sequences = inner.map((l, i) => computable(l, cell, i === 1));
  if (sequences.some((r) => r === undefined) || new Set(sequences).size !== 1) return undefined;
  const poolingLayer = ls.length === 4 ? ls[2]! : undefined;
  const pooling = poolingLayer ? poolingOf(poolingLayer) : 'last';
  if (!pooling || (pooling === 'last') === sequences[0]) return undefined;
  const topology = { bidirectional, pooling };
  return model.trainableWeights.length === paramCount(topology) ? topology : undefined;
}

/** A Bidirectional layer's forward and backward layers when it concatenates them, else undefined. */
function directions(layer: Layer): Layer[] | undefined {
  const c = layer.getConfig() as Record<string, unknown>;
  const b = layer as unknown as { forwardLayer?: Layer; backwardLayer?: Layer };
  if ((c.merge_mode ?? c.mergeMode) !== 'concat' || !b.forwardLayer || !b.backwardLayer) return undefined;
  return [b.forwardLayer, b.backwardLayer];
}

/**
 * Whether the kernels compute this `cell` layer, going backwards or not as `backwards` says: undefined if
 * not, else whether it returns sequences.
 */
function computable(layer: Layer, cell: CellType, backwards: boolean): boolean | undefined {
  if (layer.getClassName() !== LAYER_CLASS[cell]) return undefined;
  const c = layer.getConfig() as Record<string, unknown>;
  if (Boolean(c.go_backwards ?? c.goBackwards) !== backwards) return undefined;
  const sequences = Boolean(c.return_sequences ?? c.returnSequences);
  return fusable(layer) ? sequences : undefined;
}

function poolingOf(layer: Layer): Pooling | undefined {
  const cls = layer.getClassName();
  const c = layer.getConfig() as Record<string, unknown>;
  if ((c.data_format ?? c.dataFormat ?? 'channels_last') !== 'channels_last') return undefined;
  return cls === POOLING_LAYER.max ? 'max' : cls === POOLING_LAYER.mean ? 'mean' : undefined;
}

/**
 * The lesson's Embedding layer (Keras's uniform ±0.05 initializer, seeded), taking sequences of `inputLength`
 * ids: the same layer, name and initial weights in a classifier and in a language model of the same seed.
 */
export function embeddingLayer(tf: TF, o: Pick<ModelOptions, 'vocabSize' | 'embeddingDim' | 'seed'>, inputLength: number) {
  return tf.layers.embedding({
    inputDim: o.vocabSize,
    outputDim: o.embeddingDim,
    inputLength,
    embeddingsInitializer: tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed: o.seed + 1 }),
    name: 'embedding',
  });
}

/**
 * The lesson's recurrent layer of `o.cell` (Keras's sigmoid recurrent activation, LSTM's unit forget bias,
 * seeded initializers), returning its output sequence or its last state: the same layer, name and initial
 * weights in a classifier and in a language model of the same seed.
 */
export function recurrentLayer(tf: TF, o: Pick<ModelOptions, 'cell' | 'units' | 'seed'>, returnSequences: boolean) {
  const common = {
    units: o.units,
    returnSequences,
    kernelInitializer: tf.initializers.glorotUniform({ seed: o.seed + 2 }),
    recurrentInitializer: tf.initializers.orthogonal({ seed: o.seed + 3 }),
  };
  return o.cell === 'lstm'
    ? tf.layers.lstm({ ...common, recurrentActivation: 'sigmoid', unitForgetBias: true, name: 'lstm' })
    : o.cell === 'gru'
      ? tf.layers.gru({ ...common, recurrentActivation: 'sigmoid', name: 'gru' })
      : tf.layers.simpleRNN({ ...common, name: 'simple_rnn' });
}

/** Builds `layers` into a model inside a tidy, without tfjs's orthogonal-initializer warning (see {@link buildModel}). */
export function buildQuietly(tf: TF, make: () => LayersModel): LayersModel {
  let model: LayersModel | undefined;
  tf.tidy(() => {
    model = withoutOrthogonalWarning(make);
  });
  if (!model) throw new Error('unreachable: the model is built synchronously');
  return model;
}

function build(tf: TF, options: ModelOptions): LayersModel {
  const o = { ...MODEL_DEFAULTS, ...options };
  const classes = o.classes ?? BINARY_CLASSES;
  if (!Number.isInteger(classes) || classes < BINARY_CLASSES) throw new Error(`a model tells apart 2 or more classes, not ${classes}`);
  const cell = recurrentLayer(tf, o, o.pooling !== 'last');
  const rnn = o.bidirectional ? tf.layers.bidirectional({ layer: cell, mergeMode: 'concat', name: 'bidirectional' }) : cell;
  const pooling =
    o.pooling === 'max'
      ? [tf.layers.globalMaxPooling1d({ name: 'global_max_pooling1d' })]
      : o.pooling === 'mean'
        ? [tf.layers.globalAveragePooling1d({ name: 'global_average_pooling1d' })]
        : [];
  const model = tf.sequential({
    name: `imdb_${o.cell}`,
    layers: [
      embeddingLayer(tf, o, o.maxlen),
      rnn,
      ...pooling,
      tf.layers.dense({
        ...(classes === BINARY_CLASSES ? { units: 1, activation: 'sigmoid' as const } : { units: classes, activation: 'softmax' as const }),
        kernelInitializer: tf.initializers.glorotUniform({ seed: o.seed + 4 }),
        name: 'dense',
      }),
    ],
  });
  if (o.bidirectional) reseedBackward(tf, model, o.seed);
  return model;
}

/**
 * Bidirectional builds its backward layer from the forward layer's config, seeded initializers included, so
 * both directions would start from the same weights: the backward layer's kernels are drawn again from
 * seeds of their own (its bias keeps the same, deterministic, initial value).
 */
function reseedBackward(tf: TF, model: LayersModel, seed: number): void {
  const bi = model.layers.find((l) => l.getClassName() === 'Bidirectional') as unknown as { backwardLayer: Layer };
  const [kernel, recurrent] = bi.backwardLayer.trainableWeights as [
    LayersModel['trainableWeights'][number],
    LayersModel['trainableWeights'][number],
  ];
  const draws = [
    [kernel, tf.initializers.glorotUniform({ seed: seed + 5 })],
    [recurrent, tf.initializers.orthogonal({ seed: seed + 6 })],
  ] as const;
  for (const [w, init] of draws) w.write(init.apply(w.shape as number[]) as Tensor);
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
