/**
 * The one place that loads TensorFlow.js. Every command asks this module for `tf`, so the choice of backend
 * (the native backend, i.e. tfjs-node; the GPU; pure JS) and the reason for it live here, together with the
 * recurrent kernels chosen for the run ({@link LoadedBackend.kernels}).
 */
import { createRequire } from 'node:module';
import * as os from 'node:os';
import type { Tensor } from '@tensorflow/tfjs';
import { UserError } from '../errors.js';
import { selectKernels, type KernelPreference, type Kernels, type OnednnStatus } from '../kernels/index.js';
import { loadStderrCapture } from './native/stdio.js';
import { tfLoadLog, type TfLogEnv } from './tf-log.js';

/** The tfjs API (the union package's type; tfjs-node exports the same plus `node`). */
export type TF = typeof import('@tensorflow/tfjs');

/** Which backend a command wants. */
export type BackendPreference = 'auto' | 'native' | 'gpu' | 'cpu';

/** Options of {@link loadBackend}. */
export interface BackendOptions {
  /** `auto`: native TensorFlow when it loads, else pure JS; `native`/`gpu`: that or an error; `cpu`: pure JS. */
  prefer: BackendPreference;
  /** Throw instead of falling back to pure JS (set by RNN_REQUIRE_NATIVE=1, e.g. in CI). */
  requireNative: boolean;
  /** Recurrent kernels of the fused layers: `auto` (oneDNN addon when it loads), `onednn` (or an error), `tfjs`. */
  kernels: KernelPreference;
  /**
   * Show what TensorFlow writes while it loads by this log level (src/backend/tf-log.ts), through rnn's stdio
   * shim when it is built; undefined: let TensorFlow write to stderr itself (`--debug`).
   */
  tfLog?: { minLevel: number } & TfLogEnv;
}

/** What a run computes with: tfjs, and the recurrent kernels given to whatever builds, loads, trains or runs a model. */
export interface Runtime {
  /** The tfjs namespace to use. */
  tf: TF;
  /** The recurrent kernels chosen for this run (rnn's oneDNN kernels or tfjs), and why. */
  kernels: Kernels;
}

/** What was loaded and why. */
export interface LoadedBackend extends Runtime {
  /** tfjs backend name: `tensorflow` (native) or `cpu` (pure JS). */
  name: string;
  /** The npm package that provided it. */
  packageName: '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs';
  /** True for the native TensorFlow backend. */
  native: boolean;
  /** Whether the native backend runs on a GPU. */
  gpu: boolean;
  /** One sentence: why this backend is in use. */
  reason: string;
  /** Why the native backend is not in use (undefined when it is). */
  nativeError?: string;
  /** TensorFlow (C library) version, native backends only. */
  tfVersion?: string;
  /** tfjs-core version. */
  tfjsVersion: string;
  /**
   * What TensorFlow wrote to stderr while it loaded that its log level shows, for the caller to print (empty
   * when nothing was, or when it was not held: see {@link BackendOptions.tfLog} and {@link tfLogHeld}).
   */
  loadLog: string[];
  /** Whether TensorFlow's load-time lines went through rnn's stdio shim (false: not asked, not built, or not loaded here). */
  tfLogHeld: boolean;
}

export function resolveBackendOptions(partial: Partial<BackendOptions> = {}): BackendOptions {
  return {
    prefer: partial.prefer ?? 'auto',
    requireNative: partial.requireNative ?? false,
    kernels: partial.kernels ?? 'auto',
    tfLog: partial.tfLog,
  };
}

const require = createRequire(import.meta.url);

/** Estimated slowdown of pure-JS training against the native backend (LSTM, measured: docs/benchmarks.md). */
export const PURE_JS_SLOWDOWN = 'more than 100x slower';

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0]!;
}

/**
 * Loads tfjs as `options` ask, makes that backend tfjs's active one, chooses the kernels, and reports both.
 * Node keeps a loaded package, so a second call costs little; tfjs has one active backend per process, and
 * the last call sets it. `onednnProbe` stands in for the oneDNN addon's loader (tests).
 */
