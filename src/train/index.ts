/**
 * Training: a seeded shuffle and Keras-style validation split, Keras's Tokenizer fitted on the reviews used,
 * pad/truncate, the lesson model compiled with Adam (clipped) and binary cross-entropy (for k ≥ 3 classes:
 * Dense(k, softmax) and sparse categorical cross-entropy, optionally class-weighted), then the epoch loop.
 * The loop owns epochs, batches, word dropout, the weight average, validation, the best epoch, the schedule,
 * early stopping, interruption and resumption; one batch's step is a {@link Stepper}'s. Returns the trained
 * model and everything metadata.json records; prints nothing.
 */
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import type { Runtime, TF } from '../backend/index.js';
import { UserError } from '../errors.js';
import { BINARY_LABELS, type LabelSet, type Review } from '../data/index.js';
import { dropRepeats } from '../data/duplicates.js';
import { splitValidation } from '../data/split.js';
import { Tokenizer } from '../text/tokenizer.js';
import { BINARY_CLASSES, buildModel, kernelsFor, setTrainableWeights } from '../models/index.js';
import { createPredictor, encode, predictArrays, PREDICT_BATCH_SIZE } from '../predict/index.js';
import { predictorSequences } from '../predict/onednn.js';
import { lossAndAccuracy } from '../eval/metrics.js';
import { sparseLossAndAccuracy } from './loss.js';
import { balancedClassWeights, labelCounts } from '../data/labels.js';
import { mulberry32, shuffleInPlace, type Rng } from '../util/random.js';
import type { Kernels, SequenceCache } from '../kernels/index.js';
import { BestTracker, LrScheduler } from './control.js';
import { WeightAverage } from './ema.js';
import { clippedAdam } from './clip.js';
import { dropWords } from './augment.js';
import { lossFor, OnednnStep, onednnTrainable } from './onednn-step.js';
import { TfjsStep } from './tfjs-step.js';
import type { Stepper } from './stepper.js';
import { layerRates, SELF_TRAIN_DEFAULTS, trainClasses, type TrainOptions } from './options.js';
import type { EpochLog, InitFrom, OptimizerWeight, SelfTrainingCheckpoint, TrainCallbacks, TrainCheckpoint, TrainResult } from './types.js';
import { optimizerState, restoreOptimizer } from './optimizer-state.js';
import { pickPseudoLabels, unlabeledPool, type PseudoLabels } from './self-train.js';

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

/** The reviews as the model sees them: the split, the fitted tokenizer, and both splits encoded. */
interface PreparedData {
  tokenizer: Tokenizer;
  /** Reviews `--dedupe` dropped (0 without it). */
  repeatsDropped: number;
  train: { x: Int32Array; y: Float32Array; truncated: number };
  validation: { x: Int32Array; y: Float32Array };
  /** The texts of the reviews used (training and validation): self-training's pool leaves them out. */
  usedTexts: string[];
}

/**
 * Shuffles with `rand` (the run's generator), keeps the first `limit` reviews, holds out the last
 * `validationSplit` of them like Keras's `validation_split` (stratified by label with three or more labels:
 * src/data/split.ts), fits the tokenizer on all the reviews used (the Keras lesson's `fit_on_texts` before
 * `fit(validation_split=…)`) and encodes both splits.
 */
function prepareData(
  reviews: readonly Review[],
  o: TrainOptions,
  rand: Rng,
  cb: TrainCallbacks,
  labels: LabelSet,
  fitted?: Tokenizer,
): PreparedData {
  const all = o.dedupe ? dropRepeats(reviews) : [...reviews];
  shuffleInPlace(all, rand);
  const used = o.limit !== undefined ? all.slice(0, o.limit) : all;
  const { train: trainSet, validation: valSet } = splitValidation(
    used,
    o.validationSplit,
    labels,
    `the ${used.length} training reviews${o.limit !== undefined ? ' (--limit)' : ''}`,
  );
  cb.onStep?.(
    `tokenizing ${used.length} reviews (Keras Tokenizer, num_words=${o.vocabSize}, maxlen=${o.maxlen}${fitted ? ", the language model's vocabulary" : ''})`,
  );
  // With --init the language model's tokenizer: its ids are the rows of the embedding the classifier takes.
  const tokenizer = fitted ?? new Tokenizer({ numWords: o.vocabSize, oovToken: o.oovToken }).fitOnTexts(used.map((r) => r.text));
  const encoded = (set: Review[]) =>
    encode(
      tokenizer,
      set.map((r) => r.text),
      o,
    );
  const xTrain = encoded(trainSet);
  return {
    tokenizer,
    repeatsDropped: reviews.length - all.length,
    train: { x: xTrain.x, y: Float32Array.from(trainSet, (r) => r.label), truncated: xTrain.truncated },
    validation: { x: encoded(valSet).x, y: Float32Array.from(valSet, (r) => r.label) },
    usedTexts: used.map((r) => r.text),
  };
}

