/**
 * A model as the server holds it: the loaded model directory, one predictor kept for the model's life, and
 * a count of the requests using it, so that a model replaced by a hot reload is disposed only when the last
 * request that started on it has its answer.
 */
import { describeKernels, type Runtime } from '../backend/index.js';
import { labelsOf, loadModelDir, type ModelDir } from '../io/model-dir.js';
import { readEvalRecord, type EvalRecord } from '../io/catalog.js';
import { isUserError } from '../errors.js';
import type { RecurrentImpl } from '../models/index.js';
import { createPredictor, probabilitiesPerRow, runnable, type Predictor } from '../predict/index.js';
import { SequenceCache } from '../kernels/index.js';

/** The kernels a model runs on, as `/v1/model` and the startup line show them. */
export interface KernelsInfo {
  name: string;
  description: string;
  reason: string;
}

/** What each answer says about the model that produced it. */
export interface ModelStamp {
  cell: string;
  createdAt: string;
  tokenizerSha256: string;
}

/**
 * Batch sizes a forward runs at (rows beyond the real ones are padding): powers of two up to a quarter of
 * the largest batch, then multiples of that quarter (64: 1, 2, 4, 8, 16, 32, 48, 64). Few sizes keep few
 * kernel primitives; the quarters keep the padding of a large batch under a quarter of it (a padding row
 * costs about a fifth of a review's row on the oneDNN kernels).
 */
export function batchBuckets(batchSize: number): number[] {
  const step = batchSize >= 8 ? 2 ** (Math.floor(Math.log2(batchSize)) - 2) : batchSize;
  const out: number[] = [];
  for (let b = 1; b < step; b *= 2) out.push(b);
  for (let b = step; b < batchSize; b += step) out.push(b);
  out.push(batchSize);
  return out;
}

/** The smallest bucket holding `rows`. */
export function bucketFor(buckets: readonly number[], rows: number): number {
  return buckets.find((b) => b >= rows) ?? buckets[buckets.length - 1]!;
}

export class ServedModel {
  private refs = 0;
  private retired = false;
  private disposed = false;

  private constructor(
    /** The loaded model directory: model, tokenizer, metadata, kernels. */
    readonly modelDir: ModelDir,
    readonly kernels: KernelsInfo,
    readonly evaluation: EvalRecord | undefined,
    private readonly predictor: Predictor,
    private readonly buckets: number[],
    /** Seconds the load and warm-up took. */
    readonly loadSeconds: number,
    readonly loadedAt: string,
    /** Milliseconds a full forward took at load, every step run: the batcher's estimate until it measures its own. */
    readonly forwardMs: number,
  ) {}

  /**
   * Loads `dir` and warms it up: one forward at every batch size it will run at, so that no request pays
   * for building the kernels' primitives. Padding rows fill a forward up to its bucket; with Keras's
   * padding they are all id 0 and the oneDNN kernels skip their steps.
   */
  static async load(runtime: Runtime, dir: string, batchSize: number, layers: RecurrentImpl): Promise<ServedModel> {
    const t0 = performance.now();
    const modelDir = await loadModelDir(runtime, dir, layers);
    // The last `rnn eval` (eval.json), if any: loadModelDir has read and checked everything else. A record
    // that is not one rnn eval wrote does not keep the model from serving: /v1/model shows no evaluation.
    const evaluation = await readEvalRecord(modelDir.dir).catch((e: unknown) => {
      if (isUserError(e) && e.code === 'MODEL_EVAL_INVALID') return undefined;
      throw e;
    });
    const buckets = batchBuckets(batchSize);
    const maxlen = modelDir.metadata.preprocessing.maxlen;
    const k = modelDir.kernels;
    const cache = k.name === 'onednn' ? new SequenceCache(k.addon, buckets.length) : undefined;
    const predictor = createPredictor(runtime.tf, runnable(modelDir), maxlen, cache);
    for (const b of buckets) predictor.predict(new Int32Array(b * maxlen));
    // Then one full forward of rows without padding (id 1 throughout: every step runs), timed.
    const t1 = performance.now();
    predictor.predict(new Int32Array(batchSize * maxlen).fill(1));
    const forwardMs = performance.now() - t1;
    const kernels = { name: k.name, description: describeKernels(runtime.tf, k), reason: k.reason };
    const loadedAt = new Date().toISOString();
    return new ServedModel(modelDir, kernels, evaluation, predictor, buckets, (performance.now() - t0) / 1000, loadedAt, forwardMs);
  }

  get dir(): string {
    return this.modelDir.dir;
  }

  get maxlen(): number {
    return this.modelDir.metadata.preprocessing.maxlen;
  }

  get stamp(): ModelStamp {
    const md = this.modelDir.metadata;
    return { cell: md.cell, createdAt: md.createdAt, tokenizerSha256: md.preprocessing.tokenizerSha256 };
  }

  /** The model's labels, in class order. */
  get labels(): readonly string[] {
    return labelsOf(this.modelDir.metadata).names;
  }

  /** Probabilities a row gives: 1 (binary) or k. */
  get perRow(): number {
    return probabilitiesPerRow(this.predictor.classes);
  }

  /**
   * Probabilities of `rows` rows of ids (at most the largest bucket), run at the bucket that holds them:
   * {@link perRow} per row. Off the event loop where the kernels can (a promise then), so that the server
   * reads, admits and refuses requests while a forward runs.
   */
  forward(ids: Int32Array, rows: number): Float32Array | Promise<Float32Array> {
    const b = bucketFor(this.buckets, rows);
    let bucket = ids.subarray(0, rows * this.maxlen);
    if (b !== rows) {
      bucket = new Int32Array(b * this.maxlen);
      bucket.set(ids.subarray(0, rows * this.maxlen));
    }
    const n = rows * this.perRow;
    if (!this.predictor.predictAsync) return this.predictor.predict(bucket).subarray(0, n);
    return this.predictor.predictAsync(bucket).then((p) => p.subarray(0, n));
  }

  /** Its forwards run off the event loop (rnn's oneDNN kernels). */
  get offLoop(): boolean {
    return this.predictor.predictAsync !== undefined;
  }

  /** A request starts using this model. */
  acquire(): this {
    this.refs++;
    return this;
  }

  /** A request that acquired this model has its answer. */
  release(): void {
    this.refs--;
    this.disposeIfDone();
  }

  /** Replaced by another model: disposed once no request uses it. */
  retire(): void {
    this.retired = true;
    this.disposeIfDone();
  }

  private disposeIfDone(): void {
    if (this.retired && this.refs === 0 && !this.disposed) {
      this.disposed = true;
      this.modelDir.model.dispose();
    }
  }

  /** True once its tensors are freed. */
  get isDisposed(): boolean {
    return this.disposed;
  }
}
