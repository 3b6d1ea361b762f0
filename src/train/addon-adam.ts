/**
 * What a training step on rnn's oneDNN kernels keeps between steps (src/train/onednn-step.ts, the classifier's;
 * src/train/lm-step.ts, the language model's): the parameters, their gradients and tfjs's Adam state in
 * Float32Arrays, packed as the addon takes them (src/kernels/lesson.ts), and the update: the optimizer's
 * global-norm clip (src/train/clip.ts) and one pass of tfjs's Adam per parameter tensor in the addon, with
 * tfjs's float32 formula and bias correction. The state is taken from the model and its tfjs Adam, and written
 * back into them ({@link AddonAdam.syncOptimizer}) under the names tfjs's Adam uses, so checkpoints and resumed
 * runs do not depend on which step produced them.
 */
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import type { TF } from '../backend/index.js';
import type { OnednnAddon } from '../kernels/index.js';
import { packParams, unpackParams, type LessonParams, type Topology } from '../kernels/lesson.js';

/** A named tensor as tfjs optimizers take and return them. */
export interface NamedTensor {
  name: string;
  tensor: Tensor;
}

/** The slice of tfjs's AdamOptimizer used here. */
export interface AdamLike {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  iterations: number;
  /** The global-norm gradient clip of `clippedAdam` (absent or null: none). */
  clipNorm?: number | null;
  getWeights(): Promise<NamedTensor[]>;
  setWeights(w: NamedTensor[]): Promise<void>;
}

export class AddonAdam {
  /** The gradients of the last step, one array per parameter (a step writes them, {@link update} reads them). */
  readonly grads: Float32Array[];
  private iterations: number;
  // tfjs keeps β^(t) as float32 variables, multiplied by β after every step (setWeights: β^(iterations+1)).
  private accBeta1: number;
  private accBeta2: number;
  /** Adam's learning rate (the one of the last step). */
  private learningRate: number;

  private constructor(
    private readonly adam: AdamLike,
    private readonly topology: Topology,
    /** The parameters, packed: embeddings, kernel, recurrent kernel, bias, dense kernel, dense bias. */
    readonly params: LessonParams,
    private readonly m: Float32Array[],
    private readonly v: Float32Array[],
  ) {
    this.grads = params.map((p) => new Float32Array(p.length));
    this.iterations = adam.iterations;
    this.accBeta1 = Math.fround(Math.pow(Math.fround(adam.beta1), this.iterations + 1));
    this.accBeta2 = Math.fround(Math.pow(Math.fround(adam.beta2), this.iterations + 1));
    this.learningRate = adam.learningRate;
  }

  /** The model's trainable weights (of `topology`) and the state of its tfjs Adam `adam` as they are now (copies). */
  static async of(model: LayersModel, adam: AdamLike, topology: Topology): Promise<AddonAdam> {
    const vars = model.trainableWeights;
    const pack = (arrays: Float32Array[]) => packParams(arrays, topology);
    const params = pack(vars.map((w) => w.read().dataSync() as Float32Array));
    const saved = await adam.getWeights();
    const moments = saved.filter((w) => w.name !== 'iter');
    const arrays = moments.length === 2 * vars.length ? moments.map((w) => (w.tensor.dataSync() as Float32Array).slice()) : undefined;
    saved.filter((w) => w.name === 'iter').forEach((w) => w.tensor.dispose());
    const zeros = () => params.map((p) => new Float32Array(p.length));
    return new AddonAdam(
      adam,
      topology,
      params,
      arrays ? pack(arrays.slice(0, vars.length)) : zeros(),
      arrays ? pack(arrays.slice(vars.length)) : zeros(),
    );
  }

  /**
   * The clip (when the optimizer has one) of {@link grads}, then Adam at `lr` times `rateOf(i)` for parameter i
   * (a rate of 0 leaves the parameter and its moments as they are); returns the gradients' joint norm before the
   * clip, when there is one.
   */
  update(addon: OnednnAddon, lr: number, rateOf: (i: number) => number = () => 1): number | undefined {
    const a = this.adam;
    this.learningRate = lr;
    const norm = typeof a.clipNorm === 'number' ? addon.clipByGlobalNorm(this.grads, a.clipNorm) : undefined;
    const c1 = Math.fround(1 - this.accBeta1);
    const c2 = Math.fround(1 - this.accBeta2);
    this.params.forEach((p, i) => {
      const rate = rateOf(i);
      if (rate !== 0) addon.adam(p, this.grads[i]!, this.m[i]!, this.v[i]!, lr * rate, a.beta1, a.beta2, a.epsilon, c1, c2);
    });
    this.accBeta1 = Math.fround(this.accBeta1 * Math.fround(a.beta1));
    this.accBeta2 = Math.fround(this.accBeta2 * Math.fround(a.beta2));
    this.iterations++;
    return norm;
  }

  /** The parameters in the model's trainable-weight order (views: read, do not keep). */
  weights(): Float32Array[] {
    return unpackParams(this.params, this.topology);
  }

  /** Writes Adam's moments, step count and learning rate into `model`'s tfjs Adam (before a checkpoint). */
  async syncOptimizer(tf: TF, model: LayersModel): Promise<void> {
    const shapes = model.trainableWeights.map((w) => w.shape as number[]);
    // the names tfjs's Adam keeps the moments under: `<variable name>/m`, `<variable name>/v`
    const names = model.trainableWeights.map((w) => (w as unknown as { val?: { name: string } }).val?.name ?? w.name);
    const named: NamedTensor[] = [
      { name: 'iter', tensor: tf.scalar(this.iterations, 'int32') },
      ...unpackParams(this.m, this.topology).map((m, i) => ({ name: `${names[i]}/m`, tensor: tf.tensor(m.slice(), shapes[i]) })),
      ...unpackParams(this.v, this.topology).map((v, i) => ({ name: `${names[i]}/v`, tensor: tf.tensor(v.slice(), shapes[i]) })),
    ];
    // tfjs's setWeights replaces its moment variables without disposing the old ones.
    const internal = this.adam as unknown as {
      accumulatedFirstMoment?: Array<{ variable: Tensor }>;
      accumulatedSecondMoment?: Array<{ variable: Tensor }>;
    };
    for (const list of [internal.accumulatedFirstMoment, internal.accumulatedSecondMoment]) list?.forEach((x) => x.variable.dispose());
    this.adam.learningRate = this.learningRate;
    await this.adam.setWeights(named);
    tf.dispose(named.map((w) => w.tensor));
  }
}
