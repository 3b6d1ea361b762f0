/**
 * The two heads' losses as tfjs-layers (and Keras) compute them, on plain arrays: what validation reports for
 * a model of k ≥ 3 classes (binary models use src/eval's `lossAndAccuracy`), and Keras's `balanced` class
 * weights. The oneDNN step (onednn-step.ts) computes the same losses from the dense layer's logits.
 */
import { argmax } from '../predict/encode.js';

/** tfjs-layers' epsilon(): the cross-entropies clip probabilities to [ε, 1 − ε]. */
export const LOSS_EPSILON = 1e-7;

/**
 * Keras's (and tfjs-layers') sparse categorical cross-entropy and sparse categorical accuracy of probabilities
 * [n·k] (row-major) against class indices [n]: each row clipped to [ε, 1 − ε], divided by its sum, clipped again,
 * −log of the true class's; a row is right when its most probable class (the first of equal ones) is the label.
 */
export function sparseLossAndAccuracy(probs: Float32Array, labels: ArrayLike<number>, classes: number): { loss: number; acc: number } {
  const n = labels.length;
  if (probs.length !== n * classes) throw new Error(`expected ${n} × ${classes} probabilities, got ${probs.length}`);
  const clip = (p: number): number => Math.min(1 - LOSS_EPSILON, Math.max(LOSS_EPSILON, p));
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const row = probs.subarray(i * classes, (i + 1) * classes);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += clip(row[c]!);
    const y = labels[i]!;
    loss -= Math.log(clip(clip(row[y]!) / sum));
    if (argmax(row) === y) correct++;
  }
  return { loss: loss / n, acc: correct / n };
}
