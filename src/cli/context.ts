import type { ChalkInstance } from 'chalk';
import type { Command } from 'commander';
import type { CliEnv } from './env.js';
import type { Io } from './render.js';
import { loadBackend, resolveBackendOptions, type BackendOptions, type BackendPreference, type LoadedBackend } from '../backend/index.js';
import type { KernelPreference } from '../kernels/index.js';
import type { Threading } from '../kernels/threading.js';
import { tfLogLevel } from '../backend/tf-log.js';

/** What every command gets from main: streams and environment settings. */
export interface CliContext {
  /** stdout for results, stderr for progress and logs. */
  io: Io;
  /** Settings resolved from the environment. */
  env: CliEnv;
  /** The raw environment, for child processes only. */
  processEnv: NodeJS.ProcessEnv;
  /** Colours for stdout. */
  chalkOut: ChalkInstance;
  /** Colours for stderr. */
  chalkErr: ChalkInstance;
  /** Standard input (predict reads reviews from it) and whether it is a terminal. */
  stdin: NodeJS.ReadableStream;
  stdinIsTTY: boolean;
  /** The arguments the CLI was run with (the training worker is started with the same). */
  argv: string[];
  /** The oneDNN kernels' OpenMP threading: the user's variables and rnn's defaults, already in the environment. */
  threading: Threading;
}

/** The global flags (`rnn --backend cpu train …`), as parsed for the command being run. */
export interface GlobalFlags {
  debug?: boolean;
  backend: BackendPreference;
  gpu?: boolean;
  kernels: KernelPreference;
}

export function globalFlags(cmd: Command): GlobalFlags {
  return cmd.optsWithGlobals<GlobalFlags>();
}

/**
 * The backend options of a command: its global flags and the environment (RNN_REQUIRE_NATIVE). TensorFlow's
 * load-time lines are shown by TF_CPP_MIN_LOG_LEVEL (rnn's default 2, set by main's `run`), except with
 * --debug, where TensorFlow writes everything itself.
 */
export function backendOptions(ctx: CliContext, cmd: Command): BackendOptions {
  const g = globalFlags(cmd);
  return resolveBackendOptions({
    prefer: g.gpu ? 'gpu' : g.backend,
    requireNative: ctx.env.requireNative,
    kernels: g.kernels,
    tfLog: g.debug ? undefined : { minLevel: tfLogLevel(ctx.env.tfLogLevel), onednnOpts: ctx.env.onednnOpts },
  });
}

/** Loads tfjs and chooses the kernels as the command's flags say: the runtime its core functions receive. */
export async function loadRuntime(ctx: CliContext, cmd: Command): Promise<LoadedBackend> {
  const loaded = await loadBackend(backendOptions(ctx, cmd));
  showLoadLog(ctx, loaded.loadLog);
  return loaded;
}

/** TensorFlow's start-up lines that its log level shows (src/backend/tf-log.ts), on stderr. */
export function showLoadLog(ctx: CliContext, lines: readonly string[]): void {
  for (const line of lines) ctx.io.err.write(`${line}\n`);
}
