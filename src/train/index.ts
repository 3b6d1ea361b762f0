/**
 * Training: seeded shuffle and Keras-style validation split, Keras Tokenizer fitted on the training
 * split, pad/truncate, the seed's model, adam + binary cross-entropy, a batch loop with progress.
 * Returns the trained model and everything metadata.json records; prints nothing.
 */
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import type { TF } from '../backend/index.js';
import type { Review } from '../data/index.js';
import { Tokenizer } from '../text/tokenizer.js';
import { padInto, resolvePadOptions, type PadSide } from '../text/pad.js';
import { buildModel, setTrainableWeights, MODEL_DEFAULTS, type CellType, type RecurrentImpl } from '../models/index.js';
import { mulberry32, shuffleInPlace } from '../util/random.js';
import { lossAndAccuracy } from '../eval/metrics.js';
import { BestTracker, LrScheduler, LR_SCHEDULE_DEFAULTS, type LrSchedule, type Monitor } from './control.js';
import { NativePredictor, NativeStep, nativeStepCell } from './native-step.js';
import { WeightAverage } from './ema.js';
import { clippedAdam } from './clip.js';
import { dropWords } from './augment.js';
import { fusable, onednnAddonOf } from '../models/fused.js';

type NamedTensor = { name: string; tensor: Tensor };

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
  /** Learning rate per epoch (default cosine decay over the epochs; constant is Keras's `fit`). */
  lrSchedule: LrSchedule;
  /** Momentum of the moving average of the weights that is validated and saved ({@link WeightAverage}; null: the trained weights themselves). */
  ema: number | null;
  /** Probability of dropping each word of a training review, drawn anew every epoch ({@link dropWords}; 0: off). */
  wordDropout: number;
  /** Largest joint L2 norm of a step's gradients, Keras's `global_clipnorm` ({@link clippedAdam}; null: no clipping). */
  clipNorm: number | null;
}

/** The weight average's momentum when `rnn train` is given no `--ema`. */
export const EMA_DEFAULT = 0.995;

/** The word dropout of `rnn train` when given no `--word-dropout`. */
export const WORD_DROPOUT_DEFAULT = 0.4;

/** The global-norm gradient clip of `rnn train` when given no `--clip-norm`. */
export const CLIP_NORM_DEFAULT = 1;

/** The share of training reviews `rnn train` holds out for validation when given no `--validation-split` (the Keras lesson holds out 0.2). */
export const VALIDATION_SPLIT_DEFAULT = 0.1;

