/**
 * What a pretraining run (src/train/pretrain.ts) can be told, with its defaults in one place
 * ({@link PRETRAIN_DEFAULTS}, read by the option resolver and `rnn pretrain`'s help), and what it reports and returns.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import type { CellType } from '../cells.js';
import type { Kernels } from '../kernels/index.js';
import type { RecurrentImpl } from '../models/index.js';
import type { Tokenizer } from '../text/tokenizer.js';
import type { LrSchedule } from './control.js';
import { TRAIN_DEFAULTS } from './options.js';
import type { TrainCheckpoint } from './types.js';

/** Everything `rnn pretrain` can set. Defaults: {@link PRETRAIN_DEFAULTS}. */
export interface PretrainOptions {
  cell: CellType;
  /** Tokenizer `num_words`, the Embedding's input size and the output layer's size. */
  vocabSize: number;
  embeddingDim: number;
  units: number;
  oovToken: string | null;
  layers: RecurrentImpl;
  epochs: number;
  /** Windows per step. */
  batchSize: number;
  /** Steps of a window (truncated back-propagation through time). */
  bptt: number;
  /** How texts become windows (src/train/pretrain.ts {@link Windows}): `rows` as the classifier reads them, or one `stream`. */
  layout: 'rows' | 'stream';
  lr: number;
  lrSchedule: LrSchedule;
  /** Global-norm clip (null: none). */
  clipNorm: number | null;
  /** `sampled`: sampled softmax with `samples` candidates; `full`: the softmax over the whole vocabulary (for comparison). */
  softmax: 'sampled' | 'full';
  samples: number;
  /** Probability of replacing an input id by 0 (the targets are kept). */
  wordDropout: number;
  /** Share of the (shuffled) texts held out for the perplexity. */
  validationSplit: number;
  seed: number;
  /** Use only the first N texts after the seeded shuffle. */
  limit?: number;
}

/**
 * The defaults: the shapes are `rnn train`'s own ({@link TRAIN_DEFAULTS}: vocabulary, embedding size, units,
 * oov token, layers), so a language model pretrained with the defaults initializes a classifier trained with
 * the defaults, and its rows are the classifier's (`rows` of `maxlen` steps). The layout, the batch and the
 * epochs were chosen by the validation accuracy of classifiers fine-tuned from it on 1,000 labeled reviews; the
 * rest on held-out perplexity and cost (docs/pretraining.md, docs/experiments.md#pretraining).
 */
export const PRETRAIN_DEFAULTS = Object.freeze({
  vocabSize: TRAIN_DEFAULTS.vocabSize,
  embeddingDim: TRAIN_DEFAULTS.embeddingDim,
  units: TRAIN_DEFAULTS.units,
  oovToken: TRAIN_DEFAULTS.oovToken,
  layers: TRAIN_DEFAULTS.layers,
  epochs: 20,
  batchSize: 32,
  bptt: TRAIN_DEFAULTS.maxlen,
  layout: 'rows',
  lr: 2e-3,
  lrSchedule: Object.freeze({ kind: 'cosine', minLr: 0 }),
  clipNorm: TRAIN_DEFAULTS.clipNorm,
  softmax: 'sampled',
  samples: 512,
  wordDropout: 0.1,
  validationSplit: 0.02,
} as const satisfies Omit<PretrainOptions, 'cell' | 'seed' | 'limit'>);

/** Every option, defaults filled in (`clipNorm: null` turns the clip off). */
export function resolvePretrainOptions(o: Partial<PretrainOptions> & { cell: CellType }): PretrainOptions {
  const d = PRETRAIN_DEFAULTS;
  return {
    cell: o.cell,
    vocabSize: o.vocabSize ?? d.vocabSize,
    embeddingDim: o.embeddingDim ?? d.embeddingDim,
    units: o.units ?? d.units,
    oovToken: o.oovToken ?? d.oovToken,
    layers: o.layers ?? d.layers,
    epochs: o.epochs ?? d.epochs,
    batchSize: o.batchSize ?? d.batchSize,
    bptt: o.bptt ?? d.bptt,
    layout: o.layout ?? d.layout,
    lr: o.lr ?? d.lr,
    lrSchedule: o.lrSchedule ?? { ...d.lrSchedule },
    clipNorm: o.clipNorm === undefined ? d.clipNorm : o.clipNorm,
    softmax: o.softmax ?? d.softmax,
    samples: Math.min(o.samples ?? d.samples, o.vocabSize ?? d.vocabSize),
    wordDropout: o.wordDropout ?? d.wordDropout,
    validationSplit: o.validationSplit ?? d.validationSplit,
    seed: o.seed ?? Math.floor(Math.random() * 2 ** 31),
    ...(o.limit !== undefined && { limit: o.limit }),
  };
}

/** One epoch of pretraining. */
export interface LmEpochLog {
  epoch: number;
  /** Mean training loss per predicted word (sampled softmax: over the true word and the candidates). */
  loss: number;
  /** Held-out cross-entropy per word (full softmax, nats) and its perplexity, exp(val_loss). */
  val_loss?: number;
  val_perplexity?: number;
  /** Share of held-out words the model ranks first. */
  val_acc?: number;
  lr: number;
  best: boolean;
  seconds: number;
  tokensPerSec: number;
}

export interface LmBatchProgress {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  loss: number;
  tokensPerSec: number;
  etaSeconds: number;
}

export interface PretrainCallbacks {
  onStep?: (message: string) => void;
  onModel?: (model: LayersModel) => void;
  onBatch?: (p: LmBatchProgress) => void;
  onEpoch?: (e: LmEpochLog) => void;
  /** Asked before every batch: true ends training there with {@link PretrainResult.interrupted}. */
  shouldStop?: () => boolean;
}

export type PretrainCheckpoint = TrainCheckpoint<LmEpochLog>;

export interface PretrainResult {
  model: LayersModel;
  kernels: Kernels;
  tokenizer: Tokenizer;
  options: PretrainOptions;
  history: LmEpochLog[];
  counts: { trainTexts: number; heldOutTexts: number; trainTokens: number; heldOutTokens: number; windows: number };
  /** Held-out perplexity of the unigram model of the training tokens (add-one smoothed): the bar to beat. */
  unigramPerplexity: number;
  /** The fingerprints of the texts used (src/data/texts.ts): what `rnn eval`'s leak guard compares test reviews with. */
  fingerprints: BigUint64Array;
  seconds: { tokenize: number; train: number; total: number };
  tokensPerSec: number;
  weightsEpoch: number;
  bestEpoch: number;
  interrupted?: PretrainCheckpoint;
}
