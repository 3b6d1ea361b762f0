/**
 * The lesson model's (or the recipe's: bidirectional, pooled; src/kernels/lesson.ts) whole training step on
 * rnn's oneDNN kernels: embedding lookup → recurrent layer (oneDNN's whole-sequence kernels, pooling
 * included) → Dense(1, sigmoid) → binary cross-entropy (or, for k ≥ 3 classes, Dense(k, softmax) → sparse
 * categorical cross-entropy) → Adam, computing exactly what `model.trainOnBatch` computes with tfjs's Adam
 * (with class weights: what tfjs's `fit` computes with `classWeight`), without tfjs's per-op cost:
 *
 * - the embedding rows are gathered by the addon straight into the recurrent layer's time-major input, and
 *   the embedding gradient is a scatter-add of the input gradient into the used rows (tfjs reads the
 *   [B, T, D] input out of TensorFlow, then runs UnsortedSegmentSum);
 * - the dense layer and its loss run on the host, in double precision: the sigmoid and binary cross-entropy,
 *   or the softmax and sparse categorical cross-entropy from the logits by log-sum-exp, each with the
 *   gradient tfjs's clip of probabilities to [ε, 1 − ε] gives;
 * - Adam is one pass per parameter tensor in the addon (tfjs runs ~12 ops per tensor, 1M elements for the
 *   embedding), with tfjs's float32 formula and bias correction, after the optimizer's global-norm clip when
 *   it has one (`clippedAdam` in src/train/clip.ts: one pass in the addon, the norm summed in double precision).
 *
 * The parameters and Adam's moments live here, in Float32Arrays, while an epoch runs; {@link OnednnStep.syncWeights}
 * writes them into the tfjs model and {@link OnednnStep.syncOptimizer} into its optimizer (before validation,
 * checkpoints and saving), under the names tfjs's Adam uses, so checkpoints and resumed runs do not depend on
 * which step produced them.
 */
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import type { TF } from '../backend/index.js';
import { SequenceCache, type OnednnAddon } from '../kernels/index.js';
import { denseLogSoftmax, denseSigmoid, packParams, unpackParams, type LessonParams, type Topology } from '../kernels/lesson.js';
import { BINARY_CLASSES, classesOf, topologyOf, setTrainableWeights } from '../models/index.js';
import type { CellType } from '../cells.js';
import { LOSS_EPSILON } from './loss.js';
import type { Stepper, StepResult } from './stepper.js';
import { ONE_RATE, type LayerRates } from './options.js';

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

/** tfjs-layers' epsilon(): BCE clips probabilities to [ε, 1 − ε]. */
const BCE_EPSILON = LOSS_EPSILON;
const LOG_EPSILON = Math.log(LOSS_EPSILON);
const LOG_ONE_MINUS_EPSILON = Math.log(1 - LOSS_EPSILON);

/** The loss a model's head is trained with: binary cross-entropy for Dense(1, sigmoid), sparse categorical cross-entropy for Dense(k, softmax). */
export function lossFor(classes: number): 'binaryCrossentropy' | 'sparseCategoricalCrossentropy' {
  return classes === BINARY_CLASSES ? 'binaryCrossentropy' : 'sparseCategoricalCrossentropy';
}

/**
 * Whether `model` is what {@link OnednnStep} trains: a model of a {@link topologyOf} topology compiled with Adam
 * and its head's loss ({@link lossFor}: binary cross-entropy for Dense(1, sigmoid), sparse categorical
 * cross-entropy for Dense(k, softmax)).
 */
export function onednnTrainable(model: LayersModel, cell: CellType): boolean {
  const opt = model.optimizer as unknown as { getClassName?(): string } | undefined;
  const classes = classesOf(model);
  return (
    classes !== undefined && model.loss === lossFor(classes) && opt?.getClassName?.() === 'Adam' && topologyOf(model, cell) !== undefined
  );
}

export class OnednnStep implements Stepper {
  readonly kind = 'onednn';
  readonly trainsInModel = false;
  /** Parameters packed for the addon (src/kernels/lesson.ts): embeddings, kernel, recurrent kernel, bias (both directions each), dense kernel, dense bias. */
  private readonly params: LessonParams;
  private readonly grads: Float32Array[];
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private readonly sequences: SequenceCache;
  private readonly D: number;
  private readonly U: number;
  /** Features the dense layer reads (directions × units). */
  private readonly F: number;
  /** Classes of the head: 2 (Dense(1, sigmoid)) or k ≥ 3 (Dense(k, softmax)). */
  readonly classes: number;
  private iterations: number;
  private accBeta1: number;
  private accBeta2: number;
  /** Adam's learning rate (the one of the last step). */
  private learningRate: number;

