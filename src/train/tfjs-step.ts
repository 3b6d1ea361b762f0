/** The tfjs step: `model.trainOnBatch`, whatever the model and its kernels. */
import type { LayersModel } from '@tensorflow/tfjs';
import type { TF } from '../backend/index.js';
import type { Stepper, StepResult } from './stepper.js';

export class TfjsStep implements Stepper {
  readonly kind = 'tfjs';
  readonly trainsInModel = true;

  constructor(
    private readonly tf: TF,
    private readonly model: LayersModel,
    private readonly maxlen: number,
  ) {}

  async step(ids: Int32Array, labels: Float32Array, lr: number): Promise<StepResult> {
    (this.model.optimizer as unknown as { learningRate: number }).learningRate = lr;
    const xs = this.tf.tensor2d(ids, [labels.length, this.maxlen], 'int32');
    const ys = this.tf.tensor2d(labels, [labels.length, 1]);
    try {
      const [loss, acc] = (await this.model.trainOnBatch(xs, ys)) as [number, number];
      return { loss, acc };
    } finally {
      xs.dispose();
      ys.dispose();
    }
  }

  weights(): Float32Array[] {
    return this.model.trainableWeights.map((w) => w.read().dataSync() as Float32Array);
  }

  syncWeights(): void {}

  async syncOptimizer(): Promise<void> {}
}
