/**
 * tfjs Adam's state as plain arrays and back: what a checkpoint of `rnn train` and of `rnn pretrain` saves
 * (iterations, then each variable's first and second moments, under tfjs's own names) and restores.
 */
import type { Optimizer, Tensor } from '@tensorflow/tfjs';
import type { TF } from '../backend/index.js';
import { UserError } from '../errors.js';
import type { OptimizerWeight } from './types.js';

type NamedTensor = { name: string; tensor: Tensor };
type TfjsOptimizer = { getWeights(): Promise<NamedTensor[]>; setWeights(w: NamedTensor[]): Promise<void> };

/** The optimizer's state, copied out. */
export async function optimizerState(optimizer: Optimizer): Promise<OptimizerWeight[]> {
  return Promise.all(
    (await (optimizer as unknown as TfjsOptimizer).getWeights()).map(async (w) => {
      const data = (await w.tensor.data()).slice() as Float32Array | Int32Array;
      if (w.name === 'iter') w.tensor.dispose(); // a fresh scalar; the moments are the optimizer's own variables
      return { name: w.name, shape: w.tensor.shape, dtype: w.tensor.dtype as 'float32' | 'int32', data };
    }),
  );
}

/** Puts a saved state into the optimizer; a state of another model is a CHECKPOINT_INVALID naming why. */
export async function restoreOptimizer(tf: TF, optimizer: Optimizer, saved: readonly OptimizerWeight[], fix: string): Promise<void> {
  const named = saved.map((w) => ({ name: w.name, tensor: tf.tensor(w.data, w.shape, w.dtype) }));
  try {
    await (optimizer as unknown as TfjsOptimizer).setWeights(named);
  } catch (e) {
    // Adam's state of another model (names or shapes that are not this model's).
    throw new UserError(
      'CHECKPOINT_INVALID',
      `the checkpoint does not fit the model its options build: its optimizer state: ${(e as Error).message.split('\n')[0]}`,
      fix,
    );
  } finally {
    tf.dispose(named.map((w) => w.tensor));
  }
}