  private constructor(
    private readonly tf: TF,
    private readonly addon: OnednnAddon,
    private readonly cell: CellType,
    private readonly maxlen: number,
    private readonly model: LayersModel,
    private readonly adam: AdamLike,
    private readonly topology: Topology,
    moments: Float32Array[] | undefined,
    /** Keras's class_weight: each review's loss times its class's weight (undefined: none). */
    private readonly classWeight: Float64Array | undefined,
  ) {
    const vars = model.trainableWeights;
    const pack = (arrays: Float32Array[]) => packParams(arrays, topology);
    this.params = pack(vars.map((w) => w.read().dataSync() as Float32Array));
    this.grads = this.params.map((p) => new Float32Array(p.length));
    this.m = moments ? pack(moments.slice(0, vars.length)) : this.params.map((p) => new Float32Array(p.length));
    this.v = moments ? pack(moments.slice(vars.length)) : this.params.map((p) => new Float32Array(p.length));
    this.D = vars[1]!.shape[0] as number;
    this.U = vars[2]!.shape[0] as number;
    const outputs = this.params[5].length;
    this.classes = outputs === 1 ? BINARY_CLASSES : outputs;
    this.F = this.params[4].length / outputs;
    this.iterations = adam.iterations;
    // tfjs keeps β^(t) as float32 variables, multiplied by β after every step (setWeights: β^(iterations+1)).
    this.accBeta1 = Math.fround(Math.pow(Math.fround(adam.beta1), this.iterations + 1));
    this.accBeta2 = Math.fround(Math.pow(Math.fround(adam.beta2), this.iterations + 1));
    this.learningRate = adam.learningRate;
    this.sequences = new SequenceCache(addon, 4); // the batch size, the last short batch
  }

  /**
   * Takes the model's weights and its Adam's state (moments, iterations) as they are now; `model` must be
   * {@link onednnTrainable}. `classWeight` (one weight per class, Keras's `class_weight`) multiplies each
   * review's loss by its class's weight, the batch's loss being their mean, as tfjs's `fit` computes it.
   */
  static async create(
    tf: TF,
    addon: OnednnAddon,
    cell: CellType,
    maxlen: number,
    model: LayersModel,
    classWeight?: readonly number[],
  ): Promise<OnednnStep> {
    if (!onednnTrainable(model, cell))
      throw new Error(
        `the oneDNN step trains the ${cell} lesson model compiled with Adam and binary cross-entropy (or Dense(k, softmax) and sparse categorical cross-entropy), not this model`,
      );
    const classes = classesOf(model)!;
    if (classWeight && classWeight.length !== classes)
      throw new Error(`${classWeight.length} class weights were given for a model of ${classes} classes`);
    const adam = model.optimizer as unknown as AdamLike;
    const arrays = await adamMoments(model, adam);
    const weights = classWeight && Float64Array.from(classWeight);
    return new OnednnStep(tf, addon, cell, maxlen, model, adam, topologyOf(model, cell)!, arrays, weights);
  }

  /**
   * One training step at rate `lr` (each layer group at `lr` times its rate; a rate of 0 leaves the group and its
   * moments as they are) on `ids` [B·maxlen] and labels `y` [B]; returns the batch's loss and accuracy before the update.
   */
  async step(ids: Int32Array, y: Float32Array, lr: number, rates: LayerRates = ONE_RATE): Promise<StepResult> {
    return this.stepNow(ids, y, lr, rates);
  }

  /** {@link step}, synchronously (for benchmarks). */
  stepNow(ids: Int32Array, y: Float32Array, lr: number, rates: LayerRates = ONE_RATE): StepResult {
    this.learningRate = lr;
    const { loss, acc } = this.gradients(ids, y);
    const gradNorm = typeof this.adam.clipNorm === 'number' ? this.addon.clipByGlobalNorm(this.grads, this.adam.clipNorm) : undefined;
    const c1 = Math.fround(1 - this.accBeta1);
    const c2 = Math.fround(1 - this.accBeta2);
    const a = this.adam;
    // Packed order: embeddings, kernel, recurrent kernel, bias (the recurrent layer), then the dense kernel and bias (the head).
    this.params.forEach((p, i) => {
      const rate = i === 0 ? rates.embedding : i < 4 ? rates.recurrent : rates.head;
      if (rate === 0) return;
      this.addon.adam(p, this.grads[i]!, this.m[i]!, this.v[i]!, this.learningRate * rate, a.beta1, a.beta2, a.epsilon, c1, c2);
    });
    this.accBeta1 = Math.fround(this.accBeta1 * Math.fround(a.beta1));
    this.accBeta2 = Math.fround(this.accBeta2 * Math.fround(a.beta2));
    this.iterations++;
    return { loss, acc, ...(gradNorm !== undefined && { gradNorm }) };
  }

