/**
 * `rnn pretrain`'s training step with the embedding and recurrent layer on rnn's oneDNN kernels, computing what
 * the tfjs step (src/train/pretrain.ts) computes, without tfjs's per-op cost on the large parameters:
 *
 * - the embedding rows are gathered by the addon straight into the recurrent layer's input, every step's output
 *   comes back ([B·T·U], the addon's `sequence` pooling), rows in their leading padding sharing one trajectory as
 *   the classifier's do, and the embedding gradient is a scatter-add into the used rows;
 * - the output layer and its loss (the sampled or full softmax of src/train/pretrain.ts, the same functions) run
 *   as tfjs ops, differentiated by tfjs with respect to the outputs, the output kernel and bias only;
 * - the global-norm clip and Adam are one pass per parameter tensor in the addon (src/train/addon-adam.ts; tfjs
 *   runs ~12 ops per tensor over the 1M-element embedding and the 1.28M-element output kernel).
 *
 * The parameters and Adam's moments live here while an epoch runs; {@link LmOnednnStep.syncWeights} writes them into
 * the model and {@link LmOnednnStep.syncOptimizer} into its tfjs Adam (before the held-out perplexity, a
 * checkpoint, or the end), so checkpoints and resumed runs do not depend on which step produced them.
 */
import type { LayersModel, Scalar, Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs';
import type { TF } from '../backend/index.js';
import { SequenceCache, type OnednnAddon } from '../kernels/index.js';
import { LESSON_TOPOLOGY, SEQUENCE_OUTPUTS } from '../kernels/lesson.js';
import { setTrainableWeights } from '../models/index.js';
import type { CellType } from '../cells.js';
import { AddonAdam, type AdamLike } from './addon-adam.js';

/** The output layer's loss (mean over the predicted positions) of the features H [N, U] it is given, the kernel [U, V] and bias [V]. */
export type OutputLoss = (H: Tensor2D, kernel: Tensor2D, bias: Tensor1D) => Scalar;

export class LmOnednnStep {
  private readonly sequences: SequenceCache;
  private readonly D: number;
  private readonly U: number;
  private readonly V: number;

  private constructor(
    private readonly tf: TF,
    private readonly addon: OnednnAddon,
    private readonly cell: CellType,
    private readonly model: LayersModel,
    /** Embeddings [V·D], kernel, recurrent kernel, bias (tfjs layout), output kernel [U·V], output bias [V] (the model's order); their gradients and Adam's state. */
    private readonly state: AddonAdam,
  ) {
    const vars = model.trainableWeights;
    [this.V, this.D] = vars[0]!.shape as [number, number];
    this.U = vars[2]!.shape[0] as number;
    this.sequences = new SequenceCache(addon, 2); // the batch size, the last short batch
  }

  /** Takes a language model's weights (src/models/lm.ts) and its tfjs Adam's state as they are now. */
  static async create(tf: TF, addon: OnednnAddon, cell: CellType, model: LayersModel, adam: AdamLike): Promise<LmOnednnStep> {
    if (model.trainableWeights.length !== 6) throw new Error('the oneDNN language-model step trains Embedding → recurrent layer → Dense');
    return new LmOnednnStep(tf, addon, cell, model, await AddonAdam.of(model, adam, LESSON_TOPOLOGY));
  }

  /**
   * One Adam step at rate `lr` on the inputs `x` [B·T] and the loss `loss` gives the outputs at the predicted
   * positions (`keep`: their indices among the B·T, all without it); returns the loss before the update.
   */
  step(x: Int32Array, B: number, keep: Int32Array | undefined, loss: OutputLoss, lr: number): number {
    const tf = this.tf;
    const T = x.length / B;
    const [E, W, R, b, K, bo] = this.state.params;
    const grads = this.state.grads;
    const s = this.sequences.get(this.cell, T, B, this.D, this.U, SEQUENCE_OUTPUTS);
    const h = s.forwardIds(x, E, W, R, b, true);
    const generation = s.generation;
    // Read out inside the tidy, not returned from it: tf.tidy walks what its function returns, element by element.
    let value = 0;
    let dh: Float32Array = new Float32Array(0);
    tf.tidy(() => {
      const kernel = tf.tensor2d(K, [this.U, this.V]);
      const bias = tf.tensor1d(bo);
      const H = tf.tensor2d(h, [B * T, this.U]);
      const f = (Ht: Tensor2D, k: Tensor2D, bb: Tensor1D): Scalar => loss(keep ? tf.gather(Ht, tf.tensor1d(keep, 'int32')) : Ht, k, bb);
      const out = tf.valueAndGrads(f as (...t: Tensor[]) => Scalar)([H, kernel, bias]);
      const [gH, gK, gb] = out.grads.map((g) => g.dataSync() as Float32Array);
      grads[4]!.set(gK!);
      grads[5]!.set(gb!);
      dh = gH!;
      value = out.value.dataSync()[0]!;
    });
    const [gW, gR, gb] = s.backwardEmbedding(dh, generation, grads[0]!);
    grads[1] = gW;
    grads[2] = gR;
    grads[3] = gb;
    this.state.update(this.addon, lr);
    return value;
  }

  /** Writes the parameters into the model (before the held-out perplexity, a checkpoint, or the end). */
  syncWeights(): void {
    setTrainableWeights(this.tf, this.model, this.state.weights());
  }

  /** Writes Adam's moments, step count and learning rate into the model's tfjs optimizer (before a checkpoint). */
  async syncOptimizer(): Promise<void> {
    await this.state.syncOptimizer(this.tf, this.model);
  }
}
