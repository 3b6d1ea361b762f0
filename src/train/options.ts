/**
 * What a training run can be told, and its defaults in one place: {@link TRAIN_DEFAULTS} is read by
 * {@link resolveTrainOptions} and by the help text of `rnn train` and `rnn compare`.
 */
import { BINARY_CLASSES, MODEL_DEFAULTS, type RecurrentImpl } from '../models/index.js';
import type { CellType, Pooling } from '../cells.js';
import type { PadSide } from '../text/pad.js';
import { LR_SCHEDULE_DEFAULTS, type LrSchedule, type Monitor } from './control.js';

/** Everything `rnn train` can set. Defaults: {@link TRAIN_DEFAULTS}, then the {@link PRESETS} entry named by `preset`. */
export interface TrainOptions {
  /** Recurrent cell. */
  cell: CellType;
  /** The named set of defaults the options started from ({@link PRESETS}); options given explicitly override it. */
  preset: PresetName;
  /** Passes over the training split. */
  epochs: number;
  /** Reviews per gradient step. */
  batchSize: number;
  /** Adam learning rate. */
  lr: number;
  /** Fraction of the (shuffled) training reviews held out for validation, taken from the end like Keras. */
  validationSplit: number;
  /** Seed for initialization, shuffling and word dropout. */
  seed: number;
  /** Use only the first N reviews after the seeded shuffle (undefined: all). */
  limit?: number;
  /** Drop training reviews whose text repeats an earlier one's before the shuffle (default false: Keras's data as is). */
  dedupe: boolean;
  /** Tokenizer `num_words` and the Embedding input size. */
  vocabSize: number;
  /** Embedding output size. */
  embeddingDim: number;
  /** Length reviews are padded/truncated to. */
  maxlen: number;
  /** Recurrent units (of each direction). */
  units: number;
  /** Wrap the recurrent layer in Bidirectional (merge_mode concat). */
  bidirectional: boolean;
  /** What the dense layer reads: the last state, or the output sequence's maximum or mean over time. */
  pooling: Pooling;
  /** Where padding goes (Keras default `pre`). */
  padding: PadSide;
  /** Which end long reviews lose (Keras default `pre`: keep the last maxlen words). */
  truncating: PadSide;
  /** Tokenizer OOV token (Keras default none: unknown words are dropped). */
  oovToken: string | null;
  /** Recurrent implementation: rnn's fused layer (default) or stock tfjs-layers; the saved model is the same. */
  layers: RecurrentImpl;
  /** Epoch metric that decides the best epoch (default val_acc; acc without a validation split). */
  monitor: Monitor;
  /** End training with the weights of the best epoch rather than the last (default true). */
  restoreBest: boolean;
  /** Stop after this many epochs without improvement of `monitor` (undefined: never). */
  earlyStopping?: number;
  /** Learning rate per epoch (default cosine decay over the epochs; constant is Keras's `fit`). */
  lrSchedule: LrSchedule;
  /** Momentum of the moving average of the weights that is validated and saved (src/train/ema.ts; null: the trained weights themselves). */
  ema: number | null;
  /** Probability of dropping each word of a training review, drawn anew every epoch (src/train/augment.ts; 0: off). */
  wordDropout: number;
  /** Largest joint L2 norm of a step's gradients, Keras's `global_clipnorm` (src/train/clip.ts; null: no clipping). */
  clipNorm: number | null;
  /**
   * Classes of the labels, which the reviews carry as class indices 0..classes−1 (Review.label). Absent (and
   * so in every run before k classes, and in their checkpoints): 2, the lesson's binary model, Dense(1,
   * sigmoid) with binary cross-entropy. k ≥ 3: Dense(k, softmax) with sparse categorical cross-entropy,
   * accuracy by the most probable class. {@link trainClasses} reads it.
   */
  classes?: number;
  /**
   * Keras's `class_weight`: each training review's loss is multiplied by its class's weight (the batch's loss
   * is their mean, as Keras and tfjs's `fit` compute it); validation loss is not weighted, as in Keras.
   * `balanced`: n / (classes · count of the class) over the training split (scikit-learn's
   * `compute_class_weight`); or one weight per class. Absent: none.
   */
  classWeight?: ClassWeight;
  /**
   * The language model directory (`rnn pretrain`) the run starts from (`rnn train --init`): its tokenizer, embedding
   * and recurrent weights. Absent: trained from scratch.
   */
  init?: string;
  /** With `init`: the embedding's and recurrent layer's learning rate as a multiple of `lr` (the head's); absent: 1. */
  initLrScale?: number;
  /**
   * With `init`: gradual unfreezing (Howard & Ruder 2018): epoch 1 trains the head alone, epoch 2 the recurrent
   * layer too, later epochs every layer ({@link layerRates}); absent: every layer from the start.
   */
  gradualUnfreezing?: true;
  /**
   * Self-training (src/train/self-train.ts): the source of the unlabeled texts (`rnn train --unlabeled`) that the
   * model these options train (the teacher) labels for a second one (the student, saved). Absent: one model.
   */
  unlabeled?: string;
  /** With `unlabeled`: the share of each class's pseudo-labels kept, most confident first (absent: {@link SELF_TRAIN_DEFAULTS}). */
  pseudoShare?: number;
  /** With `unlabeled`: the student's epochs (absent: {@link SELF_TRAIN_DEFAULTS}); its other options are the teacher's. */
  studentEpochs?: number;
}

