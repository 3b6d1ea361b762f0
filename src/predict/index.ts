/**
 * Inference, the one core that turns texts into ids and ids into probabilities: used by `rnn eval`,
 * `predict`, `explain`, `compare` and training's validation. The lesson model runs whole on rnn's oneDNN
 * kernels when its recurrent layer does ({@link OnednnPredictor}), else through tfjs's `model.predict`.
 */
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import type { TF } from '../backend/index.js';
import type { Kernels, SequenceCache } from '../kernels/index.js';
import type { CellType } from '../cells.js';
import { BINARY_CLASSES, classesOf, topologyOf } from '../models/index.js';
import type { Tokenizer } from '../text/tokenizer.js';
import { padInto, resolvePadOptions } from '../text/pad.js';
import { OnednnPredictor } from './onednn.js';
import { encodeTexts, predictionsOf, type PadSpec, type Prediction } from './encode.js';

/** Reviews per inference batch when a command is given no `--batch-size`. */
export const PREDICT_BATCH_SIZE = 256;

/** A model ready to run: the tfjs model, the cell it was built with, and the kernels its recurrent layer runs on. */
export interface Runnable {
  model: LayersModel;
  cell: CellType;
  kernels: Kernels;
}

/** A runnable model with its tokenizer and preprocessing: a loaded model directory, or a model just trained. */
export interface InferenceModel {
  model: LayersModel;
  kernels: Kernels;
  tokenizer: Tokenizer;
  metadata: { cell: CellType; preprocessing: PadSpec };
}

/**
 * Probabilities for one batch of ids [B·maxlen]. Their layout follows `classes`: a binary model (2, the
 * lesson's Dense(1, sigmoid)) gives B values, each row's probability of class 1 (positive); a model of k ≥ 3
 * classes (Dense(k, softmax)) gives B×k values, row-major (row i's class c at i·k + c), each row summing to 1.
 * {@link probabilitiesPerRow} says which.
 */
export interface Predictor {
  readonly maxlen: number;
  /** Classes the model tells apart (2 for binary). */
  readonly classes: number;
  predict(ids: Int32Array): Float32Array;
  /**
   * The same off the event loop, where the kernels can (rnn's oneDNN kernels: libuv's thread pool); one call
   * at a time, each awaited before the next.
   */
  predictAsync?(ids: Int32Array): Promise<Float32Array>;
}

/** Values a {@link Predictor} gives per row: 1 for a binary model (the probability of class 1), else one per class. */
export function probabilitiesPerRow(classes: number): number {
  return classes === BINARY_CLASSES ? 1 : classes;
}

/**
 * The fastest predictor for `m`: the model whole on rnn's oneDNN kernels when its topology runs on them
 * ({@link topologyOf}), else tfjs's `model.predict` (disposing its tensors). The oneDNN predictor copies the weights
 * as they are now; `sequences` lets predictors made one after another share their buffers.
 */
export function createPredictor(tf: TF, m: Runnable, maxlen: number, sequences?: SequenceCache): Predictor {
  const topology = m.kernels.name === 'onednn' ? topologyOf(m.model, m.cell) : undefined;
  if (m.kernels.name === 'onednn' && topology) return new OnednnPredictor(m.kernels.addon, m.cell, maxlen, m.model, topology, sequences);
  return {
    maxlen,
    classes: classesOf(m.model) ?? BINARY_CLASSES,
    predict: (ids) =>
      tf.tidy(() => {
        const xs = tf.tensor2d(ids, [ids.length / maxlen, maxlen], 'int32');
        return (m.model.predict(xs) as Tensor).dataSync() as Float32Array;
      }),
  };
}

/** Probabilities for a [n, maxlen] id buffer, predicted `batchSize` rows at a time, laid out as the predictor's ({@link Predictor}). */
export function predictArrays(
  predictor: Predictor,
  x: Int32Array,
  batchSize: number,
  onBatch?: (done: number, total: number) => void,
): Float32Array {
  const maxlen = predictor.maxlen;
  const n = x.length / maxlen;
  const per = probabilitiesPerRow(predictor.classes);
  const out = new Float32Array(n * per);
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    out.set(predictor.predict(x.subarray(start * maxlen, (start + size) * maxlen)), start * per);
    onBatch?.(start + size, n);
  }
  return out;
}

/**
 * Tokenizes and pads texts into a [n, maxlen] int32 buffer, one text at a time (no list of all sequences
 * is kept, so memory is the buffer); also each text's length in words and how many were truncated.
 */
export function encode(
  tokenizer: Tokenizer,
  texts: readonly string[],
  o: PadSpec,
): { x: Int32Array; truncated: number; words: Int32Array } {
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
 * Predicts new texts (HTML line breaks cleaned as in training) with the model's own preprocessing; `labels`
 * names the classes of a model of k ≥ 3 (default: their indices).
 */
export function predictTexts(
  tf: TF,
  m: InferenceModel,
  texts: readonly string[],
  batchSize = PREDICT_BATCH_SIZE,
  labels?: readonly string[],
): Prediction[] {
  const maxlen = m.metadata.preprocessing.maxlen;
  const encoded = encodeTexts(m, texts);
  const predictor = createPredictor(tf, runnable(m), maxlen);
  const names =
    predictor.classes === BINARY_CLASSES ? undefined : (labels ?? Array.from({ length: predictor.classes }, (_, c) => String(c)));
  return predictionsOf(encoded, predictArrays(predictor, encoded.x, batchSize), maxlen, names);
}

/** The runnable part of an inference model. */
export function runnable(m: InferenceModel): Runnable {
  return { model: m.model, cell: m.metadata.cell, kernels: m.kernels };
}
