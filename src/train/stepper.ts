/**
 * How one batch is trained, behind one small interface so that the epoch loop (src/train/index.ts) owns
 * epochs, validation, checkpoints and callbacks once for both: TfjsStep (tfjs's `trainOnBatch`,
 * src/train/tfjs-step.ts) and OnednnStep (the lesson model's whole step on rnn's oneDNN kernels,
 * src/train/onednn-step.ts).
 */

import type { LayerRates } from './options.js';

/** Loss and accuracy of one training batch (before the update, as trainOnBatch reports them). */
export interface StepResult {
  loss: number;
  acc: number;
  /** The joint L2 norm of the step's gradients before the clip (only when the optimizer clips; oneDNN step only). */
  gradNorm?: number;
}

export interface Stepper {
  /** What runs the step. */
  readonly kind: 'onednn' | 'tfjs';
  /**
   * True when the trained weights are the model's own variables (tfjs); false when the stepper keeps them
   * and writes them into the model on {@link syncWeights} (oneDNN).
   */
  readonly trainsInModel: boolean;
  /**
   * One gradient step at learning rate `lr` on ids [B·maxlen] and labels [B] (0/1 for a binary model, else class
   * indices 0..k−1), each layer group at `lr` times its rate (default: all 1; only the oneDNN step takes others).
   */
  step(ids: Int32Array, labels: Float32Array, lr: number, rates?: LayerRates): Promise<StepResult>;
  /** The trainable weights as they are now, in model.trainableWeights order (read, do not keep). */
  weights(): Float32Array[];
  /** Writes the trained weights into the model (before validation, checkpoints and saving). */
  syncWeights(): void;
  /** Writes the optimizer's state into the model's tfjs optimizer (before a checkpoint). */
  syncOptimizer(): Promise<void>;
}
