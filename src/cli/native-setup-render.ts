/** Renders native-setup progress and results on stderr; shared by `rnn setup-native` and npm's postinstall. */
import type { ChalkInstance } from 'chalk';
import type { ProgressEvent } from '../backend/native/libtensorflow.js';
import { type NativeSetupOptions, type NativeStatus } from '../backend/native/setup.js';
import { resolveCliEnv, npmNodedir, type CliEnv } from './env.js';
import { PURE_JS_SLOWDOWN } from '../backend/index.js';

/** Progress callbacks that print `rnn: <step>` lines with elapsed time; child output only when verbose or downloading. */
export function setupProgress(err: NodeJS.WritableStream, c: ChalkInstance, verbose: boolean): Pick<NativeSetupOptions, 'onProgress' | 'onOutput'> {
  const t0 = Date.now();
  let step = '';
  return {
    onProgress: (e: ProgressEvent) => {
      step = e.step;
      const secs = ((Date.now() - t0) / 1000).toFixed(1).padStart(5);
      err.write(`${c.dim(`rnn [${secs}s]`)} ${e.message}\n`);
    },
    onOutput: (chunk: string) => {
      if (verbose || step === 'download' || step === 'npm') err.write(chunk);
    },
  };
}

/** All setup options, from the environment. */
export function setupOptionsFromEnv(env: NodeJS.ProcessEnv, force: boolean, cli: CliEnv = resolveCliEnv(env)): Omit<NativeSetupOptions, 'onProgress' | 'onOutput'> {
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
    const from = status.libtensorflowSource ? ` (libtensorflow from ${status.libtensorflowSource}${status.bindingFromCache ? ', binding from cache' : ''})` : '';
    return `${c.green('rnn: native TensorFlow backend ready')}: TensorFlow ${status.tfVersion ?? '?'}${from}, ${status.seconds}s\n`;
  }
  const e = status.error!;
  return (
    `${c.yellow.bold('rnn: warning:')} ${c.yellow(`native TensorFlow backend not set up: ${e.what.replace(/\.$/, '')}.`)}\n` +
    `rnn: ${e.fix}.\n` +
    `rnn: until then rnn runs on pure-JS tfjs: predict and eval work, training is ${PURE_JS_SLOWDOWN}. \`npx rnn doctor\` shows the state.\n`
  );
}
