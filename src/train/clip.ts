/**
 * Gradient clipping by global norm, Keras's `Adam(global_clipnorm=c)` (and TensorFlow's
 * `tf.clip_by_global_norm`): before each update, every gradient is multiplied by
 *
 *     c / max(‖g‖, c),   ‖g‖ = √(Σ over all weights of Σ g²)  (the embedding's gradient as a dense matrix),
 *
 * so a step whose gradients are jointly longer than c keeps their direction at length c, and any other
 * step is unchanged. It keeps the rare huge gradients of recurrent layers (Pascanu et al., 2013) from
 * throwing a run off course.
 *
 * On tfjs's trainOnBatch this is {@link clippedAdam}; rnn's oneDNN step calls the addon's
 * `clipByGlobalNorm` with the `clipNorm` it reads from the same optimizer.
 */
import type { Optimizer } from '@tensorflow/tfjs';
import type { TF } from '../backend/index.js';

/** What tfjs's Adam takes: gradients by variable name, or as a list of named tensors. */
type Gradients = Parameters<InstanceType<TF['AdamOptimizer']>['applyGradients']>[0];

/** tfjs's Adam with an optional global-norm clip; the class name, weights and checkpoints are tfjs's `Adam`'s. */
export type ClippedAdam = Optimizer & {
  /** The global-norm clip (null: none). */
  readonly clipNorm: number | null;
};

/** tfjs's `tf.train.adam(lr)` whose updates first clip the gradients by global norm (`clipNorm` null: plain Adam). */
export function clippedAdam(tf: TF, lr: number, clipNorm: number | null): ClippedAdam {
  class Adam extends tf.AdamOptimizer {
    readonly clipNorm = clipNorm;

    override applyGradients(grads: Gradients): void {
      if (clipNorm === null) return super.applyGradients(grads);
      const list = Array.isArray(grads) ? grads : Object.keys(grads).map((name) => ({ name, tensor: grads[name]! }));
      const clipped = tf.tidy(() => {
        const norm = tf.sqrt(tf.addN(list.map((g) => tf.sum(tf.square(g.tensor)))));
        const scale = tf.div(clipNorm, tf.maximum(norm, clipNorm));
        return list.map((g) => tf.mul(g.tensor, scale));
      });
      super.applyGradients(list.map((g, i) => ({ name: g.name, tensor: clipped[i]! })));
      tf.dispose(clipped);
    }
  }
  // tf.train.adam's defaults: β1 0.9, β2 0.999, ε the backend's (1e-7).
  return new Adam(lr, 0.9, 0.999);
}