/**
 * The lesson model for `o`, on the run's kernels, compiled with Adam (clipped by `o.clipNorm`) and binary
 * cross-entropy; for k ≥ 3 classes Dense(k, softmax) and sparse categorical cross-entropy.
 */
function compileModel(run: Runtime, o: TrainOptions): LayersModel {
  const model = buildModel(
    run.tf,
    {
      cell: o.cell,
      vocabSize: o.vocabSize,
      embeddingDim: o.embeddingDim,
      maxlen: o.maxlen,
      units: o.units,
      bidirectional: o.bidirectional,
      pooling: o.pooling,
      seed: o.seed,
      layers: o.layers,
      classes: trainClasses(o),
    },
    run.kernels,
  );
  model.compile({ optimizer: clippedAdam(run.tf, o.lr, o.clipNorm), loss: lossFor(trainClasses(o)), metrics: ['accuracy'] });
  return model;
}

/**
 * The oneDNN step when the model's kernels are oneDNN and it is the lesson model compiled for it, else the
 * tfjs step; both weigh each review's loss by `classWeights` when given.
 */
async function createStepper(tf: TF, kernels: Kernels, model: LayersModel, o: TrainOptions, classWeights?: number[]): Promise<Stepper> {
  if (kernels.name === 'onednn' && onednnTrainable(model, o.cell))
    return OnednnStep.create(tf, kernels.addon, o.cell, o.maxlen, model, classWeights);
  if ((o.initLrScale ?? 1) !== 1 || o.gradualUnfreezing) {
    const flag = o.gradualUnfreezing ? '--gradual-unfreezing' : '--init-lr-scale';
    throw new UserError(
      'OPTION_NOT_APPLICABLE',
      `${flag} needs the whole training step on rnn's oneDNN kernels (the lesson model, fused layers, the oneDNN addon)`,
      `Leave ${flag} out, or run with the oneDNN kernels (\`rnn doctor\` says why they are missing)`,
    );
  }
  return new TfjsStep(tf, model, o.maxlen, classWeights);
}

function initMismatch(init: Pick<InitFrom, 'dir'>, why: string): UserError {
  return new UserError(
    'INIT_MISMATCH',
    `the language model ${init.dir} does not fit this classifier: ${why}`,
    "Train with the language model's shapes (leave --cell, --units, --embedding-dim, --vocab-size and --oov-token at its values), or pretrain one with these",
  );
}

/**
 * Checks the options a language model was pretrained with fit the classifier `o` builds: same cell, units,
 * embedding size, vocabulary and oov token, one direction (metadata.json alone: before anything is loaded).
 */
export function checkInitOptions(o: TrainOptions, init: Pick<InitFrom, 'dir' | 'options'>): void {
  const lm = init.options;
  for (const k of ['cell', 'units', 'embeddingDim', 'vocabSize', 'oovToken'] as const) {
    if (lm[k] !== o[k]) throw initMismatch(init, `its ${k} is ${String(lm[k])}, the classifier's ${String(o[k])}`);
  }
  if (o.bidirectional) throw initMismatch(init, 'it reads one direction, and --bidirectional asks for two');
}

/** Checks a language model fits the classifier `o` builds: its options ({@link checkInitOptions}) and its tokenizer. */
export function checkInitFits(o: TrainOptions, init: InitFrom): void {
  checkInitOptions(o, init);
  if (init.tokenizer.options.numWords !== o.vocabSize)
    throw initMismatch(
      init,
      `its tokenizer keeps ${init.tokenizer.options.numWords ?? 'all'} words, the classifier's embedding takes ${o.vocabSize}`,
    );
}

