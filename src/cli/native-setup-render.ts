/** Renders native-setup progress and results on stderr; shared by `rnn setup-native` and npm's postinstall. */
import type { KernelBuildResult } from '../kernels/build.js';
import type { ChalkInstance } from 'chalk';
import type { ProgressEvent } from '../backend/native/libtensorflow.js';
import { type NativeSetupOptions, type NativeStatus } from '../backend/native/setup.js';
import { resolveCliEnv, npmNodedir, type CliEnv } from './env.js';
import { PURE_JS_SLOWDOWN } from '../backend/index.js';
import { StatusLine } from './progress.js';

/**
 * Progress callbacks that print `rnn [t] <step>` lines; on a TTY a ticking "still working" line follows the
 * long steps (extract, compile). Child output is shown only when verbose or while pip downloads. Call
 * `stop()` when the setup is over.
 */
export function setupProgress(
  err: NodeJS.WritableStream & { isTTY?: boolean },
  c: ChalkInstance,
  verbose: boolean,
): Pick<NativeSetupOptions, 'onProgress' | 'onOutput'> & { stop: () => void } {
  const t0 = Date.now();
  const status = new StatusLine(err);
  let step = '';
  let ticker: NodeJS.Timeout | undefined;
  const stop = (): void => {
    if (ticker) clearInterval(ticker);
    ticker = undefined;
    status.clear();
  };
  return {
    onProgress: (e: ProgressEvent) => {
      stop();
      step = e.step;
      const secs = ((Date.now() - t0) / 1000).toFixed(1).padStart(5);
      status.log(`${c.dim(`rnn [${secs}s]`)} ${e.message}`);
      if (e.step === 'extract' || e.step === 'compile') {
        const started = Date.now();
        ticker = setInterval(
          () =>
            status.update(
              c.dim(`      ${e.step === 'compile' ? 'compiling' : 'extracting'}… ${Math.round((Date.now() - started) / 1000)}s`),
              true,
            ),
          1000,
        );
        ticker.unref();
      }
    },
    onOutput: (chunk: string) => {
      if (verbose || step === 'download' || step === 'npm') {
        status.clear();
        err.write(chunk);
      }
    },
    stop,
  };
}

/** All setup options, from the environment. */
export function setupOptionsFromEnv(
  env: NodeJS.ProcessEnv,
  force: boolean,
  cli: CliEnv = resolveCliEnv(env),
): Omit<NativeSetupOptions, 'onProgress' | 'onOutput'> {
  return {
    projectDir: cli.projectDir,
    userSource: cli.libtensorflow,
    cacheDir: cli.cacheDir,
    pip: cli.pip,
    npm: cli.npm,
    nodedir: npmNodedir(env, cli.npm),
    force,
    env,
  };
}

/** The closing lines of a setup: one success line, or one clear warning with the fix. */
export function renderSetupResult(status: NativeStatus, c: ChalkInstance): string {
  if (status.ok) {
    const from = status.libtensorflowSource
      ? ` (libtensorflow from ${status.libtensorflowSource}${status.bindingFromCache ? ', binding from cache' : ''})`
      : '';
    return `${c.green('rnn: native TensorFlow backend ready')}: TensorFlow ${status.tfVersion ?? '?'}${from}, ${status.seconds}s\n`;
  }
  const e = status.error!;
  return (
    `${c.yellow.bold('rnn: warning:')} ${c.yellow(`native TensorFlow backend not set up: ${e.what.replace(/\.$/, '')}.`)}\n` +
    `rnn: ${e.fix}.\n` +
    `rnn: until then rnn runs on pure-JS tfjs: predict and eval work, training is ${PURE_JS_SLOWDOWN}. \`npx rnn doctor\` shows the state.\n`
  );
}

/** One line after the oneDNN addon build: built, or why not and how to get it (never an error: the tfjs kernels remain). */
export function renderKernelBuild(r: KernelBuildResult, c: ChalkInstance): string {
  if (r.ok) return `${c.green('rnn: oneDNN recurrent kernels built')} (${r.seconds}s): training and prediction use them\n`;
  return (
    `rnn: note: oneDNN recurrent kernels not built: ${r.error!.what.replace(/\.$/, '')}. ${r.error!.fix}.\n` +
    'rnn: until then the fused layers run on tfjs/TensorFlow ops (about half the training speed). `npx rnn doctor` shows the state.\n'
  );
}

/** After the stdio shim's build: nothing when it is built (it only keeps stderr quiet), else one note with the fix. */
export function renderShimBuild(r: { ok: boolean; error?: { what: string; fix: string } }): string {
  return r.ok ? '' : `rnn: note: ${r.error!.what.replace(/\.$/, '')}. ${r.error!.fix}.\n`;
}
