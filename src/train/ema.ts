/**
 * An exponential moving average of the trained weights (Polyak averaging), computed as TensorFlow's
 * `tf.train.ExponentialMovingAverage(decay, num_updates)` computes it: after every training step,
 *
 *     average ← d · average + (1 − d) · weights,   d = min(momentum, (1 + t) / (10 + t)),
 *
 * with t the number of earlier updates and the average starting at the initial weights. The warm-up
 * (1 + t) / (10 + t) makes a short run average its last steps instead of its random start. Keras's
 * `optimizer(use_ema=True, ema_momentum=m)` is the same average without the warm-up (and its
 * `SwapEMAWeights` callback validates it, as `train` does).
 *
 * Plain Float32Arrays (nothing to dispose), so the oneDNN step and tfjs's trainOnBatch share it and a
 * checkpoint stores it as it stores the weights.
 */

/** One in-place pass average ← decay·average + (1 − decay)·value (rnn's addon has a vectorized one). */
export type AveragePass = (average: Float32Array, value: Float32Array, decay: number) => void;

/** The pass in JavaScript: in double precision, rounded to float32 per element. */
export const averagePass: AveragePass = (a, w, d) => {
  const k = 1 - d;
  for (let j = 0; j < a.length; j++) a[j] = d * a[j]! + k * w[j]!;
};

export class WeightAverage {
  private constructor(
    /** The largest decay, reached after the warm-up. */
    readonly momentum: number,
    /** The averages, one per weight, in the order given at creation. */
    readonly values: Float32Array[],
    /** Updates so far. */
    public updates: number,
    private readonly pass: AveragePass,
  ) {}

  /** An average starting at `weights` (copied), or continuing one that had `updates` updates. */
  static of(momentum: number, weights: readonly Float32Array[], updates = 0, pass: AveragePass = averagePass): WeightAverage {
    return new WeightAverage(
      momentum,
      weights.map((w) => w.slice()),
      updates,
      pass,
    );
  }

  /** The decay of the next update. */
  decay(): number {
    return Math.min(this.momentum, (1 + this.updates) / (10 + this.updates));
  }

  /** Moves the averages towards `weights` (the same shapes and order as at creation). */
  update(weights: readonly Float32Array[]): void {
    const d = this.decay();
    weights.forEach((w, i) => {
      const a = this.values[i]!;
      if (w.length !== a.length) throw new Error(`weight ${i} has ${w.length} values, its average ${a.length}`);
      this.pass(a, w, d);
    });
    this.updates++;
  }
}
