/**
 * Pretraining: a next-word language model on unlabeled texts (`rnn pretrain`), whose Embedding and recurrent
 * layer have the classifier's shapes so `rnn train --init` starts from them (src/models/lm.ts).
 *
 * - The texts are shuffled with the seed; the last `validationSplit` of them are held out. The tokenizer is
 *   Keras's, fitted on the training texts only (the held-out perplexity is of texts the model never saw).
 * - The texts' ids become windows of `bptt` + 1 ids ({@link Windows}): by default each text as the classifier
 *   reads it (`rows`: its last `bptt` ids pre-padded with 0, padding targets not predicted), or all texts end
 *   to end, each followed by id 0 (`stream`). Truncated back-propagation through time over `bptt` steps, every
 *   window starting from a zero state (the fused recurrent ops take no initial state; a classifier starts its
 *   reviews from a zero state too). The windows are shuffled every epoch.
 * - Input word dropout: each input id of a training window is replaced by 0 with probability `wordDropout`
 *   (the targets are kept), drawn from the run's seeded generator.
 * - The output layer is trained with a sampled softmax (Jean et al. 2015, as TensorFlow's
 *   `sampled_softmax_loss`): per step, `samples` candidate words drawn from the log-uniform (Zipf)
 *   distribution over ids (Keras's ids are ranked by frequency), logits corrected by log(expected count),
 *   accidental hits removed. Held-out perplexity uses the full softmax over the vocabulary.
 * - The output bias starts at the log unigram probabilities of the training tokens.
 * - Adam with the global-norm clip (src/train/clip.ts), the learning-rate schedules, best-epoch tracking and
 *   checkpoints of `rnn train` (src/train/control.ts, src/train/optimizer-state.ts, src/io/checkpoint.ts).
 * - With rnn's oneDNN kernels (and the fused layers) a step runs the embedding, the recurrent layer, the clip
 *   and Adam in the addon ({@link LmOnednnStep}); otherwise tfjs's `minimize` over the model. Same loss, same
 *   update.
 * Prints nothing; returns the model and what metadata.json records.
 */
