/**
 * The fused op on rnn's oneDNN kernels: the whole sequence in one call to the addon each way, on any backend,
 * returning the last state or every step's output (the addon's `sequence` pooling).
 */
import type { Tensor, Tensor1D, Tensor2D, Tensor3D } from '@tensorflow/tfjs';
import type { TF } from '../../backend/index.js';
import { SequenceCache, type OnednnAddon, type OnednnSequence } from '../../kernels/index.js';
import { LESSON_TOPOLOGY, SEQUENCE_OUTPUTS } from '../../kernels/lesson.js';
import type { CellType } from '../../cells.js';
import type { Op, OpOptions } from './op.js';

/** Sequences kept per layer (one per input shape: training batches, the last short batch, validation). */
const MAX_SEQUENCES = 6;

/**
 * The whole sequence in one call to rnn's oneDNN addon, forward and backward. Data crosses as Float32Arrays
 * (x and dx are 6.5 MB per batch of 64 × 256 × 100; reading x out of TensorFlow takes ~3 ms here, which is
 * why the lesson model's training and prediction skip this op: src/train/onednn-step.ts, src/predict/onednn.ts,
 * and the language model's training: src/train/lm-step.ts). With no gradient tape running (predict, evaluate,
 * validation) the inference primitive runs and nothing is saved.
 */
export function onednnOp(tf: TF, addon: OnednnAddon, cell: CellType, o: OpOptions): Op {
  const cache = new SequenceCache(addon, MAX_SEQUENCES);
  const topology = o.sequences ? SEQUENCE_OUTPUTS : LESSON_TOPOLOGY;
  const sequence = (x: Tensor3D, U: number): OnednnSequence => cache.get(cell, x.shape[1], x.shape[0], x.shape[2], U, topology);
  const f32 = (t: Tensor): Float32Array => t.dataSync() as Float32Array;
  const value = (h: Float32Array, x: Tensor3D, U: number): Tensor2D | Tensor3D =>
    o.sequences ? tf.tensor3d(h, [x.shape[0], x.shape[1], U]) : tf.tensor2d(h, [x.shape[0], U]);
  const train = tf.customGrad((...args: unknown[]) => {
    const [x, W, R, b] = args as [Tensor3D, Tensor2D, Tensor2D, Tensor1D];
    const U = R.shape[0];
    const s = sequence(x, U);
    const h = s.forward(f32(x), f32(W), f32(R), f32(b), true);
    const generation = s.generation;
    return {
      value: value(h, x, U),
      gradFunc: (dy: Tensor) => {
        const [dx, dW, dR, db] = s.backward(f32(dy), generation);
        return [tf.tensor3d(dx, x.shape), tf.tensor2d(dW, W.shape), tf.tensor2d(dR, R.shape), tf.tensor1d(db)];
      },
    };
  }) as unknown as Op;
  return (x, W, R, b) => {
    if (tf.engine().isTapeOn()) return train(x, W, R, b);
    const U = R.shape[0];
    return value(sequence(x, U).forward(f32(x), f32(W), f32(R), f32(b), false), x, U);
  };
}
