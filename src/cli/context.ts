import type { ChalkInstance } from 'chalk';
import type { CliEnv } from './env.js';
import type { Io } from './render.js';
import type { BackendOptions } from '../backend/index.js';

/** What every command gets from main: streams, environment settings and global flags. */
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
  /** True when --debug was given. */
  debug: () => boolean;
  /** Standard input (predict reads reviews from it) and whether it is a terminal. */
  stdin: NodeJS.ReadableStream;
  stdinIsTTY: boolean;
  /** The arguments the CLI was run with (the training worker is started with the same). */
  argv: string[];
  /** Backend options from global flags and the environment. */
  backend: () => BackendOptions;
}
