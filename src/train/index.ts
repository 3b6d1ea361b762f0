/**
 * Training: seeded shuffle and Keras-style validation split, Keras Tokenizer fitted on the training
 * split, pad/truncate, the seed's model, adam + binary cross-entropy, a batch loop with progress.
 * Returns the trained model and everything metadata.json records; prints nothing.
 */
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import type { TF } from '../backend/index.js';
import type { Review } from '../data/index.js';
import { Tokenizer } from '../text/tokenizer.js';
import { padSequences, type PadSide } from '../text/pad.js';
import { buildModel, MODEL_DEFAULTS, type CellType, type RecurrentImpl } from '../models/index.js';
import { mulberry32, shuffleInPlace } from '../util/random.js';
import { lossAndAccuracy } from '../eval/metrics.js';
import { BestTracker, LrScheduler, type LrSchedule, type Monitor } from './control.js';

/** Everything `rnn train` can set. Defaults: {@link resolveTrainOptions}. */
export interface TrainOptions {
  /** Recurrent cell. */
  cell: CellType;
  /** Passes over the training split. */
  epochs: number;
  /** Reviews per gradient step. */
  batchSize: number;
  /** Adam learning rate. */
  lr: number;
  /** Fraction of the (shuffled) training reviews held out for validation, taken from the end like Keras. */
  validationSplit: number;
  /** Seed for initialization and shuffling. */
  seed: number;
  /** Use only the first N reviews after the seeded shuffle (undefined: all). */
  limit?: number;
  /** Tokenizer `num_words` and the Embedding input size. */
  vocabSize: number;
  /** Embedding output size. */
  embeddingDim: number;
  /** Length reviews are padded/truncated to. */
  maxlen: number;
  /** Recurrent units. */
  units: number;
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
  /** Learning rate per epoch (default constant). */
  lrSchedule: LrSchedule;
}

