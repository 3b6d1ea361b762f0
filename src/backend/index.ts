/**
 * The one place that loads TensorFlow.js. Every command asks this module for `tf`, so the choice
 * of backend (native TensorFlow, GPU, pure JS) and the reason for it live here.
 */
import { createRequire } from 'node:module';
import * as os from 'node:os';
import { UserError } from '../errors.js';
import { selectKernels, type KernelPreference } from './onednn.js';

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
  /** Let TensorFlow's C++ logging through (it is quieted to warnings otherwise). */
  verbose: boolean;
  /** Recurrent kernels of the fused layers: `auto` (oneDNN addon when it loads), `onednn` (or an error), `tfjs`. */
  kernels: KernelPreference;
}

/** What was loaded and why. */
export interface LoadedBackend {
  /** The tfjs namespace to use. */
  tf: TF;
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
  /** Which recurrent kernels the fused layers run on (rnn's oneDNN addon or tfjs/TensorFlow ops), and why. */
  kernels: { name: 'onednn' | 'tfjs'; reason: string };
}

export function resolveBackendOptions(partial: Partial<BackendOptions> = {}): BackendOptions {
  return {
    prefer: partial.prefer ?? 'auto',
    requireNative: partial.requireNative ?? false,
    verbose: partial.verbose ?? false,
    kernels: partial.kernels ?? 'auto',
  };
}

const require = createRequire(import.meta.url);
let loaded: LoadedBackend | undefined;

/** Estimated slowdown of pure-JS training against the native backend (LSTM, measured: see README). */
export const PURE_JS_SLOWDOWN = 'more than 100x slower';

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0]!;
}

/** Loads tfjs once per process and reports what it loaded. */
export async function loadBackend(options: Partial<BackendOptions> = {}): Promise<LoadedBackend> {
  if (loaded) return loaded;
  const opts = resolveBackendOptions(options);
  const k = selectKernels(opts.kernels);
  const kernels = { name: k.kernels, reason: k.reason };
  // TensorFlow reads this when the shared library loads; keep its C++ INFO lines off stderr.
  if (!opts.verbose && process.env.TF_CPP_MIN_LOG_LEVEL === undefined) process.env.TF_CPP_MIN_LOG_LEVEL = '2';

  let nativeError: string | undefined;
  if (opts.prefer === 'gpu') {
    try {
      const tf = require('@tensorflow/tfjs-node-gpu') as TF;
      loaded = await describeNative(tf, '@tensorflow/tfjs-node-gpu', 'requested with --gpu', kernels);
      return loaded;
    } catch (e) {
      throw new UserError(
        `the GPU backend could not be loaded: ${firstLine(e)}`,
        'Install it with `npm install @tensorflow/tfjs-node-gpu@4.22.0` (needs CUDA 11.2 and cuDNN 8.1) or drop --gpu',
      );
    }
  }
  if (opts.prefer !== 'cpu') {
    try {
      const tf = require('@tensorflow/tfjs-node') as TF;
      loaded = await describeNative(tf, '@tensorflow/tfjs-node', 'the native TensorFlow backend loaded', kernels);
      return loaded;
    } catch (e) {
      nativeError = firstLine(e);
      if (/Cannot find module '@tensorflow\/tfjs-node'/.test(nativeError)) {
        nativeError = '@tensorflow/tfjs-node is not installed (its install failed and npm dropped it)';
      } else if (/tfjs_binding\.node\) can not be found/.test(nativeError)) {
        nativeError = "tfjs-node's binding (tfjs_binding.node) is not built";
      }
      if (opts.prefer === 'native' || opts.requireNative) {
        throw new UserError(
          `the native TensorFlow backend is required but could not be loaded: ${nativeError}`,
          'Run `npm run setup-native` (see README, "Troubleshooting the native install")',
        );
      }
    }
  }
  const tf = require('@tensorflow/tfjs') as TF;
  await tf.setBackend('cpu');
  await tf.ready();
  loaded = {
    tf,
    name: tf.getBackend(),
    packageName: '@tensorflow/tfjs',
    native: false,
    gpu: false,
    reason: opts.prefer === 'cpu' ? 'pure JS was requested' : 'the native backend is not available, so tfjs runs in pure JavaScript',
    nativeError,
    tfjsVersion: tf.version_core,
    kernels,
  };
  return loaded;
}

async function describeNative(tf: TF, packageName: LoadedBackend['packageName'], reason: string, kernels: LoadedBackend['kernels']): Promise<LoadedBackend> {
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
