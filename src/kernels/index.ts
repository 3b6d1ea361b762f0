/**
 * rnn's oneDNN kernels: an optional C++ addon (src/kernels/addon) running whole-sequence SimpleRNN / LSTM /
 * GRU forward and backward on oneDNN's RNN primitives, plus the lesson model's Adam, gradient clip and
 * weight average. Built by `npm install` when Debian's `libdnnl-dev` (oneDNN 2.6) is present.
 *
 * Which recurrent kernels run is a value, {@link Kernels}: chosen once from `--kernels` by
 * {@link selectKernels}, carried by the loaded backend, and passed to whatever builds, loads, trains or
 * runs a model. Nothing here remembers a choice.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.js';
import { LAYER_CLASS, type CellType, type LayerClass } from '../cells.js';
import { LESSON_TOPOLOGY, type SequenceTopology } from './lesson.js';

/**
 * A whole-sequence recurrent layer of one shape (cell, T, B, D, U) and topology, with its primitives and
 * buffers. Its output is F = dirs·U features per row: h_T (the lesson's), or for a bidirectional layer the
 * forward h_{T−1} and backward h_0 concatenated, or the maximum or mean over time of the output sequence;
 * under `sequence` pooling, T·F per row: every step's outputs (the features and their gradients below are then [B·T·F]).
 * Weights of a bidirectional layer are the forward direction's then the backward direction's, each in tfjs layout.
 */
export interface OnednnSequence {
  /** x [B·T·D] batch-major, kernel [dirs·D·G·U], recurrent kernel [dirs·U·G·U], bias [dirs·G·U] (tfjs layout) → features [B·F]. */
  forward(x: Float32Array, kernel: Float32Array, recurrentKernel: Float32Array, bias: Float32Array, training: boolean): Float32Array;
  /** dL/dfeatures [B·F] → [dx, dKernel, dRecurrentKernel, dBias] for the training forward (not forwardIds) numbered `generation`. */
  backward(dy: Float32Array, generation: number): [Float32Array, Float32Array, Float32Array, Float32Array];
  /**
   * Like forward, with the embedding lookup done inside: ids [B·T] int32 rows of embeddings [V·D]. In one
   * direction with the last state or the mean, rows that begin with id 0 (Keras's 'pre' padding) share one
   * state trajectory until their review begins and run only from there (same results, fewer steps; see {@link work}).
   */
  forwardIds(
    ids: Int32Array,
    embeddings: Float32Array,
    kernel: Float32Array,
    recurrentKernel: Float32Array,
    bias: Float32Array,
    training: boolean,
  ): Float32Array;
  /**
   * forwardIds for inference with the input projection read from `table` ({@link OnednnAddon.inputTable} of
   * the same weights) instead of computed: per step only the recurrent product and the gates. Left to right,
   * rows share their padding steps exactly, whatever the pooling.
   */
  forwardTable(ids: Int32Array, table: Float32Array, recurrentKernel: Float32Array): Float32Array;
  /**
   * forwardTable computed on libuv's thread pool: the event loop goes on while it runs (`rnn serve` reads and
   * refuses requests meanwhile). Until its promise settles the sequence refuses every other call, and the
   * arrays it reads must not change.
   */
  forwardTableAsync(ids: Int32Array, table: Float32Array, recurrentKernel: Float32Array): Promise<Float32Array>;
  /** Backward after forwardIds: writes the dense embedding gradient into dEmbeddings [V·D]; returns [dKernel, dRecurrentKernel, dBias]. */
  backwardEmbedding(dy: Float32Array, generation: number, dEmbeddings: Float32Array): [Float32Array, Float32Array, Float32Array];
  /** Number of the last training forward. */
  readonly generation: number;
  /** 2 when the batch runs as two halves side by side (exactly two threads, at least 4 rows), else 1. */
  readonly parts: number;
  /** Steps × rows the last forward ran, as a share of T × B (below 1 when padding steps were shared). */
  readonly work: number;
}

/** The addon's exports. */
export interface OnednnAddon {
  /**
   * `parts` (1 or 2) overrides the default split of the batch across threads; `chunk` (default 16) is the
   * step granularity at which forwardIds starts rows after their padding (T or more: never); `topology`
   * defaults to the lesson's.
   */
  Sequence: new (
    cell: LayerClass,
    T: number,
    B: number,
    D: number,
    U: number,
    parts?: number,
    chunk?: number,
    topology?: SequenceTopology,
  ) => OnednnSequence;
  /**
   * The recurrent layer's input projection of every id: embeddings [V·D] times the kernel [dirs·D·G·U] plus the
   * bias [dirs·G·U], as [dirs·V·G·U] (per direction, row v = embeddings[v]·W + b).
   */
  inputTable(embeddings: Float32Array, kernel: Float32Array, bias: Float32Array, directions: number): Float32Array;
  /** oneDNN version the addon runs on, e.g. `2.6.3`. */
  onednnVersion: string;
  /** One in-place pass of tfjs's Adam over a parameter tensor (see src/kernels/addon/rnn_dnnl.cc). */
  adam(
    param: Float32Array,
    grad: Float32Array,
    m: Float32Array,
    v: Float32Array,
    lr: number,
    beta1: number,
    beta2: number,
    epsilon: number,
    oneMinusAccBeta1: number,
    oneMinusAccBeta2: number,
  ): void;
  /** average ← decay·average + (1 − decay)·value in place, as the JavaScript loop of src/train/ema.ts computes it. */
  movingAverage(average: Float32Array, value: Float32Array, decay: number): void;
  /** Keras's global_clipnorm in place: scales every gradient by clipNorm / norm when their joint L2 norm exceeds clipNorm; returns the norm before clipping. */
  clipByGlobalNorm(grads: Float32Array[], clipNorm: number): number;
}