export function resolveTrainOptions(o: Partial<TrainOptions> & { cell: CellType }): TrainOptions {
  return {
    cell: o.cell,
    epochs: o.epochs ?? 3,
    batchSize: o.batchSize ?? 64,
    lr: o.lr ?? 1e-3,
    validationSplit: o.validationSplit ?? 0.2,
    seed: o.seed ?? Math.floor(Math.random() * 2 ** 31),
    limit: o.limit,
    vocabSize: o.vocabSize ?? MODEL_DEFAULTS.vocabSize,
    embeddingDim: o.embeddingDim ?? MODEL_DEFAULTS.embeddingDim,
    maxlen: o.maxlen ?? MODEL_DEFAULTS.maxlen,
    units: o.units ?? MODEL_DEFAULTS.units,
    padding: o.padding ?? 'pre',
    truncating: o.truncating ?? 'pre',
    oovToken: o.oovToken ?? null,
    layers: o.layers ?? MODEL_DEFAULTS.layers,
    monitor: o.monitor ?? ((o.validationSplit ?? 0.2) > 0 ? 'val_acc' : 'acc'),
    restoreBest: o.restoreBest ?? true,
    earlyStopping: o.earlyStopping,
    lrSchedule: o.lrSchedule ?? { kind: 'constant' },
  };
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

/** Callbacks of {@link train}. */
export interface TrainCallbacks {
  onStep?: (message: string) => void;
  onBatch?: (p: BatchProgress) => void;
  onEpoch?: (e: EpochLog) => void;
  /** Called once the model is built (for the summary). */
  onModel?: (model: LayersModel) => void;
}

export interface TrainResult {
  model: LayersModel;
  tokenizer: Tokenizer;
  options: TrainOptions;
  history: EpochLog[];
  counts: { train: number; validation: number };
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
}

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

/** Tokenizes and pads texts into a [n, maxlen] int32 buffer; also each text's length in words. */
export function encode(tokenizer: Tokenizer, texts: readonly string[], o: Pick<TrainOptions, 'maxlen' | 'padding' | 'truncating'>): { x: Int32Array; truncated: number; words: Int32Array } {
  let truncated = 0;
  const words = new Int32Array(texts.length);
  const seqs = texts.map((t, i) => {
    const s = tokenizer.textToSequenceWithStats(t);
    words[i] = s.words;
    if (s.ids.length > o.maxlen) truncated++;
    return s.ids;
  });
  return { x: padSequences(seqs, o), truncated, words };
}

export async function train(tf: TF, reviews: readonly Review[], options: TrainOptions, cb: TrainCallbacks = {}): Promise<TrainResult> {
  const o = options;
  const t0 = performance.now();
  const rand = mulberry32(o.seed);
  const all = [...reviews];
  shuffleInPlace(all, rand);
  const used = o.limit !== undefined ? all.slice(0, o.limit) : all;
  const splitAt = Math.floor(used.length * (1 - o.validationSplit));
  const trainSet = used.slice(0, splitAt);
  const valSet = used.slice(splitAt);

  cb.onStep?.(`tokenizing ${used.length} reviews (Keras Tokenizer, num_words=${o.vocabSize}, maxlen=${o.maxlen})`);
  const tokenizer = new Tokenizer({ numWords: o.vocabSize, oovToken: o.oovToken });
  // Like the Keras lesson: fit_on_texts on the training reviews, then fit(validation_split=…).
  tokenizer.fitOnTexts(used.map((r) => r.text));
  const xTrain = encode(tokenizer, trainSet.map((r) => r.text), o);
  const yTrain = Float32Array.from(trainSet, (r) => r.label);
  const xVal = encode(tokenizer, valSet.map((r) => r.text), o);
  const yVal = Float32Array.from(valSet, (r) => r.label);
  const tokenizeSeconds = seconds(t0);

  const model = buildModel(tf, { cell: o.cell, vocabSize: o.vocabSize, embeddingDim: o.embeddingDim, maxlen: o.maxlen, units: o.units, seed: o.seed, layers: o.layers });
  model.compile({ optimizer: tf.train.adam(o.lr), loss: 'binaryCrossentropy', metrics: ['accuracy'] });
  cb.onModel?.(model);

  const n = trainSet.length;
  const batches = Math.ceil(n / o.batchSize);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const history: EpochLog[] = [];
  const tTrain = performance.now();
  let trainOnlySeconds = 0;
  let trainedSamples = 0;
  const tracker = new BestTracker(o.monitor);
  const scheduler = new LrScheduler(o.lrSchedule, o.lr, o.epochs);
  const optimizer = model.optimizer as unknown as { learningRate: number };
  let bestWeights: Tensor[] | undefined;
  let stoppedEarly = false;
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const tEpoch = performance.now();
    const lr = scheduler.lrFor(epoch);
    optimizer.learningRate = lr;
    shuffleInPlace(order, rand);
    let lossSum = 0;
    let accSum = 0;
    let seen = 0;
    for (let b = 0; b < batches; b++) {
      const start = b * o.batchSize;
      const size = Math.min(o.batchSize, n - start);
      const xb = new Int32Array(size * o.maxlen);
      const yb = new Float32Array(size);
      for (let i = 0; i < size; i++) {
        const row = order[start + i]!;
        xb.set(xTrain.x.subarray(row * o.maxlen, (row + 1) * o.maxlen), i * o.maxlen);
        yb[i] = yTrain[row]!;
      }
      const xs = tf.tensor2d(xb, [size, o.maxlen], 'int32');
      const ys = tf.tensor2d(yb, [size, 1]);
      const [loss, acc] = (await model.trainOnBatch(xs, ys)) as number[];
      xs.dispose();
      ys.dispose();
      lossSum += loss! * size;
      accSum += acc! * size;
      seen += size;
      const elapsed = seconds(tEpoch);
      const sps = seen / elapsed;
      cb.onBatch?.({ epoch, epochs: o.epochs, batch: b + 1, batches, loss: lossSum / seen, acc: accSum / seen, samplesPerSec: sps, etaSeconds: (n - seen) / sps });
    }
    const trainSeconds = seconds(tEpoch);
    trainOnlySeconds += trainSeconds;
    trainedSamples += seen;
    const log: EpochLog = { epoch, loss: lossSum / seen, acc: accSum / seen, lr, best: false, seconds: 0, samplesPerSec: seen / trainSeconds };
    if (valSet.length > 0) {
      const v = evaluateArrays(tf, model, xVal.x, yVal, o.maxlen, Math.max(o.batchSize, 256));
      log.val_loss = v.loss;
      log.val_acc = v.acc;
    }
    const value = log[o.monitor];
    if (value === undefined) throw new Error(`monitor ${o.monitor} needs validation reviews`);
    log.best = tracker.update(epoch, value);
    scheduler.afterEpoch(log.best);
    if (log.best && o.restoreBest && epoch < o.epochs) {
      bestWeights?.forEach((w) => w.dispose());
      bestWeights = model.getWeights().map((w) => w.clone());
    }
    log.seconds = seconds(tEpoch);
    history.push(log);
    cb.onEpoch?.(log);
    if (o.earlyStopping !== undefined && tracker.wait >= o.earlyStopping && epoch < o.epochs) {
      stoppedEarly = true;
      break;
    }
  }
  const lastEpoch = history.length;
  let weightsEpoch = lastEpoch;
  let lastWeights: Float32Array[] | undefined;
  if (o.restoreBest && tracker.bestEpoch !== lastEpoch && bestWeights) {
    lastWeights = model.getWeights().map((w) => (w.dataSync() as Float32Array).slice());
    model.setWeights(bestWeights);
    weightsEpoch = tracker.bestEpoch;
  }
  bestWeights?.forEach((w) => w.dispose());
  return {
    model,
    tokenizer,
    options: o,
    history,
    counts: { train: trainSet.length, validation: valSet.length },
    truncatedShare: n > 0 ? xTrain.truncated / n : 0,
    seconds: { tokenize: tokenizeSeconds, train: seconds(tTrain), total: seconds(t0) },
    samplesPerSec: trainOnlySeconds > 0 ? trainedSamples / trainOnlySeconds : 0,
    weightsEpoch,
    bestEpoch: tracker.bestEpoch,
    stoppedEarly,
    lastWeights,
  };
}

/** Probabilities for a [n, maxlen] id buffer, predicted in batches (tensors disposed). */
export function predictArrays(tf: TF, model: LayersModel, x: Int32Array, maxlen: number, batchSize: number, onBatch?: (done: number, total: number) => void): Float32Array {
  const n = x.length / maxlen;
  const out = new Float32Array(n);
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const probs = tf.tidy(() => {
      const xs = tf.tensor2d(x.subarray(start * maxlen, (start + size) * maxlen), [size, maxlen], 'int32');
      return (model.predict(xs) as Tensor).dataSync() as Float32Array;
    });
    out.set(probs, start);
    onBatch?.(start + size, n);
  }
  return out;
}


function evaluateArrays(tf: TF, model: LayersModel, x: Int32Array, y: Float32Array, maxlen: number, batchSize: number): { loss: number; acc: number } {
  return lossAndAccuracy(predictArrays(tf, model, x, maxlen, batchSize), y);
}
