import type { ChalkInstance } from 'chalk';
import type { Command } from 'commander';
import type { CliEnv } from './env.js';
import type { Io } from './render.js';
import { loadBackend, resolveBackendOptions, type BackendOptions, type BackendPreference, type LoadedBackend } from '../backend/index.js';
import type { KernelPreference } from '../kernels/index.js';

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

/** The backend options of a command: its global flags and the environment (RNN_REQUIRE_NATIVE). */
export function backendOptions(ctx: CliContext, cmd: Command): BackendOptions {
  const g = globalFlags(cmd);
  return resolveBackendOptions({ prefer: g.gpu ? 'gpu' : g.backend, requireNative: ctx.env.requireNative, kernels: g.kernels });
}

/** Loads tfjs and chooses the kernels as the command's flags say: the runtime its core functions receive. */
export function loadRuntime(ctx: CliContext, cmd: Command): Promise<LoadedBackend> {
  return loadBackend(backendOptions(ctx, cmd));
}