export function resolveTrainOptions(o: Partial<TrainOptions> & { cell: CellType }): TrainOptions {
  const validationSplit = o.validationSplit ?? VALIDATION_SPLIT_DEFAULT;
  return {
    cell: o.cell,
    epochs: o.epochs ?? 3,
    batchSize: o.batchSize ?? 32,
    lr: o.lr ?? 1e-3,
    validationSplit,
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
    monitor: o.monitor ?? (validationSplit > 0 ? 'val_acc' : 'acc'),
    restoreBest: o.restoreBest ?? true,
    earlyStopping: o.earlyStopping,
    lrSchedule: o.lrSchedule ?? { kind: 'cosine', ...LR_SCHEDULE_DEFAULTS.cosine },
    ema: o.ema === undefined ? EMA_DEFAULT : o.ema,
    wordDropout: o.wordDropout ?? WORD_DROPOUT_DEFAULT,
    clipNorm: o.clipNorm === undefined ? CLIP_NORM_DEFAULT : o.clipNorm,
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
  /** Asked before every batch: true ends training there with {@link TrainResult.interrupted} (e.g. on Ctrl-C). */
  shouldStop?: () => boolean;
}

/** Everything needed to continue an interrupted training run exactly (see {@link train}'s `resume`). */
export interface TrainCheckpoint {
  /** Epoch in progress (1-based) and the batches of it already trained. */
  epoch: number;
  batch: number;
  /** This epoch's order of the training reviews, and the random-number state after shuffling it. */
  order: number[];
  rngState: number;
  /** Running sums of the epoch so far (loss and accuracy weighted by batch size). */
  sums: { loss: number; acc: number; seen: number };
  epochTrainSeconds: number;
  history: EpochLog[];
  tracker: { best: number | null; bestEpoch: number; wait: number };
  scheduler: { current: number; wait: number };
  trainOnlySeconds: number;
  trainedSamples: number;
  /** Model weights in model.weights order. */
  weights: Float32Array[];
  /** Adam's state (`optimizer.getWeights()`: iterations, first and second moments). */
  optimizer: { name: string; shape: number[]; dtype: 'float32' | 'int32'; data: Float32Array | Int32Array }[];
  /** Weights of the best epoch so far, when best-weight restore keeps them. */
  bestWeights?: Float32Array[];
  /** The moving average of the trainable weights and its update count, when `ema` is on. */
  average?: { updates: number; weights: Float32Array[] };
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
  /** Set when `shouldStop` ended training early: save it to resume later. The model is as trained so far. */
  interrupted?: TrainCheckpoint;
  /** What ran each training step: rnn's oneDNN addon end to end ({@link NativeStep}) or tfjs's trainOnBatch. */
  step: 'onednn' | 'tfjs';
}

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

/**
 * Tokenizes and pads texts into a [n, maxlen] int32 buffer, one text at a time (no list of all sequences
 * is kept, so memory is the buffer); also each text's length in words.
 */
export function encode(tokenizer: Tokenizer, texts: readonly string[], o: Pick<TrainOptions, 'maxlen' | 'padding' | 'truncating'>): { x: Int32Array; truncated: number; words: Int32Array } {
  let truncated = 0;
  const words = new Int32Array(texts.length);
  const pad = resolvePadOptions(o);
  const x = new Int32Array(texts.length * o.maxlen).fill(pad.value);
  texts.forEach((t, i) => {
    const s = tokenizer.textToSequenceWithStats(t);
    words[i] = s.words;
    if (s.ids.length > o.maxlen) truncated++;
    padInto(x, i, s.ids, pad);
  });
  return { x, truncated, words };
}

/**
 * Trains the seed model. With `resume` (from a {@link TrainResult.interrupted} saved by a previous run on the
 * same reviews and options) it continues exactly where that run stopped: same split, weights, optimizer
 * state, batch order and random-number state.
 */
export async function train(tf: TF, reviews: readonly Review[], options: TrainOptions, cb: TrainCallbacks = {}, resume?: TrainCheckpoint): Promise<TrainResult> {
  const o = options;
  const t0 = performance.now();
  let rand = mulberry32(o.seed);
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
  // A checkpoint from before --clip-norm has no clipNorm: it resumes unclipped, as it was trained.
  model.compile({ optimizer: clippedAdam(tf, o.lr, typeof o.clipNorm === 'number' ? o.clipNorm : null), loss: 'binaryCrossentropy', metrics: ['accuracy'] });
  cb.onModel?.(model);

  const n = trainSet.length;
  const batches = Math.ceil(n / o.batchSize);
  const tracker = new BestTracker(o.monitor);
  const scheduler = new LrScheduler(o.lrSchedule, o.lr, o.epochs);
  const optimizer = model.optimizer as unknown as { learningRate: number; getWeights(): Promise<NamedTensor[]>; setWeights(w: NamedTensor[]): Promise<void> };
  let order = Int32Array.from({ length: n }, (_, i) => i);
  let history: EpochLog[] = [];
  let trainOnlySeconds = 0;
  let trainedSamples = 0;
  let bestWeights: Tensor[] | undefined;
  let startEpoch = 1;
  let startBatch = 0;
  let sums = { loss: 0, acc: 0, seen: 0 };
  let priorEpochSeconds = 0;
  if (resume) {
    if (resume.order.length !== n) throw new Error(`checkpoint has ${resume.order.length} training reviews, the data gives ${n}`);
    const saved = resume.weights.map((w, i) => tf.tensor(w, model.weights[i]!.shape as number[]));
    model.setWeights(saved);
    saved.forEach((t) => t.dispose());
    const named = resume.optimizer.map((w) => ({ name: w.name, tensor: tf.tensor(w.data, w.shape, w.dtype) }));
    await optimizer.setWeights(named);
    named.forEach((w) => w.tensor.dispose());
    bestWeights = resume.bestWeights?.map((w, i) => tf.tensor(w, model.weights[i]!.shape as number[]));
    tracker.restore(resume.tracker);
    scheduler.restore(resume.scheduler);
    history = [...resume.history];
    rand = mulberry32(resume.rngState);
    order = Int32Array.from(resume.order);
    startEpoch = resume.epoch;
    startBatch = resume.batch;
    sums = { ...resume.sums };
    priorEpochSeconds = resume.epochTrainSeconds;
    trainOnlySeconds = resume.trainOnlySeconds;
    trainedSamples = resume.trainedSamples;
  }
  // The whole step in the oneDNN addon when the fused layer runs on it and the model is the seed's.
  const addon = onednnAddonOf(model);
  const nativeCell = addon ? nativeStepCell(model, fusable) : undefined;
  const native = addon && nativeCell ? await NativeStep.create(addon, nativeCell, o.maxlen, model) : undefined;
  const trainedWeights = (): Float32Array[] => native?.parameters() ?? model.trainableWeights.map((w) => w.read().dataSync() as Float32Array);
  /** The moving average of the trainable weights (model.trainableWeights order), when `ema` is on; the addon's pass is the JS one's bits, 0.15 ms instead of 1.8 for the seed LSTM's 1.1M weights (2 cores). */
  const average =
    typeof o.ema === 'number'
      ? WeightAverage.of(o.ema, resume?.average?.weights ?? trainedWeights(), resume?.average?.updates ?? 0, addon ? (a, w, d) => addon.movingAverage(a, w, d) : undefined)
      : undefined;
  /** The state after `batch` batches of `epoch`, as plain arrays (nothing to dispose). */
  const checkpoint = async (epoch: number, batch: number): Promise<TrainCheckpoint> => {
    if (native) {
      native.syncWeights(tf, model);
      await native.syncOptimizer(tf, model);
    }
    return snapshot(epoch, batch);
  };
  const snapshot = async (epoch: number, batch: number): Promise<TrainCheckpoint> => ({
    epoch,
    batch,
    order: [...order],
    rngState: rand.state(),
    sums: { ...sums },
    epochTrainSeconds: priorEpochSeconds,
    history: [...history],
    tracker: tracker.snapshot(),
    scheduler: scheduler.snapshot(),
    trainOnlySeconds,
    trainedSamples,
    weights: model.getWeights().map((w) => (w.dataSync() as Float32Array).slice()),
    optimizer: await Promise.all(
      (await optimizer.getWeights()).map(async (w) => {
        const data = (await w.tensor.data()).slice() as Float32Array | Int32Array;
        if (w.name === 'iter') w.tensor.dispose(); // a fresh scalar; the moments are the optimizer's own variables
        return { name: w.name, shape: w.tensor.shape, dtype: w.tensor.dtype as 'float32' | 'int32', data };
      }),
    ),
    bestWeights: bestWeights?.map((w) => (w.dataSync() as Float32Array).slice()),
    average: average && { updates: average.updates, weights: average.values.map((w) => w.slice()) },
  });
  const tTrain = performance.now();
  let stoppedEarly = false;
  let interrupted: TrainCheckpoint | undefined;
  for (let epoch = startEpoch; epoch <= o.epochs && !interrupted; epoch++) {
    const tEpoch = performance.now();
    const lr = scheduler.lrFor(epoch);
    optimizer.learningRate = lr;
    if (native) native.learningRate = lr;
    const resumed = resume !== undefined && epoch === startEpoch;
    if (!resumed) {
      shuffleInPlace(order, rand);
      sums = { loss: 0, acc: 0, seen: 0 };
      priorEpochSeconds = 0;
    }
    const epochSeconds = (): number => priorEpochSeconds + seconds(tEpoch);
    for (let b = resumed ? startBatch : 0; b < batches; b++) {
      // Let pending events (a Ctrl-C, timers) run between batches: trainOnBatch alone never yields to them.
      if (cb.shouldStop) await new Promise((r) => setImmediate(r));
      if (cb.shouldStop?.()) {
        priorEpochSeconds = epochSeconds();
        interrupted = await checkpoint(epoch, b);
        break;
      }
      const start = b * o.batchSize;
      const size = Math.min(o.batchSize, n - start);
      const xb = new Int32Array(size * o.maxlen);
      const yb = new Float32Array(size);
      for (let i = 0; i < size; i++) {
        const row = order[start + i]!;
        xb.set(xTrain.x.subarray(row * o.maxlen, (row + 1) * o.maxlen), i * o.maxlen);
        yb[i] = yTrain[row]!;
      }
      // Checkpoints keep rand's state, so a resumed run drops the same words.
      dropWords(xb, o.maxlen, o.wordDropout ?? 0, rand, o.padding);
      let loss: number;
      let acc: number;
      if (native) {
        ({ loss, acc } = native.step(xb, yb));
      } else {
        const xs = tf.tensor2d(xb, [size, o.maxlen], 'int32');
        const ys = tf.tensor2d(yb, [size, 1]);
        [loss, acc] = (await model.trainOnBatch(xs, ys)) as [number, number];
        xs.dispose();
        ys.dispose();
      }
      average?.update(trainedWeights());
      sums.loss += loss * size;
      sums.acc += acc * size;
      sums.seen += size;
      const sps = sums.seen / epochSeconds();
      cb.onBatch?.({ epoch, epochs: o.epochs, batch: b + 1, batches, loss: sums.loss / sums.seen, acc: sums.acc / sums.seen, samplesPerSec: sps, etaSeconds: (n - sums.seen) / sps });
    }
    if (interrupted) break;
    native?.syncWeights(tf, model);
    // Validation, the best epoch's weights and the saved model are the average's; training goes on from the trained weights.
    const trained = average && !native ? model.trainableWeights.map((w) => w.read().clone()) : undefined;
    if (average) setTrainableWeights(tf, model, average.values);
    const trainSeconds = epochSeconds();
    trainOnlySeconds += trainSeconds;
    trainedSamples += sums.seen;
    const log: EpochLog = { epoch, loss: sums.loss / sums.seen, acc: sums.acc / sums.seen, lr, best: false, seconds: 0, samplesPerSec: sums.seen / trainSeconds };
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
    if (trained) {
      setTrainableWeights(tf, model, trained);
      tf.dispose(trained);
    }
    log.seconds = epochSeconds();
    history.push(log);
    cb.onEpoch?.(log);
    if (o.earlyStopping !== undefined && tracker.wait >= o.earlyStopping && epoch < o.epochs) {
      stoppedEarly = true;
      break;
    }
  }
  if (interrupted) {
    bestWeights?.forEach((w) => w.dispose());
    return {
      model, tokenizer, options: o, history, counts: { train: trainSet.length, validation: valSet.length },
      truncatedShare: n > 0 ? xTrain.truncated / n : 0,
      seconds: { tokenize: tokenizeSeconds, train: seconds(tTrain), total: seconds(t0) },
      samplesPerSec: trainOnlySeconds > 0 ? trainedSamples / trainOnlySeconds : 0,
      weightsEpoch: history.length, bestEpoch: tracker.bestEpoch, stoppedEarly: false, interrupted, step: native ? 'onednn' : 'tfjs',
    };
  }
  if (average) setTrainableWeights(tf, model, average.values);
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
    step: native ? 'onednn' : 'tfjs',
  };
}

/**
 * Probabilities for a [n, maxlen] id buffer, predicted in batches (tensors disposed). The seed model runs
 * whole in the oneDNN addon when its recurrent layer was fused onto it ({@link NativePredictor}), else
 * through tfjs.
 */
export function predictArrays(tf: TF, model: LayersModel, x: Int32Array, maxlen: number, batchSize: number, onBatch?: (done: number, total: number) => void): Float32Array {
  const n = x.length / maxlen;
  const out = new Float32Array(n);
  const addon = onednnAddonOf(model);
  const native = addon ? NativePredictor.for(addon, model, fusable) : undefined;
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const ids = x.subarray(start * maxlen, (start + size) * maxlen);
    const probs = native
      ? native.predict(ids)
      : tf.tidy(() => {
          const xs = tf.tensor2d(ids, [size, maxlen], 'int32');
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