/** Sets the classifier's embedding and recurrent layer to the language model's (exact copies). */
function initFrom(model: LayersModel, init: InitFrom): void {
  const body = (m: LayersModel) => m.layers.filter((l) => l.getClassName() !== 'InputLayer').slice(0, 2);
  const [emb, rec] = body(model);
  const [lmEmb, lmRec] = body(init.model);
  emb!.setWeights(lmEmb!.getWeights());
  rec!.setWeights(lmRec!.getWeights());
}

/**
 * Checks the training labels are class indices of `o`'s classes, and returns the class weights of
 * `o.classWeight` (`balanced`: from the training split's labels), or undefined without them.
 */
function classWeightsOf(o: TrainOptions, data: PreparedData): number[] | undefined {
  const classes = trainClasses(o);
  for (const y of [data.train.y, data.validation.y])
    for (const label of y)
      if (!(label >= 0 && label < classes && Number.isInteger(label)))
        throw new Error(`label ${label} is not a class index of ${classes} classes`);
  if (o.classWeight === undefined) return undefined;
  if (o.classWeight === 'balanced')
    return balancedClassWeights(
      labelCounts(
        Array.from(data.train.y, (label) => ({ label })),
        classes,
      ),
    );
  if (o.classWeight.length !== classes) throw new Error(`${o.classWeight.length} class weights were given for ${classes} classes`);
  return [...o.classWeight];
}

/** Where the loop is: everything a checkpoint saves besides the weights. */
interface LoopState {
  /** The run's generator: shuffles every epoch's order and drops words. */
  rand: Rng;
  /** This epoch's order of the training reviews. */
  order: Int32Array;
  history: EpochLog[];
  tracker: BestTracker;
  scheduler: LrScheduler;
  /** Running sums of the epoch in progress (loss and accuracy weighted by batch size). */
  sums: { loss: number; acc: number; seen: number };
  /** Training seconds of the epoch in progress before a resume. */
  priorEpochSeconds: number;
  trainOnlySeconds: number;
  trainedSamples: number;
  /** Weights of the best epoch so far (model.weights order), when best-weight restore keeps them. */
  bestWeights?: Tensor[];
  /** The epoch to start with, the batch to start it at, and whether it continues a checkpoint's epoch. */
  start: { epoch: number; batch: number; resumed: boolean };
}

function freshState(o: TrainOptions, rand: Rng, n: number): LoopState {
  return {
    rand,
    order: Int32Array.from({ length: n }, (_, i) => i),
    history: [],
    tracker: new BestTracker(o.monitor),
    scheduler: new LrScheduler(o.lrSchedule, o.lr, o.epochs),
    sums: { loss: 0, acc: 0, seen: 0 },
    priorEpochSeconds: 0,
    trainOnlySeconds: 0,
    trainedSamples: 0,
    start: { epoch: 1, batch: 0, resumed: false },
  };
}

function checkpointUnfit(why: string): UserError {
  return new UserError(
    'CHECKPOINT_INVALID',
    `the checkpoint does not fit the model its options build: ${why}`,
    'Pass --resume the .checkpoint directory an interrupted `rnn train` named, or start again without --resume',
  );
}

/**
 * A checkpoint fits the model its options build (`sizes`: values of each model weight) and the `n` training
 * reviews: its order names only those reviews, its weights (and best weights) are the model's in number and
 * size. An edited checkpoint (another vocabulary size, more units) is refused here instead of failing inside
 * tfjs ("the tensor should have 3192 values but has 3200", a fuzz finding reported as a bug).
 */
export function checkCheckpointFits(sizes: number[], ckpt: Pick<TrainCheckpoint, 'order' | 'weights' | 'bestWeights'>, n: number): void {
  if (!ckpt.order.every((i) => Number.isInteger(i) && i >= 0 && i < n))
    throw checkpointUnfit(`its order of the training reviews names one that is not among the ${n}`);
  for (const [what, ws] of [
    ['weights', ckpt.weights],
    ['best weights', ckpt.bestWeights],
  ] as const) {
    if (ws && (ws.length !== sizes.length || ws.some((w, i) => w.length !== sizes[i])))
      throw checkpointUnfit(
        `its ${what} have ${ws.length} arrays of ${ws.map((w) => w.length).join(', ')} values, the model's ${sizes.join(', ')}`,
      );
  }
}