import type { LayersModel, Scalar, Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs';
import type { Runtime, TF } from '../backend/index.js';
import { Tokenizer } from '../text/tokenizer.js';
import { textFingerprints } from '../data/texts.js';
import { kernelsFor } from '../models/index.js';
import { buildLanguageModel, lmLayers } from '../models/lm.js';
import { mulberry32, shuffleInPlace, type Rng } from '../util/random.js';
import { BestTracker, LrScheduler } from './control.js';
import { clippedAdam, type ClippedAdam } from './clip.js';
import { optimizerState, restoreOptimizer } from './optimizer-state.js';
import { checkCheckpointFits, loopCheckpoint } from './index.js';
import { LmOnednnStep, type OutputLoss } from './lm-step.js';
import type { AdamLike } from './addon-adam.js';
import type { LmEpochLog, PretrainCallbacks, PretrainCheckpoint, PretrainOptions, PretrainResult } from './pretrain-options.js';

export * from './pretrain-options.js';

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

/** The texts as the model sees them: the split, the tokenizer, both streams of ids and both sets of windows. */
interface LmData {
  tokenizer: Tokenizer;
  train: Int32Array;
  heldOut: Int32Array;
  trainWindows: Windows;
  heldOutWindows: Windows;
  trainTexts: number;
  heldOutTexts: number;
  /** The fingerprints of every text used (training and held out). */
  fingerprints: BigUint64Array;
}

/** Each text's ids then 0, end to end. */
function streamOf(parts: readonly Int32Array[]): Int32Array {
  const out = new Int32Array(parts.reduce((s, p) => s + p.length + 1, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length + 1; // the 0 after each text
  }
  return out;
}

/**
 * The windows a layout cuts: `count` windows of `bptt` + 1 ids, window i starting at `i · stride` of `ids`.
 * `stream`: the stream at stride `bptt` (the last id of one window is the first of the next), every target
 * predicted, the 0 between texts included. `rows`: each text as the classifier reads it — its last `bptt`
 * words pre-padded with 0 (Keras's pad_sequences, `pre`) — and the words before them in rows of `bptt` ending
 * where the next begins, the first pre-padded; the targets that are padding (0) are not predicted.
 */
export interface Windows {
  ids: Int32Array;
  stride: number;
  count: number;
  /** Targets equal to 0 are padding, left out of the loss. */
  skipZeroTargets: boolean;
}

export function streamWindows(stream: Int32Array, bptt: number): Windows {
  return { ids: stream, stride: bptt, count: Math.max(0, Math.floor((stream.length - 1) / bptt)), skipZeroTargets: false };
}

export function rowWindows(parts: readonly Int32Array[], bptt: number): Windows {
  const len = bptt + 1;
  const rowsOf = (n: number): number => Math.max(1, Math.ceil(n / bptt));
  const count = parts.reduce((s, p) => s + (p.length > 0 ? rowsOf(p.length) : 0), 0);
  const ids = new Int32Array(count * len);
  let row = 0;
  for (const p of parts) {
    if (p.length === 0) continue;
    // Rows end at the text's end (its last target is a 0: padding) and step back by bptt; each holds the
    // `len` ids before its end, pre-padded where the text starts.
    for (let end = p.length + 1; end > 1; end -= bptt) {
      const start = Math.max(0, end - len);
      const slice = p.subarray(start, Math.min(end, p.length));
      ids.set(slice, row * len + (len - (end - start)));
      row++;
    }
  }
  return { ids, stride: len, count, skipZeroTargets: true };
}

export function prepareTexts(texts: readonly string[], o: PretrainOptions, rand: Rng): LmData {
  const all = [...texts];
  shuffleInPlace(all, rand);
  const used = o.limit !== undefined ? all.slice(0, o.limit) : all;
  const nHeld = o.validationSplit > 0 ? Math.max(1, Math.floor(used.length * o.validationSplit)) : 0;
  const train = used.slice(0, used.length - nHeld);
  const held = used.slice(used.length - nHeld);
  const tokenizer = new Tokenizer({ numWords: o.vocabSize, oovToken: o.oovToken });
  tokenizer.fitOnTexts(train);
  const idsOf = (t: string): Int32Array => Int32Array.from(tokenizer.textToSequenceWithStats(t).ids);
  const trainIds = train.map(idsOf);
  const heldIds = held.map(idsOf);
  const [trainStream, heldStream] = [streamOf(trainIds), streamOf(heldIds)];
  const windows = (ids: Int32Array[], stream: Int32Array): Windows =>
    o.layout === 'rows' ? rowWindows(ids, o.bptt) : streamWindows(stream, o.bptt);
  return {
    fingerprints: textFingerprints(used),
    tokenizer,
    train: trainStream,
    heldOut: heldStream,
    trainWindows: windows(trainIds, trainStream),
    heldOutWindows: windows(heldIds, heldStream),
    trainTexts: train.length,
    heldOutTexts: held.length,
  };
}

/**
 * Inputs [B·T] and targets [B·T] of the windows `ids`, and the positions whose targets are predicted (all of
 * them, or, where {@link Windows.skipZeroTargets}, those whose target is not padding).
 */
export function windowBatch(w: Windows, bptt: number, ids: ArrayLike<number>): { x: Int32Array; y: Int32Array; keep?: Int32Array } {
  const B = ids.length;
  const x = new Int32Array(B * bptt);
  const y = new Int32Array(B * bptt);
  for (let i = 0; i < B; i++) {
    const start = ids[i]! * w.stride;
    x.set(w.ids.subarray(start, start + bptt), i * bptt);
    y.set(w.ids.subarray(start + 1, start + bptt + 1), i * bptt);
  }
  if (!w.skipZeroTargets) return { x, y };
  let kept = 0;
  for (const t of y) if (t !== 0) kept++;
  const keep = new Int32Array(kept);
  for (let i = 0, k = 0; i < y.length; i++) if (y[i] !== 0) keep[k++] = i;
  return { x, y: y.filter((t) => t !== 0), keep };
}

/** Replaces each input id by 0 with probability p (in place). */
export function dropInputWords(x: Int32Array, p: number, rand: Rng): void {
  if (p <= 0) return;
  for (let i = 0; i < x.length; i++) if (rand() < p) x[i] = 0;
}

/** log Q(k) of the log-uniform sampler over ids 0..V−1: Q(k) = log((k + 2)/(k + 1)) / log(V + 1). */
export function logUniformLogProb(k: number, V: number): number {
  return Math.log(Math.log((k + 2) / (k + 1)) / Math.log(V + 1));
}

/** `n` ids drawn (with replacement) from the log-uniform distribution over 0..V−1. */
export function logUniformSample(n: number, V: number, rand: Rng): Int32Array {
  const out = new Int32Array(n);
  const logV = Math.log(V + 1);
  for (let i = 0; i < n; i++) out[i] = Math.min(V - 1, Math.max(0, Math.floor(Math.exp(rand() * logV)) - 1));
  return out;
}

/** Held-out perplexity of the unigram model of `train` (add-one smoothed over V ids). */
export function unigramPerplexity(train: Int32Array, heldOut: Int32Array, V: number): number {
  const counts = new Float64Array(V).fill(1);
  for (const id of train) counts[id]! += 1;
  const total = train.length + V;
  let nll = 0;
  const targets = heldOut.length - 1;
  for (let i = 1; i < heldOut.length; i++) nll -= Math.log(counts[heldOut[i]!]! / total);
  return Math.exp(nll / Math.max(1, targets));
}

/**
 * Starts the output bias at the training tokens' log unigram probabilities (add-one smoothed), so the model
 * starts as the unigram model and the output layer's weights learn only what the context adds: without it the
 * bias needs thousands of steps to reach log-frequencies spanning ~10 nats.
 */
function setUnigramBias(tf: TF, model: LayersModel, train: Int32Array, V: number): void {
  const counts = new Float64Array(V).fill(1);
  for (const id of train) counts[id]! += 1;
  const total = train.length + V;
  const bias = lmLayers(model).output.trainableWeights[1]!;
  const init = tf.tensor1d(Float32Array.from(counts, (c) => Math.log(c / total)));
  bias.write(init);
  init.dispose();
}

/** The recurrent layer's outputs H [N, U] for inputs x [B, T] (N = B·T). */
function hidden(tf: TF, model: LayersModel, x: Tensor2D): Tensor2D {
  const { embedding, recurrent } = lmLayers(model);
  const h = recurrent.apply(embedding.apply(x)) as Tensor;
  return tf.reshape(h, [-1, h.shape[2]!]) as Tensor2D;
}

/** The rows of H whose targets are predicted (all without `keep`). */
function kept(tf: TF, H: Tensor2D, keep?: Int32Array): Tensor2D {
  return keep ? tf.gather(H, tf.tensor1d(keep, 'int32')) : H;
}

/** The output layer's kernel [U, V] and bias [V]. */
function outputWeights(model: LayersModel): { kernel: Tensor2D; bias: Tensor1D } {
  const [kernel, bias] = lmLayers(model).output.trainableWeights.map((w) => w.read()) as [Tensor2D, Tensor1D];
  return { kernel, bias };
}

/**
 * Sampled-softmax loss (mean over the N targets) of features H [N, U] against targets y [N], the candidates
 * `cands` [K] with their log expected counts, accidental hits removed.
 */
export function sampledSoftmaxLoss(
  tf: TF,
  H: Tensor2D,
  y: Tensor1D,
  kernel: Tensor2D,
  bias: Tensor1D,
  cands: Tensor1D,
  logExpectedCands: Tensor1D,
  logExpectedY: Tensor1D,
): Scalar {
  const KT = tf.transpose(kernel) as Tensor2D; // [V, U]: rows are gathered (the gradient is a scatter-add)
  const trueLogit = tf.sub(tf.add(tf.sum(tf.mul(H, tf.gather(KT, y)), 1), tf.gather(bias, y)), logExpectedY) as Tensor1D;
  const sampled = tf.sub(tf.add(tf.matMul(H, tf.gather(KT, cands), false, true), tf.gather(bias, cands)), logExpectedCands);
  const hits = tf.cast(tf.equal(tf.expandDims(y, 1), tf.expandDims(cands, 0)), 'float32');
  const logits = tf.concat([tf.expandDims(trueLogit, 1), tf.sub(sampled, tf.mul(hits, 1e9))], 1);
  return tf.mean(tf.sub(tf.logSumExp(logits, 1), trueLogit)) as Scalar;
}

/** Full-softmax loss (mean over the N targets) of features H [N, U] against targets y [N]. */
export function fullSoftmaxLoss(tf: TF, H: Tensor2D, y: Tensor1D, kernel: Tensor2D, bias: Tensor1D): Scalar {
  const logits = tf.add(tf.matMul(H, kernel), bias) as Tensor2D;
  const V = kernel.shape[1];
  return tf.losses.softmaxCrossEntropy(tf.oneHot(y, V), logits) as Scalar;
}

/** Positions of one batch of the held-out perplexity: the default batch of windows (64 × 64). */
const HELD_OUT_POSITIONS = 4096;

/** Held-out cross-entropy per word (nats) and top-1 accuracy, full softmax, in batches of windows. */
export function heldOutLoss(tf: TF, model: LayersModel, w: Windows, bptt: number, batch: number): { loss: number; acc: number } {
  const n = w.count;
  // The full softmax's logits are [positions, V] floats, several copies at once: at most HELD_OUT_POSITIONS
  // positions a batch (a batch of 32 rows of 256 steps would hold 328 MB per copy).
  batch = Math.max(1, Math.min(batch, Math.floor(HELD_OUT_POSITIONS / bptt)));
  if (n === 0) return { loss: NaN, acc: NaN };
  let nll = 0;
  let right = 0;
  let count = 0;
  for (let start = 0; start < n; start += batch) {
    const ids = Array.from({ length: Math.min(batch, n - start) }, (_, i) => start + i);
    const { x, y, keep } = windowBatch(w, bptt, ids);
    if (y.length === 0) continue;
    const [sum, hit] = tf.tidy(() => {
      const H = kept(tf, hidden(tf, model, tf.tensor2d(x, [ids.length, bptt], 'int32')), keep);
      const { kernel, bias } = outputWeights(model);
      const logp = tf.logSoftmax(tf.add(tf.matMul(H, kernel), bias) as Tensor2D);
      const yt = tf.tensor1d(y, 'int32');
      const picked = tf.sum(tf.mul(logp, tf.oneHot(yt, kernel.shape[1])));
      const top = tf.sum(tf.cast(tf.equal(tf.argMax(logp, 1), yt), 'float32'));
      return [picked.dataSync()[0]!, top.dataSync()[0]!];
    });
    nll -= sum;
    right += hit;
    count += y.length;
  }
  return { loss: nll / count, acc: right / count };
}

/** Where the loop is: everything a checkpoint saves besides the weights. */
interface LoopState {
  rand: Rng;
  order: Int32Array;
  history: LmEpochLog[];
  tracker: BestTracker;
  scheduler: LrScheduler;
  sums: { loss: number; acc: number; seen: number };
  priorEpochSeconds: number;
  trainOnlySeconds: number;
  trainedTokens: number;
  bestWeights?: Tensor[];
  start: { epoch: number; batch: number; resumed: boolean };
}

const RESUME_FIX = 'Pass --resume the .checkpoint directory an interrupted `rnn pretrain` named, or start again without --resume';

/**
 * Pretrains a language model on `texts`. With `resume` (a {@link PretrainResult.interrupted} of a run on the
 * same texts and options) it continues exactly where that run stopped.
 */
export async function pretrain(
  runtime: Runtime,
  texts: readonly string[],
  o: PretrainOptions,
  cb: PretrainCallbacks = {},
  resume?: PretrainCheckpoint,
): Promise<PretrainResult> {
  const { tf } = runtime;
  const t0 = performance.now();
  const rand = mulberry32(o.seed);
  cb.onStep?.(`tokenizing ${texts.length} texts (Keras Tokenizer, num_words=${o.vocabSize})`);
  const data = prepareTexts(texts, o, rand);
  const tokenizeSeconds = seconds(t0);
  const kernels = kernelsFor(o.layers, runtime.kernels);
  const model = buildLanguageModel(tf, { ...o }, kernels);
  cb.onModel?.(model);
  const optimizer = clippedAdam(tf, o.lr, o.clipNorm);
  const n = data.trainWindows.count;
  if (n < 1) throw new Error(`the training texts make no window of ${o.bptt + 1} ids`);
  // The bar to beat predicts what the model predicts: without the padding targets where the windows leave them out.
  const unigram = data.trainWindows.skipZeroTargets
    ? unigramPerplexity(
        data.train.filter((t) => t !== 0),
        data.heldOut.filter((t) => t !== 0),
        o.vocabSize,
      )
    : unigramPerplexity(data.train, data.heldOut, o.vocabSize);
  if (!resume) setUnigramBias(tf, model, data.train, o.vocabSize);
  const s: LoopState = {
    rand,
    order: Int32Array.from({ length: n }, (_, i) => i),
    history: [],
    tracker: new BestTracker(data.heldOutWindows.count > 0 ? 'val_loss' : 'loss'),
    scheduler: new LrScheduler(o.lrSchedule, o.lr, o.epochs),
    sums: { loss: 0, acc: 0, seen: 0 },
    priorEpochSeconds: 0,
    trainOnlySeconds: 0,
    trainedTokens: 0,
    start: { epoch: 1, batch: 0, resumed: false },
  };
  if (resume) await resumeInto(tf, model, optimizer, resume, s, n);
  const fast =
    kernels.name === 'onednn' && o.layers === 'fused'
      ? await LmOnednnStep.create(tf, kernels.addon, o.cell, model, optimizer as unknown as AdamLike)
      : undefined;
  const V = o.vocabSize;
  const tTrain = performance.now();
  const finish = (interrupted?: PretrainCheckpoint): PretrainResult => {
    fast?.syncWeights();
    let weightsEpoch = s.history.length;
    if (!interrupted && s.bestWeights && s.tracker.bestEpoch !== s.history.length) {
      model.setWeights(s.bestWeights);
      weightsEpoch = s.tracker.bestEpoch;
    }
    tf.dispose(s.bestWeights ?? []);
    return {
      model,
      kernels,
      tokenizer: data.tokenizer,
      options: o,
      history: s.history,
      counts: {
        trainTexts: data.trainTexts,
        heldOutTexts: data.heldOutTexts,
        trainTokens: data.train.length,
        heldOutTokens: data.heldOut.length,
        windows: n,
      },
      unigramPerplexity: unigram,
      fingerprints: data.fingerprints,
      seconds: { tokenize: tokenizeSeconds, train: seconds(tTrain), total: seconds(t0) },
      tokensPerSec: s.trainOnlySeconds > 0 ? s.trainedTokens / s.trainOnlySeconds : 0,
      weightsEpoch,
      bestEpoch: s.tracker.bestEpoch,
      ...(interrupted && { interrupted }),
    };
  };
  const vars = model.trainableWeights.map((w) => (w as unknown as { val: import('@tensorflow/tfjs').Variable }).val);
  const batches = Math.ceil(n / o.batchSize);
  for (let epoch = s.start.epoch; epoch <= o.epochs; epoch++) {
    // the epoch's rate, as its log records it: its first step's
    const lr = s.scheduler.lrAt(epoch, 0, batches);
    const resumed = s.start.resumed && epoch === s.start.epoch;
    if (!resumed) {
      shuffleInPlace(s.order, s.rand);
      s.sums = { loss: 0, acc: 0, seen: 0 };
      s.priorEpochSeconds = 0;
    }
    const tEpoch = performance.now();
    const clock = (): number => s.priorEpochSeconds + seconds(tEpoch);
    for (let b = resumed ? s.start.batch : 0; b < batches; b++) {
      if (cb.shouldStop) await new Promise((resolve) => setImmediate(resolve));
      if (cb.shouldStop?.()) {
        s.priorEpochSeconds = clock();
        fast?.syncWeights();
        await fast?.syncOptimizer();
        return finish(await checkpointOf(model, optimizer, s, epoch, b));
      }
      const ids = s.order.subarray(b * o.batchSize, Math.min(n, (b + 1) * o.batchSize));
      const { x, y, keep } = windowBatch(data.trainWindows, o.bptt, ids);
      dropInputWords(x, o.wordDropout, s.rand);
      const cands = o.softmax === 'sampled' ? logUniformSample(o.samples, V, s.rand) : undefined;
      const lossOf = outputLoss(tf, y, o, cands);
      const stepLr = s.scheduler.lrAt(epoch, b, batches);
      (optimizer as unknown as { learningRate: number }).learningRate = stepLr;
      const loss =
        y.length === 0
          ? 0
          : fast
            ? fast.step(x, ids.length, keep, lossOf, stepLr)
            : step(tf, model, optimizer, vars, x, ids.length, keep, o, lossOf);
      s.sums.loss += loss * y.length;
      s.sums.seen += y.length;
      const tps = s.sums.seen / clock();
      cb.onBatch?.({
        epoch,
        epochs: o.epochs,
        batch: b + 1,
        batches,
        loss: s.sums.loss / s.sums.seen,
        tokensPerSec: tps,
        etaSeconds: (batches - b - 1) * (clock() / (b + 1)), // clock(): the epoch's time so far, batches 0..b (with a resumed run's)
      });
    }
    const trainSeconds = clock();
    s.trainOnlySeconds += trainSeconds;
    s.trainedTokens += s.sums.seen;
    const log: LmEpochLog = {
      epoch,
      loss: s.sums.loss / s.sums.seen,
      lr,
      best: false,
      seconds: 0,
      tokensPerSec: s.sums.seen / trainSeconds,
    };
    fast?.syncWeights();
    if (data.heldOutWindows.count > 0) {
      cb.onStep?.(`held-out perplexity over ${data.heldOut.length} tokens (full softmax)`);
      const v = heldOutLoss(tf, model, data.heldOutWindows, o.bptt, o.batchSize);
      Object.assign(log, { val_loss: v.loss, val_perplexity: Math.exp(v.loss), val_acc: v.acc });
    }
    log.best = s.tracker.update(epoch, log.val_loss ?? log.loss);
    s.scheduler.afterEpoch(log.best);
    if (log.best && epoch < o.epochs) {
      tf.dispose(s.bestWeights ?? []);
      s.bestWeights = model.getWeights().map((w) => w.clone());
    }
    log.seconds = clock();
    s.history.push(log);
    cb.onEpoch?.(log);
  }
  return finish();
}

/**
 * The training loss of a batch's targets `y` given the outputs at their positions: the sampled softmax over the
 * candidates `cands`, or the full softmax without them.
 */
export function outputLoss(tf: TF, y: Int32Array, o: Pick<PretrainOptions, 'samples' | 'vocabSize'>, cands?: Int32Array): OutputLoss {
  const V = o.vocabSize;
  return (H, kernel, bias) => {
    const yt = tf.tensor1d(y, 'int32');
    if (!cands) return fullSoftmaxLoss(tf, H, yt, kernel, bias);
    const c = tf.tensor1d(cands, 'int32');
    const lc = tf.tensor1d(Float32Array.from(cands, (k) => Math.log(o.samples) + logUniformLogProb(k, V)));
    const ly = tf.tensor1d(Float32Array.from(y, (k) => Math.log(o.samples) + logUniformLogProb(k, V)));
    return sampledSoftmaxLoss(tf, H, yt, kernel, bias, c, lc, ly);
  };
}

/** One Adam step of tfjs's optimizer over the model on a batch; returns the batch's mean loss. */
function step(
  tf: TF,
  model: LayersModel,
  optimizer: ClippedAdam,
  vars: import('@tensorflow/tfjs').Variable[],
  x: Int32Array,
  B: number,
  keep: Int32Array | undefined,
  o: Pick<PretrainOptions, 'bptt'>,
  loss: OutputLoss,
): number {
  const value: Scalar = tf.tidy(() => {
    const xt = tf.tensor2d(x, [B, o.bptt], 'int32');
    return optimizer.minimize(
      () => {
        const { kernel, bias } = outputWeights(model);
        return loss(kept(tf, hidden(tf, model, xt), keep), kernel, bias);
      },
      true,
      vars,
    )!;
  });
  const out = value.dataSync()[0]!;
  value.dispose();
  return out;
}

async function checkpointOf(
  model: LayersModel,
  optimizer: ClippedAdam,
  s: LoopState,
  epoch: number,
  batch: number,
): Promise<PretrainCheckpoint> {
  return loopCheckpoint(s, epoch, batch, s.trainedTokens, model, await optimizerState(optimizer));
}

async function resumeInto(
  tf: TF,
  model: LayersModel,
  optimizer: ClippedAdam,
  ckpt: PretrainCheckpoint,
  s: LoopState,
  n: number,
): Promise<void> {
  if (ckpt.order.length !== n) throw new Error(`checkpoint has ${ckpt.order.length} windows, the texts give ${n}`);
  checkCheckpointFits(
    model.weights.map((w) => w.shape.reduce((x: number, d) => x * (d ?? 1), 1)),
    ckpt,
    n,
  );
  const saved = ckpt.weights.map((w, i) => tf.tensor(w, model.weights[i]!.shape as number[]));
  model.setWeights(saved);
  tf.dispose(saved);
  // tfjs's Adam creates its moments at the first step: one step of rate 0 on nothing would change nothing, but
  // setWeights creates them from the saved ones by name, which is what is needed.
  await restoreOptimizer(tf, optimizer, ckpt.optimizer, RESUME_FIX);
  s.rand = mulberry32(ckpt.rngState);
  s.order = Int32Array.from(ckpt.order);
  s.history = [...ckpt.history];
  s.tracker.restore(ckpt.tracker);
  s.scheduler.restore(ckpt.scheduler);
  s.sums = { ...ckpt.sums };
  s.priorEpochSeconds = ckpt.epochTrainSeconds;
  s.trainOnlySeconds = ckpt.trainOnlySeconds;
  s.trainedTokens = ckpt.trainedSamples;
  s.bestWeights = ckpt.bestWeights?.map((w, i) => tf.tensor(w, model.weights[i]!.shape as number[]));
  s.start = { epoch: ckpt.epoch, batch: ckpt.batch, resumed: true };
}
