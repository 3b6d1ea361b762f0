/**
 * rnn's stdio shim (C source in src/backend/native/stdio, built into dist/addon/rnn_stdio.node by `npm install`
 * and `rnn setup-native`): it holds what the process writes to its standard error while tfjs-node loads, so
 * that TensorFlow's start-up log lines, which bypass TF_CPP_MIN_LOG_LEVEL, can be shown by that level
 * (src/backend/tf-log.ts). Without the shim (no C compiler) TensorFlow writes them as it always did.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAddon, firstBuildError, type AddonBuildOptions } from '../../util/addon.js';

/** The built shim: dist/addon/rnn_stdio.node (from dist/src/backend/native), beside rnn's other addon. */
export const STDIO_ADDON_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'addon', 'rnn_stdio.node');
/** Its source, read only by a build. */
export const STDIO_SOURCE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  '..',
  'src',
  'backend',
  'native',
  'stdio',
);

/** Standard error held in a file between `begin` and `end`. */
export interface StderrCapture {
  begin(): void;
  /** Puts standard error back and returns what was written to it since `begin`. */
  end(): string;
}

const require = createRequire(import.meta.url);

/** The shim, or undefined when it is not built (or does not load). */
export function loadStderrCapture(file: string = STDIO_ADDON_FILE): StderrCapture | undefined {
  try {
    return require(file) as StderrCapture;
  } catch {
    return undefined;
  }
}

/** Options of {@link buildStdioShim}: those of a build, the source and target defaulting to the shim's. */
export type StdioBuildOptions = Omit<AddonBuildOptions, 'source' | 'target'> & Partial<Pick<AddonBuildOptions, 'source' | 'target'>>;

/** Compiles the shim (a C compiler and npm's node-gyp; nothing else) and checks that it loads. */
export async function buildStdioShim(
  opts: StdioBuildOptions,
): Promise<{ ok: boolean; seconds: number; error?: { what: string; fix: string } }> {
  const r = await buildAddon({ ...opts, source: opts.source ?? STDIO_SOURCE, target: opts.target ?? STDIO_ADDON_FILE });
  if (r.ok) return r;
  const why =
    r.stage === 'no-source'
      ? 'its source is not here'
      : r.stage === 'no-node-gyp'
        ? "npm's node-gyp was not found"
        : (firstBuildError(r.output) ?? `node-gyp exit ${r.code}`);
  return {
    ok: false,
    seconds: r.seconds,
    error: {
      what: `building rnn's stdio shim failed (${why}), so TensorFlow's start-up log lines reach stderr`,
      fix: 'Install a C compiler, make and python3 for node-gyp, then run `npm run setup-native -- --debug`',
    },
  };
}