/** Puts a checkpoint's weights and Adam's state into the model, and returns the loop state it saved. */
async function resumeState(tf: TF, model: LayersModel, o: TrainOptions, ckpt: TrainCheckpoint, n: number): Promise<LoopState> {
  if (ckpt.order.length !== n) throw new Error(`checkpoint has ${ckpt.order.length} training reviews, the data gives ${n}`);
  checkCheckpointFits(
    model.weights.map((w) => w.shape.reduce((x: number, d) => x * (d ?? 1), 1)),
    ckpt,
    n,
  );
  const saved = ckpt.weights.map((w, i) => tf.tensor(w, model.weights[i]!.shape as number[]));
  model.setWeights(saved);
  tf.dispose(saved);
  await restoreOptimizer(
    tf,
    model.optimizer,
    ckpt.optimizer,
    'Pass --resume the .checkpoint directory an interrupted `rnn train` named, or start again without --resume',
  );
  const s = freshState(o, mulberry32(ckpt.rngState), n);
  s.order = Int32Array.from(ckpt.order);
  s.history = [...ckpt.history];
  s.tracker.restore(ckpt.tracker);
  s.scheduler.restore(ckpt.scheduler);
  s.sums = { ...ckpt.sums };
  s.priorEpochSeconds = ckpt.epochTrainSeconds;
  s.trainOnlySeconds = ckpt.trainOnlySeconds;
  s.trainedSamples = ckpt.trainedSamples;
  s.bestWeights = ckpt.bestWeights?.map((w, i) => tf.tensor(w, model.weights[i]!.shape as number[]));
  s.start = { epoch: ckpt.epoch, batch: ckpt.batch, resumed: true };
  return s;
}

/** One training run: what its epochs, validation, checkpoints and result share. */
interface Run {
  tf: TF;
  /** The kernels the model's recurrent layer runs on (tfjs for stock layers). */
  kernels: Kernels;
  o: TrainOptions;
  cb: TrainCallbacks;
  data: PreparedData;
  model: LayersModel;
  stepper: Stepper;
  /** Each class's weight in the training loss (Keras's class_weight), when `o.classWeight` asks for them. */
  classWeights?: number[];
  /** The reviews' label set. */
  labels: LabelSet;
  /** The moving average of the trainable weights, when `o.ema` is on. */
  average?: WeightAverage;
  /** The oneDNN predictor's buffers, kept from one epoch's validation to the next. */
  sequences?: SequenceCache;
  s: LoopState;
}

/** What a checkpoint saves of a training or pretraining loop besides the weights and the optimizer. */
export interface CheckpointedLoop<H> {
  rand: Rng;
  order: Int32Array;
  history: H[];
  tracker: BestTracker;
  scheduler: LrScheduler;
  sums: { loss: number; acc: number; seen: number };
  priorEpochSeconds: number;
  trainOnlySeconds: number;
  bestWeights?: Tensor[];
}

/**
 * The state of loop `s` after `batch` batches of `epoch`, with `trained` samples (or tokens) so far, the model's
 * weights and the optimizer's state, as plain arrays (nothing to dispose). Shared by `rnn train` and `rnn pretrain`.
 */
export function loopCheckpoint<H>(
  s: CheckpointedLoop<H>,
  epoch: number,
  batch: number,
  trained: number,
  model: LayersModel,
  optimizer: OptimizerWeight[],
): TrainCheckpoint<H> {
  return {
    epoch,
    batch,
    order: [...s.order],
    rngState: s.rand.state(),
    sums: { ...s.sums },
    epochTrainSeconds: s.priorEpochSeconds,
    history: [...s.history],
    tracker: s.tracker.snapshot(),
    scheduler: s.scheduler.snapshot(),
    trainOnlySeconds: s.trainOnlySeconds,
    trainedSamples: trained,
    weights: model.getWeights().map((w) => (w.dataSync() as Float32Array).slice()),
    optimizer,
    bestWeights: s.bestWeights?.map((w) => (w.dataSync() as Float32Array).slice()),
  };
}

/** The state after `batch` batches of `epoch` ({@link loopCheckpoint}); the stepper's state is written into the model first. */
async function checkpointOf(r: Run, epoch: number, batch: number): Promise<TrainCheckpoint> {
  const { model, stepper, s, average } = r;
  stepper.syncWeights();
  await stepper.syncOptimizer();
  const optimizer = await optimizerState(model.optimizer);
  return {
    ...loopCheckpoint(s, epoch, batch, s.trainedSamples, model, optimizer),
    average: average && { updates: average.updates, weights: average.values.map((w) => w.slice()) },
  };
}

