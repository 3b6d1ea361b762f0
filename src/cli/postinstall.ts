/**
 * npm postinstall: make the native backend work when tfjs-node's own install could not, then build rnn's
 * oneDNN kernels. It never fails `npm install`: problems end in one warning and the pure-JS fallback.
 */
import { setupNative } from '../backend/native/setup.js';
import { buildOnednnKernels } from '../kernels/build.js';
import { chalkFor } from './render.js';
import { resolveCliEnv } from './env.js';
import { setupOptionsFromEnv, setupProgress, renderSetupResult, renderKernelBuild } from './native-setup-render.js';

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
  const kernels = await buildOnednnKernels({
    nodedir: options.nodedir,
    npm: cli.npm,
    env,
    onOutput: cli.debug ? (s) => process.stderr.write(s) : () => {},
  });
  process.stderr.write(renderKernelBuild(kernels, c));
}

postinstall(process.env).catch((e: unknown) => {
  process.stderr.write(`rnn: warning: native backend setup crashed: ${(e as Error)?.stack ?? String(e)}\n`);
});