/** Self-training's defaults, chosen by validation accuracy at 1,000 labels (docs/experiments.md). */
export const SELF_TRAIN_DEFAULTS = Object.freeze({ pseudoShare: 0.5, studentEpochs: 5 });

/** Learning-rate multipliers of a model's layer groups in one step: 0 freezes a group (no update, Adam's moments untouched). */
export interface LayerRates {
  embedding: number;
  /** The recurrent layer (both directions). */
  recurrent: number;
  /** The dense layer. */
  head: number;
}

/** Every layer at the run's rate. */
export const ONE_RATE: LayerRates = Object.freeze({ embedding: 1, recurrent: 1, head: 1 });

/** The layer rates of epoch `epoch` (1-based): `initLrScale` for the body, and gradual unfreezing's frozen layers. */
export function layerRates(o: Pick<TrainOptions, 'initLrScale' | 'gradualUnfreezing'>, epoch: number): LayerRates {
  const body = o.initLrScale ?? 1;
  const thawed = o.gradualUnfreezing ? epoch - 1 : 2; // layers below the head that train: 0, 1 (recurrent), 2 (and embedding)
  return { embedding: thawed >= 2 ? body : 0, recurrent: thawed >= 1 ? body : 0, head: 1 };
}

/** Whether every layer trains at the run's rate. */
export function oneRate(r: LayerRates): boolean {
  return r.embedding === 1 && r.recurrent === 1 && r.head === 1;
}

/** {@link TrainOptions.classWeight}: `balanced`, or one weight per class index. */
export type ClassWeight = 'balanced' | readonly number[];

/** The classes a run trains: {@link TrainOptions.classes}, 2 when absent. */
export function trainClasses(o: Pick<TrainOptions, 'classes'>): number {
  return o.classes ?? BINARY_CLASSES;
}

/**
 * The defaults of every option but the cell and the seed (random unless given, and recorded), and the
 * monitor (val_acc with validation reviews, else acc). The architecture's are the lesson's ({@link MODEL_DEFAULTS});
 * the recipe was chosen by validation accuracy on full IMDB (docs/experiments.md).
 */
export const TRAIN_DEFAULTS = Object.freeze({
  ...MODEL_DEFAULTS,
  epochs: 3,
  /** Keras fit's batch. */
  batchSize: 32,
  lr: 1e-3,
  /** The Keras lesson holds out 0.2. */
  validationSplit: 0.1,
  padding: 'pre',
  truncating: 'pre',
  oovToken: null,
  restoreBest: true,
  lrSchedule: Object.freeze({ kind: 'cosine', ...LR_SCHEDULE_DEFAULTS.cosine }),
  ema: 0.995,
  wordDropout: 0.4,
  clipNorm: 1,
  dedupe: false,
} as const satisfies Omit<TrainOptions, 'cell' | 'seed' | 'limit' | 'monitor' | 'earlyStopping' | 'preset'>);

