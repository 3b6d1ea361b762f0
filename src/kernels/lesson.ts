/**
 * The lesson model (Embedding → SimpleRNN/LSTM/GRU → Dense(1, sigmoid), or Dense(k, softmax) for k ≥ 3
 * classes) and the recipe's variations of it (bidirectional, pooled over time) whole on rnn's oneDNN kernels:
 * what the training step
 * (src/train/onednn-step.ts) and the predictor (src/predict/onednn.ts) share. The parameters are plain
 * Float32Arrays; a bidirectional model's recurrent weights are packed as the addon takes them, the forward
 * direction's then the backward direction's ({@link packParams}).
 */
import type { Pooling } from '../cells.js';

/** What the kernels need to know of a model beyond its sizes. */
export interface Topology {
  /** Both directions, outputs concatenated (Keras's Bidirectional, merge_mode concat). */
  bidirectional: boolean;
  /** What the dense layer reads: the last state, or the outputs' maximum or mean over all steps. */
  pooling: Pooling;
}

/**
 * What a whole-sequence recurrent layer of the addon returns: a classifier's {@link Topology} (features [B, F]), or
 * every step's outputs [B, T, F] (`sequence`: tfjs-layers' returnSequences, what a language model reads).
 */
export type SequenceTopology = Topology | { bidirectional: boolean; pooling: 'sequence' };

/** Every step's outputs, one direction. */
export const SEQUENCE_OUTPUTS: SequenceTopology = Object.freeze({ bidirectional: false, pooling: 'sequence' });

/** The lesson's topology. */
export const LESSON_TOPOLOGY: Topology = Object.freeze({ bidirectional: false, pooling: 'last' });

/**
 * Embeddings [V·D], kernel [dirs·D·G·U], recurrent kernel [dirs·U·G·U], bias [dirs·G·U], dense kernel [F·C],
 * dense bias [C] (F = dirs·U features; C = 1 output for the sigmoid head of two classes, C = k for the softmax
 * head of k ≥ 3; the dense kernel row-major [F, C] as tfjs keeps it).
 */
export type LessonParams = [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];

/** Directions of a topology. */
export function directionsOf(t: Topology): 1 | 2 {
  return t.bidirectional ? 2 : 1;
}

/** Trainable weights of a model of this topology (the lesson model: 6; bidirectional: 9). */
export function paramCount(t: Topology): number {
  return 3 + 3 * directionsOf(t);
}

/** The model's trainable weights (model order: embeddings, each direction's kernel, recurrent kernel and bias, dense) packed as the addon takes them (copies). */
export function packParams(weights: readonly Float32Array[], t: Topology): LessonParams {
  if (weights.length !== paramCount(t)) throw new Error(`expected ${paramCount(t)} weights, got ${weights.length}`);
  const dirs = directionsOf(t);
  const cat = (j: number) => concat(Array.from({ length: dirs }, (_, d) => weights[1 + 3 * d + j]!));
  return [weights[0]!.slice(), cat(0), cat(1), cat(2), weights[weights.length - 2]!.slice(), weights[weights.length - 1]!.slice()];
}

/** The inverse of {@link packParams}: views into `params`, in the model's trainable-weight order. */
export function unpackParams(params: readonly Float32Array[], t: Topology): Float32Array[] {
  const dirs = directionsOf(t);
  const split = (a: Float32Array) => Array.from({ length: dirs }, (_, d) => a.subarray((d * a.length) / dirs, ((d + 1) * a.length) / dirs));
  const [E, W, R, b, Wd, bd] = params as LessonParams;
  const [Ws, Rs, bs] = [split(W), split(R), split(b)];
  return [E, ...Ws.flatMap((w, d) => [w, Rs[d]!, bs[d]!]), Wd, bd];
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Dense(1, sigmoid) over the features h [B·F]: the probabilities (in double precision). */
export function denseSigmoid(h: Float32Array, B: number, F: number, Wd: Float32Array, bd: Float32Array): Float64Array {
  const p = new Float64Array(B);
  for (let i = 0; i < B; i++) {
    let z = bd[0]!;
    for (let u = 0; u < F; u++) z += h[i * F + u]! * Wd[u]!;
    p[i] = 1 / (1 + Math.exp(-z));
  }
  return p;
}

/**
 * Dense(k, softmax) over the features h [B·F] (k = bd.length, Wd [F·k] row-major): the log-probabilities
 * [B·k] in double precision, each row's logits less their log-sum-exp (shifted by their maximum first, so
 * no exponential overflows and a probability far below float's range still has its logarithm).
 */
export function denseLogSoftmax(h: Float32Array, B: number, F: number, Wd: Float32Array, bd: Float32Array): Float64Array {
  const k = bd.length;
  const out = new Float64Array(B * k);
  for (let i = 0; i < B; i++) {
    const z = out.subarray(i * k, (i + 1) * k);
    for (let c = 0; c < k; c++) z[c] = bd[c]!;
    for (let u = 0; u < F; u++) {
      const x = h[i * F + u]!;
      const row = u * k;
      for (let c = 0; c < k; c++) z[c] += x * Wd[row + c]!;
    }
    let max = -Infinity;
    for (let c = 0; c < k; c++) max = Math.max(max, z[c]!);
    let sum = 0;
    for (let c = 0; c < k; c++) sum += Math.exp(z[c]! - max);
    const lse = max + Math.log(sum);
    for (let c = 0; c < k; c++) z[c] -= lse;
  }
  return out;
}
