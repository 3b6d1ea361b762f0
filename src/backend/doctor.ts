/** Facts for `rnn doctor`: which backend is in use and why, versions, threads, directories. */
import * as os from 'node:os';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { loadBackend, cpuThreads, describeKernels, type BackendOptions } from './index.js';
import { readNativeStatus, type NativeStatus } from './native/setup.js';
import { probeOnednn, ONEDNN_FIX } from '../kernels/index.js';
import type { Threading } from '../kernels/threading.js';
import { loadStderrCapture } from './native/stdio.js';

/** Inputs of {@link diagnose}, resolved by the CLI. */
export interface DoctorOptions {
  /** Project root (holds package.json and node_modules). */
  projectDir: string;
  /** Dataset cache directory. */
  dataDir: string;
  /** Models directory. */
  modelsDir: string;
  /** Cache for libtensorflow and compiled bindings. */
  cacheDir: string;
  /** Value of TF_ENABLE_ONEDNN_OPTS in the environment (undefined when unset). */
  onednnOpts: string | undefined;
  /** How to load the backend. */
  backend: BackendOptions;
  /** The oneDNN kernels' OpenMP threading, as the CLI resolved and set it. */
  threading: Threading;
}

/** The doctor's findings; `ok` is false when the native backend is not in use. */
export interface DoctorReport {
  ok: boolean;
  backend: { name: string; package: string; native: boolean; gpu: boolean; reason: string; nativeError?: string };
  versions: { rnn: string; node: string; tfjs: string; tfjsNode?: string; tensorflow?: string };
  libtensorflow: { source?: string; setup?: NativeStatus };
  cpu: { threads: number; model: string };
  /** What rnn's fused recurrent layers run on with this backend. */
  recurrentKernels: string;
  /** What runs bidirectional and pooled models (the recipe's layers) with this backend. */
  recipeLayers: string;
  /** rnn's oneDNN addon: whether it is in use, why (not), and how to enable it. */
  onednnKernels: { active: boolean; reason: string; fix?: string };
  /** How many threads the oneDNN kernels run on and how they wait (OpenMP's variables: the user's, else rnn's defaults). */
  threading: Threading;
  onednn: { TF_ENABLE_ONEDNN_OPTS: string | null; meaning: string };
  /**
   * TensorFlow's start-up log lines: held by rnn's stdio shim and shown by TF_CPP_MIN_LOG_LEVEL (`held`), or
   * written by TensorFlow itself (with --debug, on pure JS, or without the shim: then `fix` says how to build
   * it); `lines` are those its level shows, for the CLI to print on stderr.
   */
  tfLog: { held: boolean; shim: boolean; minLevel?: number; lines: string[]; fix?: string };
  dirs: { data: string; models: string; cache: string };
  /** How to get the native backend, when it is not in use. */
  fix?: string;
}

async function packageVersion(file: string): Promise<string | undefined> {
  try {
    return (JSON.parse(await fsp.readFile(file, 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

export async function diagnose(opts: DoctorOptions): Promise<DoctorReport> {
  const b = await loadBackend(opts.backend);
  const setup = await readNativeStatus(opts.projectDir);
  const onednn = opts.onednnOpts;
  const report: DoctorReport = {
    ok: b.native,
    backend: { name: b.name, package: b.packageName, native: b.native, gpu: b.gpu, reason: b.reason, nativeError: b.nativeError },
    versions: {
      rnn: (await packageVersion(path.join(opts.projectDir, 'package.json'))) ?? 'unknown',
      node: process.versions.node,
      tfjs: b.tfjsVersion,
      tfjsNode: await packageVersion(path.join(opts.projectDir, 'node_modules/@tensorflow/tfjs-node/package.json')),
      tensorflow: b.tfVersion,
    },
    libtensorflow: { source: b.native ? (setup?.ok ? setup.libtensorflowSource : 'tfjs-node install') : undefined, setup },
    cpu: { threads: cpuThreads(), model: os.cpus()[0]?.model.trim() ?? 'unknown' },
    recurrentKernels: `fused layers on ${describeKernels(b.tf, b.kernels)}`,
    recipeLayers:
      b.kernels.name === 'onednn'
        ? 'bidirectional and pooled models train and predict whole on the oneDNN kernels'
        : `bidirectional and pooled models run on the fused layers on ${describeKernels(b.tf, b.kernels)}, layer by layer`,
    onednnKernels: {
      active: b.kernels.name === 'onednn',
      reason: b.kernels.reason,
      fix: b.kernels.name === 'onednn' || probeOnednn().addon ? undefined : ONEDNN_FIX,
    },
    threading: opts.threading,
    onednn: {
      TF_ENABLE_ONEDNN_OPTS: onednn ?? null,
      meaning:
        onednn === undefined
          ? "unset: on, TensorFlow's default on x86 Linux; set it to 0 to turn oneDNN off"
          : /^(1|true)$/i.test(onednn)
            ? 'oneDNN optimizations on'
            : /^(0|false)$/i.test(onednn)
              ? 'oneDNN optimizations off'
              : 'not 0, 1, true or false: TensorFlow ignores it and keeps its default, on',
    },
    tfLog: {
      held: b.tfLogHeld,
      shim: loadStderrCapture() !== undefined,
      minLevel: opts.backend.tfLog?.minLevel,
      lines: b.loadLog,
      fix:
        loadStderrCapture() === undefined
          ? "Install a C compiler, make and python3 for node-gyp, then run `npm run setup-native` (it builds rnn's stdio shim)"
          : undefined,
    },
    dirs: { data: opts.dataDir, models: opts.modelsDir, cache: opts.cacheDir },
  };
  if (!b.native) {
    report.fix = setup?.error
      ? `${setup.error.fix}`
      : 'Run `npm run setup-native` to provision libtensorflow and build the tfjs-node binding';
  }
  return report;
}