/**
 * Named sets of option values over {@link TRAIN_DEFAULTS} (`rnn train --preset NAME`): `lesson` is the
 * defaults themselves, the Keras lesson's model; `best` is the most accurate recipe found on IMDB, chosen by
 * validation accuracy (docs/experiments.md, "Past the lesson").
 */
export const PRESETS = Object.freeze({
  lesson: Object.freeze({}),
  best: Object.freeze({ bidirectional: true, pooling: 'max', maxlen: 400, vocabSize: 40000 }),
} as const satisfies Record<string, Partial<Omit<TrainOptions, 'cell' | 'seed' | 'preset'>>>);
export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

/** The monitor when none is given: validation accuracy, or training accuracy without validation reviews. */
export function defaultMonitor(validationSplit: number): Monitor {
  return validationSplit > 0 ? 'val_acc' : 'acc';
}

/**
 * Every option, defaults filled in (`null` turns `ema` and `clipNorm` off; undefined takes the default).
 * `classes` is kept only for k ≥ 3 and `classWeight` only when given, so a binary run's options (and the
 * metadata.json and checkpoints that record them) are what they were before k classes.
 */
export function resolveTrainOptions(o: Partial<TrainOptions> & { cell: CellType }): TrainOptions {
  const preset = o.preset ?? 'lesson';
  const d: Omit<TrainOptions, 'cell' | 'seed' | 'limit' | 'monitor' | 'earlyStopping' | 'preset'> = {
    ...TRAIN_DEFAULTS,
    ...PRESETS[preset],
  };
  const validationSplit = o.validationSplit ?? d.validationSplit;
  return {
    cell: o.cell,
    preset,
    epochs: o.epochs ?? d.epochs,
    batchSize: o.batchSize ?? d.batchSize,
    lr: o.lr ?? d.lr,
    validationSplit,
    seed: o.seed ?? Math.floor(Math.random() * 2 ** 31),
    limit: o.limit,
    dedupe: o.dedupe ?? d.dedupe,
    vocabSize: o.vocabSize ?? d.vocabSize,
    embeddingDim: o.embeddingDim ?? d.embeddingDim,
    maxlen: o.maxlen ?? d.maxlen,
    units: o.units ?? d.units,
    bidirectional: o.bidirectional ?? d.bidirectional,
    pooling: o.pooling ?? d.pooling,
    padding: o.padding ?? d.padding,
    truncating: o.truncating ?? d.truncating,
    oovToken: o.oovToken ?? d.oovToken,
    layers: o.layers ?? d.layers,
    monitor: o.monitor ?? defaultMonitor(validationSplit),
    restoreBest: o.restoreBest ?? d.restoreBest,
    earlyStopping: o.earlyStopping,
    lrSchedule: o.lrSchedule ?? { ...d.lrSchedule },
    ema: o.ema === undefined ? d.ema : o.ema,
    wordDropout: o.wordDropout ?? d.wordDropout,
    clipNorm: o.clipNorm === undefined ? d.clipNorm : o.clipNorm,
    ...(o.classes !== undefined && o.classes !== BINARY_CLASSES && { classes: o.classes }),
    ...(o.classWeight !== undefined && { classWeight: o.classWeight }),
    ...(o.init !== undefined && { init: o.init }),
    ...(o.init !== undefined && o.initLrScale !== undefined && o.initLrScale !== 1 && { initLrScale: o.initLrScale }),
    ...(o.init !== undefined && o.gradualUnfreezing && { gradualUnfreezing: true as const }),
    ...(o.unlabeled !== undefined && {
      unlabeled: o.unlabeled,
      pseudoShare: o.pseudoShare ?? SELF_TRAIN_DEFAULTS.pseudoShare,
      studentEpochs: o.studentEpochs ?? SELF_TRAIN_DEFAULTS.studentEpochs,
    }),
  };
}
