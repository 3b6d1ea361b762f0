/** The tfjs step: `model.trainOnBatch` (with class weights: `model.fit` on the one batch), whatever the model and its kernels. */
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import type { TF } from '../backend/index.js';
import type { Stepper, StepResult } from './stepper.js';
import { oneRate, type LayerRates } from './options.js';

export class TfjsStep implements Stepper {
  readonly kind = 'tfjs';
  readonly trainsInModel = true;

  /**
   * `classWeight` (one weight per class, Keras's `class_weight`): each review's loss is multiplied by its
   * class's weight, as tfjs's `fit` does with `classWeight` (a step is then `fit` on the batch); without it a
   * step is `trainOnBatch`.
   */
  constructor(
    private readonly tf: TF,
    private readonly model: LayersModel,
    private readonly maxlen: number,
    private readonly classWeight?: readonly number[],
  ) {}

  async step(ids: Int32Array, labels: Float32Array, lr: number, rates?: LayerRates): Promise<StepResult> {
    if (rates && !oneRate(rates)) throw new Error('the tfjs step trains every layer at one rate');
    (this.model.optimizer as unknown as { learningRate: number }).learningRate = lr;
    const xs = this.tf.tensor2d(ids, [labels.length, this.maxlen], 'int32');
    const ys = this.tf.tensor2d(labels, [labels.length, 1]);
    try {
      if (this.classWeight) return await this.weightedStep(xs, ys, labels, this.classWeight);
      const [loss, acc] = (await this.model.trainOnBatch(xs, ys)) as [number, number];
      return { loss, acc };
    } finally {
      xs.dispose();
      ys.dispose();
    }
  }

  /**
   * One step with class weights: tfjs's `trainOnBatch` takes none, so the batch goes through `fit` (one epoch
   * of one batch, in order, never yielding), which turns `classWeight` into one weight per review and runs the
   * train function trainOnBatch runs with them: each review's loss times its weight, then the mean.
   */
  private async weightedStep(xs: Tensor, ys: Tensor, labels: Float32Array, classWeight: readonly number[]): Promise<StepResult> {
    for (const y of labels)
      if (classWeight[y] === undefined) throw new Error(`label ${y} has no class weight (${classWeight.length} were given)`);
    const h = await this.model.fit(xs, ys, {
      batchSize: labels.length,
      epochs: 1,
      shuffle: false,
      verbose: 0,
      yieldEvery: 'never',
      classWeight: Object.fromEntries(classWeight.map((w, c) => [c, w])),
    });
    return { loss: h.history.loss![0] as number, acc: h.history.acc![0] as number };
  }

  weights(): Float32Array[] {
    return this.model.trainableWeights.map((w) => w.read().dataSync() as Float32Array);
  }

  syncWeights(): void {}

  async syncOptimizer(): Promise<void> {}
}