/** What this version of rnn calls in the addon: a build from an older checkout lacks some. */
const ADDON_EXPORTS = ['Sequence', 'inputTable', 'adam', 'movingAverage', 'clipByGlobalNorm'] as const;
/** The same for a Sequence's methods. */
const SEQUENCE_METHODS = ['forward', 'backward', 'forwardIds', 'forwardTable', 'forwardTableAsync', 'backwardEmbedding'] as const;

/**
 * Sequences by shape, least recently used dropped beyond `max`: a Sequence holds its primitives and buffers
 * (tens to hundreds of MB at the lesson model's size), freed only when the JS object is collected, so callers
 * keep a few and reuse them rather than making one per batch.
 */
export class SequenceCache {
  private readonly sequences = new Map<string, OnednnSequence>();

  constructor(
    private readonly addon: OnednnAddon,
    private readonly max: number,
  ) {}

  get(cell: CellType, T: number, B: number, D: number, U: number, topology: SequenceTopology = LESSON_TOPOLOGY): OnednnSequence {
    const key = `${cell}:${T}:${B}:${D}:${U}:${topology.bidirectional ? 'bi' : 'uni'}:${topology.pooling}`;
    let s = this.sequences.get(key);
    if (s) {
      this.sequences.delete(key); // re-inserted below: the Map's order is least recently used first
    } else {
      s = new this.addon.Sequence(LAYER_CLASS[cell], T, B, D, U, undefined, undefined, topology);
      if (this.sequences.size >= this.max) this.sequences.delete(this.sequences.keys().next().value!);
    }
    this.sequences.set(key, s);
    return s;
  }
}

/** What {@link probeOnednn} found. */
export interface OnednnStatus {
  addon?: OnednnAddon;
  /** Why the addon is not available (undefined when it is). */
  error?: string;
}

/**
 * The built addon: dist/addon/rnn_dnnl.node (from dist/src/kernels), beside the compiled TypeScript, so an installed
 * rnn runs without src/. Written by buildOnednnKernels (build.ts); `npm run build` leaves it in place.
 */
export const ADDON_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'addon', 'rnn_dnnl.node');

/** How to get the oneDNN kernels, for messages. */
export const ONEDNN_FIX = 'Install oneDNN (`apt-get install libdnnl-dev` on Debian/Ubuntu), then run `npm run setup-native`';

const require = createRequire(import.meta.url);

/** Tries to load the addon from `file` (Node keeps a loaded addon, so a second call is cheap); never throws. */
export function probeOnednn(file: string = ADDON_FILE): OnednnStatus {
  try {
    const addon = require(file) as OnednnAddon;
    const methods = (addon.Sequence as { prototype?: Record<string, unknown> } | undefined)?.prototype ?? {};
    const missing = [
      ...ADDON_EXPORTS.filter((k) => typeof addon[k] !== 'function'),
      ...SEQUENCE_METHODS.filter((k) => typeof methods[k] !== 'function').map((k) => `Sequence.${k}`),
    ];
    if (missing.length > 0) return { error: `the oneDNN addon is out of date (built by an older rnn: no ${missing.join(', ')})` };
    return { addon };
  } catch (e) {
    const msg = String((e as Error)?.message ?? e).split('\n')[0]!;
    return {
      error: /Cannot find module/.test(msg)
        ? 'the oneDNN addon is not built (npm install could not compile it, usually because libdnnl-dev is missing)'
        : `the oneDNN addon does not load: ${msg}`,
    };
  }
}

/** `auto`: oneDNN when the addon loads, else tfjs; `onednn`: that or an error; `tfjs`: never the addon. */
export const KERNEL_PREFERENCES = ['auto', 'onednn', 'tfjs'] as const;
export type KernelPreference = (typeof KERNEL_PREFERENCES)[number];

/**
 * The recurrent kernels a model runs on, and why: rnn's oneDNN addon, or tfjs (the fused layers' tfjs
 * implementation: TensorFlow ops on the native backend, tfjs ops elsewhere; stock tfjs-layers always run here).
 */
export type Kernels = { name: 'onednn'; addon: OnednnAddon; reason: string } | { name: 'tfjs'; reason: string };

/** The tfjs kernels, with the reason they were chosen. */
export function tfjsKernels(reason: string): Kernels {
  return { name: 'tfjs', reason };
}

/** Chooses the kernels for a preference; `onednn` without the addon is a UserError. */
export function selectKernels(pref: KernelPreference, found: () => OnednnStatus = probeOnednn): Kernels {
  if (pref === 'tfjs') return tfjsKernels('tfjs kernels were requested (--kernels tfjs)');
  const s = found();
  if (s.addon) return { name: 'onednn', addon: s.addon, reason: `the oneDNN ${s.addon.onednnVersion} addon loaded` };
  if (pref === 'onednn')
    throw new UserError('NATIVE_ONEDNN_UNAVAILABLE', `the oneDNN kernels were requested but are not available: ${s.error}`, ONEDNN_FIX);
  return tfjsKernels(s.error!);
}
