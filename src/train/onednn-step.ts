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
import type { LayersModel } from '@tensorflow/tfjs';
import type { TF } from '../backend/index.js';
import { SequenceCache, type OnednnAddon } from '../kernels/index.js';
import { denseLogSoftmax, denseSigmoid, unpackParams, type LessonParams, type Topology } from '../kernels/lesson.js';
import { BINARY_CLASSES, classesOf, topologyOf, setTrainableWeights } from '../models/index.js';
import type { CellType } from '../cells.js';
import { LOSS_EPSILON } from './loss.js';
import type { Stepper, StepResult } from './stepper.js';
import { ONE_RATE, type LayerRates } from './options.js';
import { AddonAdam, type AdamLike } from './addon-adam.js';

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
  /** Parameters packed for the addon (src/kernels/lesson.ts): embeddings, kernel, recurrent kernel, bias (both directions each), dense kernel, dense bias; their gradients and Adam's state. */
  private readonly state: AddonAdam;
  private readonly sequences: SequenceCache;
  private readonly D: number;
  private readonly U: number;
  /** Features the dense layer reads (directions × units). */
  private readonly F: number;
  /** Classes of the head: 2 (Dense(1, sigmoid)) or k ≥ 3 (Dense(k, softmax)). */
  readonly classes: number;

  private constructor(
    private readonly tf: TF,
    private readonly addon: OnednnAddon,
    private readonly cell: CellType,
    private readonly maxlen: number,
    private readonly model: LayersModel,
    private readonly topology: Topology,
    state: AddonAdam,
    /** Keras's class_weight: each review's loss times its class's weight (undefined: none). */
    private readonly classWeight: Float64Array | undefined,
  ) {
    const vars = model.trainableWeights;
    this.state = state;
    this.D = vars[1]!.shape[0] as number;
    this.U = vars[2]!.shape[0] as number;
    const outputs = state.params[5].length;
    this.classes = outputs === 1 ? BINARY_CLASSES : outputs;
    this.F = state.params[4].length / outputs;
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
    const topology = topologyOf(model, cell)!;
    const state = await AddonAdam.of(model, model.optimizer as unknown as AdamLike, topology);
    return new OnednnStep(tf, addon, cell, maxlen, model, topology, state, classWeight && Float64Array.from(classWeight));
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
    const { loss, acc } = this.gradients(ids, y);
    // Packed order: embeddings, kernel, recurrent kernel, bias (the recurrent layer), then the dense kernel and bias (the head).
    const gradNorm = this.state.update(this.addon, lr, (i) => (i === 0 ? rates.embedding : i < 4 ? rates.recurrent : rates.head));
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
    const [E, W, R, b] = this.state.params;
    const grads = this.state.grads;
    const gE = grads[0]!;
    const s = this.sequences.get(this.cell, this.maxlen, B, this.D, this.U, this.topology);
    const h = s.forwardIds(ids, E, W, R, b, true);
    const generation = s.generation;
    const { loss, correct, dh } = this.classes === BINARY_CLASSES ? this.sigmoidHead(h, y) : this.softmaxHead(h, y);
    const [gW, gR, gb] = s.backwardEmbedding(dh, generation, gE);
    grads[1] = gW;
    grads[2] = gR;
    grads[3] = gb;
    return { loss: loss / B, acc: correct / B, grads: unpackParams(grads, this.topology) };
  }

  /**
   * Dense(1, sigmoid) and binary cross-entropy on the features `h` [B·F] (tfjs-layers: probabilities clipped to
   * [ε, 1 − ε]; the clip passes no gradient outside that range): the summed loss, the right answers, the dense
   * layer's gradients (into the step's arrays) and the features' gradient.
   */
  private sigmoidHead(h: Float32Array, y: Float32Array): { loss: number; correct: number; dh: Float32Array } {
    const B = y.length;
    const F = this.F;
    const [, , , , Wd, bd] = this.state.params;
    const [, , , , gWd, gbd] = this.state.grads as LessonParams;
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
    const [, , , , Wd, bd] = this.state.params;
    const [, , , , gWd, gbd] = this.state.grads as LessonParams;
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
    return this.state.weights();
  }

  /** Writes the parameters into the model (before validation and saving). */
  syncWeights(): void {
    setTrainableWeights(this.tf, this.model, this.weights());
  }

  /** Writes Adam's moments, step count and learning rate into the model's tfjs optimizer (before a checkpoint). */
  async syncOptimizer(): Promise<void> {
    await this.state.syncOptimizer(this.tf, this.model);
  }
}