/**
 * Trains the batches of `epoch` at rate `lr` (from the checkpoint's batch when it continues one). Returns
 * the epoch's clock (seconds since it began, a resumed run's earlier part included), or the checkpoint
 * when `shouldStop` asked to stop there.
 */
async function trainBatches(r: Run, epoch: number): Promise<{ clock: () => number; lr: number } | { interrupted: TrainCheckpoint }> {
  const { o, data, stepper, average, cb, s } = r;
  const tEpoch = performance.now();
  const resumed = s.start.resumed && epoch === s.start.epoch;
  if (!resumed) {
    shuffleInPlace(s.order, s.rand);
    s.sums = { loss: 0, acc: 0, seen: 0 };
    s.priorEpochSeconds = 0;
  }
  const clock = (): number => s.priorEpochSeconds + seconds(tEpoch);
  const n = s.order.length;
  const batches = Math.ceil(n / o.batchSize);
  for (let b = resumed ? s.start.batch : 0; b < batches; b++) {
    // Let pending events (a stop request, timers) run between batches: a step alone never yields to them.
    if (cb.shouldStop) await new Promise((resolve) => setImmediate(resolve));
    if (cb.shouldStop?.()) {
      s.priorEpochSeconds = clock();
      return { interrupted: await checkpointOf(r, epoch, b) };
    }
    const start = b * o.batchSize;
    const size = Math.min(o.batchSize, n - start);
    const xb = new Int32Array(size * o.maxlen);
    const yb = new Float32Array(size);
    for (let i = 0; i < size; i++) {
      const row = s.order[start + i]!;
      xb.set(data.train.x.subarray(row * o.maxlen, (row + 1) * o.maxlen), i * o.maxlen);
      yb[i] = data.train.y[row]!;
    }
    // Checkpoints keep rand's state, so a resumed run drops the same words.
    dropWords(xb, o.maxlen, o.wordDropout, s.rand, o.padding);
    const { loss, acc } = await stepper.step(xb, yb, s.scheduler.lrAt(epoch, b, batches), layerRates(o, epoch));
    average?.update(stepper.weights());
    s.sums.loss += loss * size;
    s.sums.acc += acc * size;
    s.sums.seen += size;
    const sps = s.sums.seen / clock();
    cb.onBatch?.({
      epoch,
      epochs: o.epochs,
      batch: b + 1,
      batches,
      loss: s.sums.loss / s.sums.seen,
      acc: s.sums.acc / s.sums.seen,
      samplesPerSec: sps,
      etaSeconds: (n - s.sums.seen) / sps,
    });
  }
  // the epoch's rate, as its log records it: its first step's
  return { clock, lr: s.scheduler.lrAt(epoch, 0, batches) };
}

/**
 * Validation loss and accuracy of the weights in the model, or nothing without validation reviews: binary
 * cross-entropy and accuracy at 0.5, or for k ≥ 3 classes sparse categorical cross-entropy and the most
 * probable class's accuracy (unweighted by class weights, as Keras's). The predictor copies the weights; the
 * run's `sequences` keep the oneDNN predictor's buffers between epochs.
 */
function validate(r: Run): Pick<EpochLog, 'val_loss' | 'val_acc'> {
  const { o, data } = r;
  if (data.validation.y.length === 0) return {};
  const predictor = createPredictor(r.tf, { model: r.model, cell: o.cell, kernels: r.kernels }, o.maxlen, r.sequences);
  const probs = predictArrays(predictor, data.validation.x, Math.max(o.batchSize, PREDICT_BATCH_SIZE));
  const classes = trainClasses(o);
  const v =
    classes === BINARY_CLASSES ? lossAndAccuracy(probs, data.validation.y) : sparseLossAndAccuracy(probs, data.validation.y, classes);
  return { val_loss: v.loss, val_acc: v.acc };
}

/**
 * Runs `fn` with the weight average in the model's trainable weights: validation, the best epoch's weights
 * and the saved model are the average's. Training goes on from the trained weights: the tfjs step's are put
 * back afterwards; the oneDNN step keeps its own and writes them at the next sync.
 */
