/**
 * The prediction of the lesson model (or of the recipe's topologies: src/kernels/lesson.ts) whole on rnn's
 * oneDNN kernels: the embedding lookup goes straight into the recurrent layer's input (tfjs would read the
 * gathered [B, T, D] input out of TensorFlow to hand it to the addon), then the inference kernels (pooling
 * included), then the dense layer on the host. In one direction (last state or mean) rows that begin with
 * padding share their padding steps ({@link OnednnSequence.forwardIds}).
 */
import type { LayersModel } from '@tensorflow/tfjs';
import { SequenceCache, type OnednnAddon, type OnednnSequence } from '../kernels/index.js';
import { denseLogSoftmax, denseSigmoid, directionsOf, packParams, type LessonParams, type Topology } from '../kernels/lesson.js';
import { GATES, type CellType } from '../cells.js';

/** Inference sequences a predictor keeps (one per batch shape: full batches and the last short one). */
const SEQUENCES = 4;

export class OnednnPredictor {
  private readonly params: LessonParams;
  /** Classes of the model's head (2: Dense(1, sigmoid), one probability per row; k ≥ 3: Dense(k, softmax), k per row). */
  readonly classes: number;

  /**
   * Takes a copy of `model`'s weights as they are now. `sequences` (primitives and buffers, ~75 MB at
   * batch 256, freed when collected) may be shared by predictors made one after another, e.g. per epoch.
   */
  constructor(
    addon: OnednnAddon,
    private readonly cell: CellType,
    readonly maxlen: number,
    model: LayersModel,
    private readonly topology: Topology,
    private readonly sequences: SequenceCache = predictorSequences(addon),
  ) {
    this.params = packParams(
      model.trainableWeights.map((w) => w.read().dataSync() as Float32Array),
      topology,
    );
    const outputs = this.params[5].length;
    this.classes = outputs === 1 ? 2 : outputs;
  }

  /** Probabilities for ids [B·maxlen]: B of class 1 for a binary model, else B×classes row-major ({@link Predictor}). */
  predict(ids: Int32Array): Float32Array {
    const [E, W, R, b] = this.params;
    return this.head(this.sequence(ids).forwardIds(ids, E, W, R, b, false), ids);
  }

  /** {@link predict} with the recurrent layer on libuv's thread pool ({@link OnednnSequence.forwardIdsAsync}). */
  async predictAsync(ids: Int32Array): Promise<Float32Array> {
    const [E, W, R, b] = this.params;
    return this.head(await this.sequence(ids).forwardIdsAsync(ids, E, W, R, b), ids);
  }

  /** The inference sequence for ids [B·maxlen]. */
  private sequence(ids: Int32Array): OnednnSequence {
    const [, W, , , Wd, bd] = this.params;
    const features = Wd.length / bd.length;
    const units = features / directionsOf(this.topology);
    const inputDim = W.length / (features * GATES[this.cell]);
    return this.sequences.get(this.cell, this.maxlen, ids.length / this.maxlen, inputDim, units, this.topology);
  }

  /** The dense head on the recurrent layer's features h [B·features]. */
  private head(h: Float32Array, ids: Int32Array): Float32Array {
    const B = ids.length / this.maxlen;
    const [, , , , Wd, bd] = this.params;
    const features = Wd.length / bd.length;
    if (bd.length === 1) return Float32Array.from(denseSigmoid(h, B, features, Wd, bd));
    return Float32Array.from(denseLogSoftmax(h, B, features, Wd, bd), Math.exp);
  }
}

/** A cache of inference sequences for {@link OnednnPredictor}s made one after another. */
export function predictorSequences(addon: OnednnAddon): SequenceCache {
  return new SequenceCache(addon, SEQUENCES);
}
