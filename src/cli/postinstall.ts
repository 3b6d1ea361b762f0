/**
 * npm postinstall: make the native backend work when tfjs-node's own install could not, then build rnn's
 * stdio shim (TensorFlow's start-up log lines) and oneDNN kernels. It never fails `npm install`: problems end in one warning and the pure-JS fallback.
 */
import { setupNative } from '../backend/native/setup.js';
import { buildOnednnKernels } from '../kernels/build.js';
import { chalkFor } from './render.js';
import { resolveCliEnv } from './env.js';
import { setupOptionsFromEnv, setupProgress, renderSetupResult, renderKernelBuild, renderShimBuild } from './native-setup-render.js';
import { buildStdioShim } from '../backend/native/stdio.js';

async function postinstall(env: NodeJS.ProcessEnv): Promise<void> {
  const cli = resolveCliEnv(env);
  const c = chalkFor(process.stderr, cli.colorAllowed);
  const options = setupOptionsFromEnv(env, false, cli);
  if (cli.skipNativeSetup) {
    process.stderr.write('rnn: RNN_SKIP_NATIVE_SETUP is set: skipping the native backend setup\n');
  } else {
    const progress = setupProgress(process.stderr, c, cli.debug);
    const status = await setupNative({ ...options, ...progress });
    progress.stop();
    process.stderr.write(renderSetupResult(status, c));
  }
  const build = { nodedir: options.nodedir, npm: cli.npm, env, onOutput: cli.debug ? (s: string) => process.stderr.write(s) : () => {} };
  process.stderr.write(renderShimBuild(await buildStdioShim(build)));
  process.stderr.write(renderKernelBuild(await buildOnednnKernels(build), c));
}

postinstall(process.env).catch((e: unknown) => {
  process.stderr.write(`rnn: warning: native backend setup crashed: ${(e as Error)?.stack ?? String(e)}\n`);
});