  /**
   * The forward and backward of a step on `ids` [B·maxlen] and labels `y` [B] (0/1, or class indices 0..k−1),
   * without the update: the batch's mean loss (weighted by the class weights, if any) and accuracy, and the
   * gradients of the loss (in the model's trainable-weight order; views of the step's own arrays, valid until
   * the next call).
   */
  gradients(ids: Int32Array, y: Float32Array): { loss: number; acc: number; grads: Float32Array[] } {
    const B = y.length;
    const [E, W, R, b] = this.params;
    const gE = this.grads[0]!;
    const s = this.sequences.get(this.cell, this.maxlen, B, this.D, this.U, this.topology);
    const h = s.forwardIds(ids, E, W, R, b, true);
    const generation = s.generation;
    const { loss, correct, dh } = this.classes === BINARY_CLASSES ? this.sigmoidHead(h, y) : this.softmaxHead(h, y);
    const [gW, gR, gb] = s.backwardEmbedding(dh, generation, gE);
    this.grads[1] = gW;
    this.grads[2] = gR;
    this.grads[3] = gb;
    return { loss: loss / B, acc: correct / B, grads: unpackParams(this.grads, this.topology) };
  }

  /**
   * Dense(1, sigmoid) and binary cross-entropy on the features `h` [B·F] (tfjs-layers: probabilities clipped to
   * [ε, 1 − ε]; the clip passes no gradient outside that range): the summed loss, the right answers, the dense
   * layer's gradients (into the step's arrays) and the features' gradient.
   */
  private sigmoidHead(h: Float32Array, y: Float32Array): { loss: number; correct: number; dh: Float32Array } {
    const B = y.length;
    const F = this.F;
    const [, , , , Wd, bd] = this.params;
    const [, , , , gWd, gbd] = this.grads as LessonParams;
    const cw = this.classWeight;
    const probs = denseSigmoid(h, B, F, Wd, bd);
    const dz = new Float32Array(B);
    let loss = 0;
    let correct = 0;
    for (let i = 0; i < B; i++) {
      const p = probs[i]!;
      const pc = Math.min(Math.max(p, BCE_EPSILON), 1 - BCE_EPSILON);
      if (cw) {
        // tfjs's fit with classWeight: each review's loss times its class's weight, then the mean.
        const w = cw[y[i]!]!;
        loss -= w * (y[i]! * Math.log(pc) + (1 - y[i]!) * Math.log(1 - pc));
        if ((p > 0.5 ? 1 : 0) === y[i]) correct++;
        dz[i] = p >= BCE_EPSILON && p <= 1 - BCE_EPSILON ? (w * (p - y[i]!)) / B : 0;
        continue;
      }
      loss -= y[i]! * Math.log(pc) + (1 - y[i]!) * Math.log(1 - pc);
      if ((p > 0.5 ? 1 : 0) === y[i]) correct++;
      dz[i] = p >= BCE_EPSILON && p <= 1 - BCE_EPSILON ? (p - y[i]!) / B : 0;
    }
    gbd[0] = 0;
    gWd.fill(0);
    const dh = new Float32Array(B * F);
    for (let i = 0; i < B; i++) {
      gbd[0] += dz[i]!;
      for (let u = 0; u < F; u++) {
        gWd[u] += h[i * F + u]! * dz[i]!;
        dh[i * F + u] = dz[i]! * Wd[u]!;
      }
    }
    return { loss, correct, dh };
  }

