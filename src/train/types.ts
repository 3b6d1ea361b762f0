/** What a training run reports and returns: epoch logs, batch progress, callbacks, the checkpoint state and the result. */
import type { LabelSet } from '../data/labels.js';
import type { LayersModel } from '@tensorflow/tfjs';
import type { Kernels } from '../kernels/index.js';
import type { Tokenizer } from '../text/tokenizer.js';
import type { TrainOptions } from './options.js';

/**
 * What `rnn train --init` starts a classifier from: a language model's tokenizer, its options (the shapes to
 * check) and the model whose embedding and recurrent layer's weights the classifier takes.
 */
export interface InitFrom {
  /** The directory, for messages. */
  dir: string;
  tokenizer: Tokenizer;
  options: { cell: string; vocabSize: number; embeddingDim: number; units: number; oovToken: string | null };
  model: LayersModel;
}

/** Metrics of one epoch, Keras's history names. */
export interface EpochLog {
  epoch: number;
  loss: number;
  acc: number;
  val_loss?: number;
  val_acc?: number;
  /** Learning rate the epoch trained with. */
  lr: number;
  /** True when the monitored metric improved on every earlier epoch's. */
  best: boolean;
  /** Wall time of the epoch including validation. */
  seconds: number;
  /** Training samples per second (gradient steps only). */
  samplesPerSec: number;
}

/** Per-batch progress. */
export interface BatchProgress {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  /** Running mean over the epoch so far. */
  loss: number;
  acc: number;
  samplesPerSec: number;
  etaSeconds: number;
}

/** Callbacks of `train`. */
export interface TrainCallbacks {
  onStep?: (message: string) => void;
  onBatch?: (p: BatchProgress) => void;
  onEpoch?: (e: EpochLog) => void;
  /** Called once the model is built (for the summary). */
  onModel?: (model: LayersModel) => void;
  /** Asked before every batch: true ends training there with {@link TrainResult.interrupted} (e.g. on Ctrl-C). */
  shouldStop?: () => boolean;
  /** Self-training: called when the student starts, with what the teacher labeled (its epochs came before). */
  onStudent?: (r: SelfTrainingRecord) => void;
}

/** What a self-training run (`rnn train --unlabeled`) records of its teacher and pseudo-labels (metadata.json's `selfTraining`). */
export interface SelfTrainingRecord {
  /** Texts the unlabeled source gave, and those left once the run's labeled reviews are taken out (the pool). */
  unlabeledTexts: number;
  pool: number;
  /** Share of each class's predictions kept. */
  share: number;
  /** Per class: pool texts the teacher predicted as it, and pseudo-labels kept. */
  predicted: number[];
  kept: number[];
  /** The teacher's epochs and the one whose weights labeled the pool. */
  teacher: { history: EpochLog[]; weightsEpoch: number; bestEpoch: number };
}

/** What a checkpoint of a self-training run's student adds: the pseudo-labels (indices into the pool, classes) and the record. */
export interface SelfTrainingCheckpoint {
  picked: { index: number[]; label: number[] };
  record: SelfTrainingRecord;
}

/** Adam's state as `optimizer.getWeights()` gives it (iterations, then first and second moments), as plain arrays. */
export interface OptimizerWeight {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  data: Float32Array | Int32Array;
}

/**
 * Everything needed to continue an interrupted training run exactly (`train`'s `resume`); `rnn pretrain`'s
 * checkpoints are the same with its own epoch logs (`H`), its windows for reviews and no weight average.
 */
export interface TrainCheckpoint<H = EpochLog> {
  /** Epoch in progress (1-based) and the batches of it already trained. */
  epoch: number;
  batch: number;
  /** This epoch's order of the training reviews, and the random-number state after shuffling it. */
  order: number[];
  rngState: number;
  /** Running sums of the epoch so far (loss and accuracy weighted by batch size). */
  sums: { loss: number; acc: number; seen: number };
  epochTrainSeconds: number;
  history: H[];
  tracker: { best: number | null; bestEpoch: number; wait: number };
  scheduler: { current: number; wait: number };
  trainOnlySeconds: number;
  trainedSamples: number;
  /** Model weights in model.weights order. */
  weights: Float32Array[];
  /** Adam's state. */
  optimizer: OptimizerWeight[];
  /** Weights of the best epoch so far, when best-weight restore keeps them. */
  bestWeights?: Float32Array[];
  /** The moving average of the trainable weights and its update count, when `ema` is on. */
  average?: { updates: number; weights: Float32Array[] };
  /** Self-training: present when the student was training (absent: the teacher, or a run of one model). */
  student?: SelfTrainingCheckpoint;
}

export interface TrainResult {
  model: LayersModel;
  /** The kernels the model's recurrent layer runs on (tfjs for stock tfjs-layers). */
  kernels: Kernels;
  tokenizer: Tokenizer;
  options: TrainOptions;
  history: EpochLog[];
  counts: { train: number; validation: number; repeatsDropped: number };
  /** Share of training reviews longer than maxlen (and so truncated). */
  truncatedShare: number;
  seconds: { tokenize: number; train: number; total: number };
  /** Mean training samples per second over all epochs. */
  samplesPerSec: number;
  /** Epoch whose weights the model holds: the best by `options.monitor` (or the last, with restoreBest off). */
  weightsEpoch: number;
  /** The best epoch by `options.monitor`. */
  bestEpoch: number;
  /** True when early stopping ended training before `options.epochs`. */
  stoppedEarly: boolean;
  /** The last epoch's weights (model.weights order) when the model was set back to an earlier epoch. */
  lastWeights?: Float32Array[];
  /** Each class's weight in the training loss, when `options.classWeight` asked for them (`balanced`: as computed from the training split). */
  classWeights?: number[];
  /** The reviews' label set: class c of the model is `labels.names[c]` (binary: negative, positive). */
  labels: LabelSet;
  /** Set when `shouldStop` ended training early: save it to resume later. The model is as trained so far. */
  interrupted?: TrainCheckpoint;
  /** What ran each training step: the lesson model whole on rnn's oneDNN kernels, or tfjs's trainOnBatch. */
  step: 'onednn' | 'tfjs';
  /** Self-training (`options.unlabeled`): the teacher and its pseudo-labels; the model, history and counts are the student's (counts.train: labeled reviews). */
  selfTraining?: SelfTrainingRecord;
}