export async function loadBackend(options: Partial<BackendOptions> = {}, onednnProbe?: () => OnednnStatus): Promise<LoadedBackend> {
  const opts = resolveBackendOptions(options);
  const kernels = selectKernels(opts.kernels, onednnProbe);
  const log = { loadLog: [] as string[], tfLogHeld: false };
  const load = (id: string): TF => {
    const capture = opts.tfLog && !require.cache[require.resolve(id)] ? loadStderrCapture() : undefined;
    if (!capture) return require(id) as TF;
    capture.begin();
    try {
      return require(id) as TF;
    } finally {
      log.loadLog = tfLoadLog(capture.end(), opts.tfLog!.minLevel, opts.tfLog);
      log.tfLogHeld = true;
    }
  };

  let nativeError: string | undefined;
  if (opts.prefer === 'gpu') {
    try {
      const tf = load('@tensorflow/tfjs-node-gpu');
      return { ...(await describeNative(tf, '@tensorflow/tfjs-node-gpu', 'requested with --gpu', kernels)), ...log };
    } catch (e) {
      throw new UserError(
        'NATIVE_GPU_UNAVAILABLE',
        `the GPU backend could not be loaded: ${firstLine(e)}`,
        'Install it with `npm install @tensorflow/tfjs-node-gpu@4.22.0` (needs CUDA 11.2 and cuDNN 8.1) or drop --gpu',
      );
    }
  }
  if (opts.prefer !== 'cpu') {
    try {
      const tf = load('@tensorflow/tfjs-node');
      return { ...(await describeNative(tf, '@tensorflow/tfjs-node', 'the native TensorFlow backend loaded', kernels)), ...log };
    } catch (e) {
      nativeError = firstLine(e);
      if (/Cannot find module '@tensorflow\/tfjs-node'/.test(nativeError)) {
        nativeError = '@tensorflow/tfjs-node is not installed (its install failed and npm dropped it)';
      } else if (/tfjs_binding\.node\) can not be found/.test(nativeError)) {
        nativeError = "tfjs-node's binding (tfjs_binding.node) is not built";
      }
      if (opts.prefer === 'native' || opts.requireNative) {
        throw new UserError(
          'NATIVE_UNAVAILABLE',
          `the native TensorFlow backend is required but could not be loaded: ${nativeError}`,
          'Run `npm run setup-native` (README, "Install and troubleshooting")',
        );
      }
    }
  }
  const tf = require('@tensorflow/tfjs') as TF;
  await tf.setBackend('cpu');
  await tf.ready();
  return {
    tf,
    name: tf.getBackend(),
    packageName: '@tensorflow/tfjs',
    native: false,
    gpu: false,
    reason: opts.prefer === 'cpu' ? 'pure JS was requested' : 'the native backend is not available, so tfjs runs in pure JavaScript',
    nativeError,
    tfjsVersion: tf.version_core,
    kernels,
    ...log,
  };
}

async function describeNative(
  tf: TF,
  packageName: LoadedBackend['packageName'],
  reason: string,
  kernels: Kernels,
): Promise<Omit<LoadedBackend, 'loadLog' | 'tfLogHeld'>> {
  // tfjs-node makes its backend active when first loaded; set it again in case an earlier call chose pure JS.
  await tf.setBackend('tensorflow');
  await tf.ready();
  const backend = tf.backend() as unknown as { binding?: { TF_Version?: string }; isUsingGpuDevice?: boolean };
  return {
    tf,
    name: tf.getBackend(),
    packageName,
    native: true,
    gpu: backend.isUsingGpuDevice === true,
    reason,
    tfVersion: backend.binding?.TF_Version,
    tfjsVersion: tf.version_core,
    kernels,
  };
}

/** Number of CPU threads the machine offers (TensorFlow sizes its thread pools from this). */
export function cpuThreads(): number {
  return os.availableParallelism?.() ?? os.cpus().length;
}

/** The slice of tfjs-node's backend that runs TensorFlow ops by name (LSTMBlockCell, GRUBlockCell, MatMul, …). */
export interface TfOps {
  executeMultipleOutputs(name: string, attrs: unknown[], inputs: Tensor[], numOutputs: number): Tensor[];
  executeSingleOutput(name: string, attrs: unknown[], inputs: Tensor[]): Tensor;
  binding: { TF_ATTR_TYPE: number; TF_ATTR_FLOAT: number; TF_ATTR_BOOL: number; TF_FLOAT: number };
}

/** TensorFlow's ops by name, when the native backend is the active one (undefined on other backends). */
export function tfOps(tf: TF): TfOps | undefined {
  if (tf.getBackend() !== 'tensorflow') return undefined;
  const be = tf.backend() as unknown as Partial<TfOps>;
  return typeof be.executeMultipleOutputs === 'function' && typeof be.executeSingleOutput === 'function' && be.binding
    ? (be as TfOps)
    : undefined;
}

/** What rnn's fused recurrent layers run on with these kernels and the active backend, for `rnn doctor` and metadata.json. */
export function describeKernels(tf: TF, kernels: Kernels): string {
  if (kernels.name === 'onednn') return `oneDNN ${kernels.addon.onednnVersion} whole-sequence kernels (rnn's addon)`;
  return tfOps(tf) ? 'TensorFlow LSTMBlockCell/GRUBlockCell kernels' : 'tfjs ops';
}