function withAverageInModel<T>(r: Run, fn: () => T): T {
  const { tf, model, stepper, average } = r;
  if (!average) return fn();
  const trained = stepper.trainsInModel ? model.trainableWeights.map((w) => w.read().clone()) : undefined;
  setTrainableWeights(tf, model, average.values);
  const out = fn();
  if (trained) {
    setTrainableWeights(tf, model, trained);
    tf.dispose(trained);
  }
  return out;
}

/** Records a finished epoch: validation, the monitored metric, the schedule, and the best epoch's weights. */
function endEpoch(r: Run, epoch: number, lr: number, trainSeconds: number): EpochLog {
  const { o, s } = r;
  s.trainOnlySeconds += trainSeconds;
  s.trainedSamples += s.sums.seen;
  const log: EpochLog = {
    epoch,
    loss: s.sums.loss / s.sums.seen,
    acc: s.sums.acc / s.sums.seen,
    lr,
    best: false,
    seconds: 0,
    samplesPerSec: s.sums.seen / trainSeconds,
  };
  withAverageInModel(r, () => {
    Object.assign(log, validate(r));
    const value = log[o.monitor];
    if (value === undefined) throw new Error(`monitor ${o.monitor} needs validation reviews`);
    log.best = s.tracker.update(epoch, value);
    s.scheduler.afterEpoch(log.best);
    if (log.best && o.restoreBest && epoch < o.epochs) {
      r.tf.dispose(s.bestWeights ?? []);
      s.bestWeights = r.model.getWeights().map((w) => w.clone());
    }
  });
  return log;
}

/**
 * Trains the lesson model. With `resume` (a {@link TrainResult.interrupted} saved by a run on the same
 * reviews and options) it continues exactly where that run stopped: same split, weights, optimizer state,
 * batch order and random-number state. `runtime.kernels` decides what the fused layers and the step run on.
 * `labels` are the reviews' label set (three or more stratify the validation split). With `unlabeled` (the
 * texts of `o.unlabeled`) the model trained is the teacher of self-training (src/train/self-train.ts), and the
 * model returned its student.
 */
export async function train(
  runtime: Runtime,
  reviews: readonly Review[],
  o: TrainOptions,
  cb: TrainCallbacks = {},
  resume?: TrainCheckpoint,
  labels: LabelSet = BINARY_LABELS,
  init?: InitFrom,
  unlabeled?: readonly string[],
): Promise<TrainResult> {
  const { tf } = runtime;
  if ((o.init !== undefined) !== (init !== undefined)) throw new Error('options.init and the language model given disagree');
  if ((o.unlabeled !== undefined) !== (unlabeled !== undefined)) throw new Error('options.unlabeled and the texts given disagree');
  if (init) checkInitFits(o, init);
  if (trainClasses(o) !== Math.max(2, labels.names.length)) {
    throw new Error(`${labels.names.length} labels, but the options train ${trainClasses(o)} classes`);
  }
  const t0 = performance.now();
  const rand = mulberry32(o.seed);
  const data = prepareData(reviews, o, rand, cb, labels, init?.tokenizer);
  const tokenizeSeconds = seconds(t0);
  const classWeights = classWeightsOf(o, data);
  const kernels = kernelsFor(o.layers, runtime.kernels);
  const phase = { tf, kernels, cb, labels, classWeights, init };
  if (!unlabeled) return runEpochs(await startRun(phase, o, data, rand, resume), { tokenize: tokenizeSeconds, t0 });
  // Self-training: the teacher (unless the checkpoint is the student's), its pseudo-labels, the student.
  const pool = unlabeledPool(unlabeled, data.usedTexts);
  if (pool.texts.length === 0) {
    throw new UserError(
      'UNLABELED_ALL_LABELED',
      `all ${unlabeled.length} texts of ${o.unlabeled} are among the ${data.usedTexts.length} labeled reviews this run trains and validates on, so none is left to pseudo-label`,
      'Pass --unlabeled with texts that have no labels (an aclImdb source gives the reviews --limit leaves out, and unsup/)',
    );
  }
  const encodedPool = encode(data.tokenizer, pool.texts, o).x;
  let student = resume?.student;
  if (!student) {
    const teacher = await runEpochs(await startRun(phase, o, data, rand, resume), { tokenize: tokenizeSeconds, t0 });
    if (teacher.interrupted) return teacher;
    cb.onStep?.(`self-training: the teacher labels ${pool.texts.length} unlabeled texts`);
    const picked = pseudoLabelsOf(tf, teacher, encodedPool, o);
    teacher.model.dispose();
    student = {
      picked: { index: picked.index, label: picked.label },
      record: {
        unlabeledTexts: unlabeled.length,
        pool: pool.texts.length,
        share: o.pseudoShare ?? SELF_TRAIN_DEFAULTS.pseudoShare,
        predicted: picked.predicted,
        kept: picked.kept,
        teacher: { history: teacher.history, weightsEpoch: teacher.weightsEpoch, bestEpoch: teacher.bestEpoch },
      },
    };
  }
  checkPseudoLabels(student.picked, pool.texts.length, trainClasses(o));
  const studentData = withPseudoLabels(data, encodedPool, student.picked, o.maxlen);
  cb.onStudent?.(student.record);
  const so: TrainOptions = { ...o, epochs: o.studentEpochs ?? SELF_TRAIN_DEFAULTS.studentEpochs };
  const studentRun = await startRun(phase, so, studentData, mulberry32(studentSeed(o.seed)), resume?.student ? resume : undefined);
  const result = await runEpochs(studentRun, { tokenize: tokenizeSeconds, t0 });
  return {
    ...result,
    options: o,
    counts: { ...result.counts, train: data.train.y.length },
    truncatedShare: data.train.y.length > 0 ? data.train.truncated / data.train.y.length : 0,
    selfTraining: student.record,
    ...(result.interrupted && { interrupted: { ...result.interrupted, student } }),
  };
}