  /**
   * Dense(k, softmax) and sparse categorical cross-entropy on the features `h` [B·F], from the logits by
   * log-sum-exp: a review's loss is −log p(y), bounded as tfjs-layers' clip of probabilities to [ε, 1 − ε]
   * bounds it, and its logits' gradient p − onehot(y), none when p(y) is outside that range (tfjs's clip then
   * passes none). Returns the summed loss, the right answers (the most probable class is the label), the dense
   * layer's gradients (into the step's arrays) and the features' gradient.
   */
  private softmaxHead(h: Float32Array, y: Float32Array): { loss: number; correct: number; dh: Float32Array } {
    const B = y.length;
    const F = this.F;
    const k = this.classes;
    const [, , , , Wd, bd] = this.params;
    const [, , , , gWd, gbd] = this.grads as LessonParams;
    const cw = this.classWeight;
    const logp = denseLogSoftmax(h, B, F, Wd, bd);
    const dz = new Float64Array(B * k);
    let loss = 0;
    let correct = 0;
    for (let i = 0; i < B; i++) {
      const label = y[i]!;
      if (!Number.isInteger(label) || label < 0 || label >= k)
        throw new Error(`label ${label} is not a class index of a model of ${k} classes`);
      const row = logp.subarray(i * k, (i + 1) * k);
      const w = cw ? cw[label]! : 1;
      loss -= w * Math.min(Math.max(row[label]!, LOG_EPSILON), LOG_ONE_MINUS_EPSILON);
      let top = 0;
      for (let c = 1; c < k; c++) if (row[c]! > row[top]!) top = c;
      if (top === label) correct++;
      const py = Math.exp(row[label]!);
      if (py < LOSS_EPSILON || py > 1 - LOSS_EPSILON) continue;
      const scale = w / B;
      for (let c = 0; c < k; c++) dz[i * k + c] = scale * (Math.exp(row[c]!) - (c === label ? 1 : 0));
    }
    // The dense layer's backward, summed in double precision: dWd = hᵀ·dz, dbd = Σ dz, dh = dz·Wdᵀ.
    const sW = new Float64Array(F * k);
    const sb = new Float64Array(k);
    const dh = new Float32Array(B * F);
    for (let i = 0; i < B; i++) {
      const d = dz.subarray(i * k, (i + 1) * k);
      for (let c = 0; c < k; c++) sb[c] += d[c]!;
      for (let u = 0; u < F; u++) {
        const x = h[i * F + u]!;
        const at = u * k;
        let g = 0;
        for (let c = 0; c < k; c++) {
          sW[at + c] += x * d[c]!;
          g += d[c]! * Wd[at + c]!;
        }
        dh[i * F + u] = g;
      }
    }
    gWd.set(sW);
    gbd.set(sb);
    return { loss, correct, dh };
  }

  /** The parameters as they are now, in the model's trainable-weight order (views of the step's own arrays: read, do not keep). */
  weights(): Float32Array[] {
    return unpackParams(this.params, this.topology);
  }

  /** Writes the parameters into the model (before validation and saving). */
  syncWeights(): void {
    setTrainableWeights(this.tf, this.model, this.weights());
  }

  /** Writes Adam's moments, step count and learning rate into the model's tfjs optimizer (before a checkpoint). */
  async syncOptimizer(): Promise<void> {
    await setAdamState(this.tf, this.model, this.adam, {
      iterations: this.iterations,
      learningRate: this.learningRate,
      m: unpackParams(this.m, this.topology),
      v: unpackParams(this.v, this.topology),
    });
  }
}

/**
 * The moments tfjs's Adam `adam` holds for `model`'s trainable weights (first moments, then second, in the
 * weights' order; copies), or undefined before its first step.
 */
export async function adamMoments(model: LayersModel, adam: AdamLike): Promise<Float32Array[] | undefined> {
  const saved = await adam.getWeights();
  const moments = saved.filter((w) => w.name !== 'iter');
  const n = model.trainableWeights.length;
  const arrays = moments.length === 2 * n ? moments.map((w) => (w.tensor.dataSync() as Float32Array).slice()) : undefined;
  saved.filter((w) => w.name === 'iter').forEach((w) => w.tensor.dispose());
  return arrays;
}

/** Writes Adam's state (moments in the model's trainable-weight order, step count, learning rate) into tfjs's Adam `adam`. */
export async function setAdamState(
  tf: TF,
  model: LayersModel,
  adam: AdamLike,
  state: { iterations: number; learningRate: number; m: readonly Float32Array[]; v: readonly Float32Array[] },
): Promise<void> {
  const shapes = model.trainableWeights.map((w) => w.shape as number[]);
  // the names tfjs's Adam keeps the moments under: `<variable name>/m`, `<variable name>/v`
  const names = model.trainableWeights.map((w) => (w as unknown as { val?: { name: string } }).val?.name ?? w.name);
  const named: NamedTensor[] = [
    { name: 'iter', tensor: tf.scalar(state.iterations, 'int32') },
    ...state.m.map((m, i) => ({ name: `${names[i]}/m`, tensor: tf.tensor(m.slice(), shapes[i]) })),
    ...state.v.map((v, i) => ({ name: `${names[i]}/v`, tensor: tf.tensor(v.slice(), shapes[i]) })),
  ];
  // tfjs's setWeights replaces its moment variables without disposing the old ones.
  const internal = adam as unknown as {
    accumulatedFirstMoment?: Array<{ variable: Tensor }>;
    accumulatedSecondMoment?: Array<{ variable: Tensor }>;
  };
  for (const list of [internal.accumulatedFirstMoment, internal.accumulatedSecondMoment]) list?.forEach((x) => x.variable.dispose());
  adam.learningRate = state.learningRate;
  await adam.setWeights(named);
  tf.dispose(named.map((w) => w.tensor));
}
