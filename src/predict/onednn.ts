/**
 * The prediction of the lesson model (or of the recipe's topologies: src/kernels/lesson.ts) whole on rnn's
 * oneDNN kernels. The recurrent layer's input projection (embedding · kernel + bias) depends only on the
 * token id, so it is computed once for the whole vocabulary ({@link OnednnAddon.inputTable}) and every step
 * reads its row; a step is then the recurrent product and the gates ({@link OnednnSequence.forwardTable}).
 * Rows that begin with padding share their padding steps; the dense layer runs on the host.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import { SequenceCache, type OnednnAddon, type OnednnSequence } from '../kernels/index.js';
import { denseLogSoftmax, denseSigmoid, directionsOf, packParams, type Topology } from '../kernels/lesson.js';
import type { CellType } from '../cells.js';

/** Inference sequences a predictor keeps (one per batch shape: full batches and the last short one). */
const SEQUENCES = 4;

export class OnednnPredictor {
  /** The input projection of every id ([directions·V·G·U], ~20 MB for the lesson's LSTM). */
  private readonly table: Float32Array;
  private readonly recurrentKernel: Float32Array;
  private readonly dense: { kernel: Float32Array; bias: Float32Array };
  private readonly inputDim: number;
  /** Classes of the model's head (2: Dense(1, sigmoid), one probability per row; k ≥ 3: Dense(k, softmax), k per row). */
  readonly classes: number;

  /**
   * Computes the input table from `model`'s weights as they are now (later changes to the model do not reach
   * it). `sequences` (buffers, a few MB at batch 256, freed when collected) may be shared by predictors made
   * one after another, e.g. per epoch.
   */
  constructor(
    addon: OnednnAddon,
    private readonly cell: CellType,
    readonly maxlen: number,
    model: LayersModel,
    private readonly topology: Topology,
    private readonly sequences: SequenceCache = predictorSequences(addon),
  ) {
    const [E, W, R, b, Wd, bd] = packParams(
      model.trainableWeights.map((w) => w.read().dataSync() as Float32Array),
      topology,
    );
    this.table = addon.inputTable(E, W, b, directionsOf(topology));
    this.inputDim = W.length / b.length;
    this.recurrentKernel = R;
    this.dense = { kernel: Wd, bias: bd };
    this.classes = bd.length === 1 ? 2 : bd.length;
  }

  /** Probabilities for ids [B·maxlen]: B of class 1 for a binary model, else B×classes row-major ({@link Predictor}). */
  predict(ids: Int32Array): Float32Array {
    return this.head(this.sequence(ids).forwardTable(ids, this.table, this.recurrentKernel), ids);
  }

  /** {@link predict} with the recurrent layer on libuv's thread pool ({@link OnednnSequence.forwardTableAsync}). */
  async predictAsync(ids: Int32Array): Promise<Float32Array> {
    return this.head(await this.sequence(ids).forwardTableAsync(ids, this.table, this.recurrentKernel), ids);
  }

  /** The inference sequence for ids [B·maxlen]. */
  private sequence(ids: Int32Array): OnednnSequence {
    const units = this.dense.kernel.length / this.dense.bias.length / directionsOf(this.topology);
    return this.sequences.get(this.cell, this.maxlen, ids.length / this.maxlen, this.inputDim, units, this.topology);
  }

  /** The dense head on the recurrent layer's features h [B·features]. */
  private head(h: Float32Array, ids: Int32Array): Float32Array {
    const B = ids.length / this.maxlen;
    const { kernel: Wd, bias: bd } = this.dense;
    const features = Wd.length / bd.length;
    if (bd.length === 1) return Float32Array.from(denseSigmoid(h, B, features, Wd, bd));
    return Float32Array.from(denseLogSoftmax(h, B, features, Wd, bd), Math.exp);
  }
}

/** A cache of inference sequences for {@link OnednnPredictor}s made one after another. */
export function predictorSequences(addon: OnednnAddon): SequenceCache {
  return new SequenceCache(addon, SEQUENCES);
}