/** What both phases of a run share: the runtime's parts, the callbacks, the labels, the class weights and the start. */
interface Phase {
  tf: TF;
  kernels: Kernels;
  cb: TrainCallbacks;
  labels: LabelSet;
  classWeights?: number[];
  init?: InitFrom;
}

/** A model compiled for `o` (from the language model with `--init`), its step and loop state: fresh, or `resume`'s. */
async function startRun(p: Phase, o: TrainOptions, data: PreparedData, rand: Rng, resume?: TrainCheckpoint): Promise<Run> {
  const { tf, kernels, cb } = p;
  const model = compileModel({ tf, kernels }, o);
  if (p.init) initFrom(model, p.init);
  cb.onModel?.(model);
  const n = data.train.y.length;
  const s = resume ? await resumeState(tf, model, o, resume, n) : freshState(o, rand, n);
  const stepper = await createStepper(tf, kernels, model, o, p.classWeights);
  // The addon's averaging pass gives the JS one's bits: 0.15 ms instead of 1.8 for the lesson LSTM's 1.1M weights (2 cores).
  const pass = kernels.name === 'onednn' ? kernels.addon.movingAverage.bind(kernels.addon) : undefined;
  return {
    tf,
    kernels,
    o,
    cb,
    data,
    model,
    stepper,
    classWeights: p.classWeights,
    labels: p.labels,
    average:
      o.ema !== null
        ? WeightAverage.of(o.ema, resume?.average?.weights ?? stepper.weights(), resume?.average?.updates ?? 0, pass)
        : undefined,
    sequences: kernels.name === 'onednn' ? predictorSequences(kernels.addon) : undefined,
    s,
  };
}

/** The epochs of run `r`, from where its state starts, to its result. */
async function runEpochs(r: Run, t: { tokenize: number; t0: number }): Promise<TrainResult> {
  const { s, o, cb, stepper } = r;
  const times = { ...t, tTrain: performance.now() };
  for (let epoch = s.start.epoch; epoch <= o.epochs; epoch++) {
    const trained = await trainBatches(r, epoch);
    if ('interrupted' in trained) return finish(r, times, { interrupted: trained.interrupted });
    stepper.syncWeights();
    const log = endEpoch(r, epoch, trained.lr, trained.clock());
    log.seconds = trained.clock();
    s.history.push(log);
    cb.onEpoch?.(log);
    if (o.earlyStopping !== undefined && s.tracker.wait >= o.earlyStopping && epoch < o.epochs) {
      return finish(r, times, { stoppedEarly: true });
    }
  }
  return finish(r, times, {});
}

/** The student's generator is the run's seed mixed with this, so its shuffles and word drops are not the teacher's. */
const STUDENT_STREAM = 0x5e1f_7a1d;

function studentSeed(seed: number): number {
  return (seed ^ STUDENT_STREAM) >>> 0;
}

/** The teacher's pseudo-labels of the pool (encoded as `o` pads): {@link pickPseudoLabels} of its predictions. */
function pseudoLabelsOf(tf: TF, teacher: TrainResult, encodedPool: Int32Array, o: TrainOptions): PseudoLabels {
  const predictor = createPredictor(tf, { model: teacher.model, cell: o.cell, kernels: teacher.kernels }, o.maxlen);
  const probs = predictArrays(predictor, encodedPool, Math.max(o.batchSize, PREDICT_BATCH_SIZE));
  return pickPseudoLabels(probs, trainClasses(o), o.pseudoShare ?? SELF_TRAIN_DEFAULTS.pseudoShare);
}

/** A checkpoint's pseudo-labels name texts of the pool and classes of the model (an edited one is refused). */
function checkPseudoLabels(picked: SelfTrainingCheckpoint['picked'], pool: number, classes: number): void {
  const fits =
    picked.index.length === picked.label.length &&
    picked.index.every((i) => Number.isInteger(i) && i >= 0 && i < pool) &&
    picked.label.every((c) => Number.isInteger(c) && c >= 0 && c < classes);
  if (!fits)
    throw checkpointUnfit(`its pseudo-labels name texts that are not among the ${pool} unlabeled ones, or classes not among ${classes}`);
}

/** The run's data with the picked texts of the pool (rows of `encodedPool`) and their pseudo-labels after the training reviews. */
function withPseudoLabels(
  data: PreparedData,
  encodedPool: Int32Array,
  picked: SelfTrainingCheckpoint['picked'],
  maxlen: number,
): PreparedData {
  const n = data.train.y.length;
  const x = new Int32Array((n + picked.index.length) * maxlen);
  x.set(data.train.x);
  const y = new Float32Array(n + picked.index.length);
  y.set(data.train.y);
  picked.index.forEach((i, j) => {
    x.set(encodedPool.subarray(i * maxlen, (i + 1) * maxlen), (n + j) * maxlen);
    y[n + j] = picked.label[j]!;
  });
  return { ...data, train: { ...data.train, x, y } };
}

/**
 * The result, built once. An interrupted run returns the model as trained so far with its checkpoint;
 * a finished one holds the weight average (when on) and, with best-weight restore, the best epoch's weights
 * (the last epoch's in `lastWeights`).
 */
function finish(
  r: Run,
  t: { tokenize: number; t0: number; tTrain: number },
  end: { stoppedEarly?: boolean; interrupted?: TrainCheckpoint },
): TrainResult {
  const { tf, model, o, data, s, average } = r;
  const lastEpoch = s.history.length;
  let weightsEpoch = lastEpoch;
  let lastWeights: Float32Array[] | undefined;
  if (!end.interrupted) {
    if (average) setTrainableWeights(tf, model, average.values);
    if (o.restoreBest && s.tracker.bestEpoch !== lastEpoch && s.bestWeights) {
      lastWeights = model.getWeights().map((w) => (w.dataSync() as Float32Array).slice());
      model.setWeights(s.bestWeights);
      weightsEpoch = s.tracker.bestEpoch;
    }
  }
  tf.dispose(s.bestWeights ?? []);
  const n = data.train.y.length;
  return {
    model,
    kernels: r.kernels,
    tokenizer: data.tokenizer,
    options: o,
    history: s.history,
    counts: { train: n, validation: data.validation.y.length, repeatsDropped: data.repeatsDropped },
    truncatedShare: n > 0 ? data.train.truncated / n : 0,
    seconds: { tokenize: t.tokenize, train: seconds(t.tTrain), total: seconds(t.t0) },
    samplesPerSec: s.trainOnlySeconds > 0 ? s.trainedSamples / s.trainOnlySeconds : 0,
    weightsEpoch,
    bestEpoch: s.tracker.bestEpoch,
    stoppedEarly: end.stoppedEarly === true,
    ...(lastWeights && { lastWeights }),
    ...(r.classWeights && { classWeights: r.classWeights }),
    labels: r.labels,
    ...(end.interrupted && { interrupted: end.interrupted }),
    step: r.stepper.kind,
  };
}
