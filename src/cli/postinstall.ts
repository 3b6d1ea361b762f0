/**
 * npm postinstall: make the native backend work when tfjs-node's own install could not.
 * It never fails `npm install`: problems end in one warning and the pure-JS fallback.
 */
import { setupNative } from '../backend/native/setup.js';
import { chalkFor } from './render.js';
import { resolveCliEnv } from './env.js';
import { setupOptionsFromEnv, setupProgress, renderSetupResult, renderKernelBuild } from './native-setup-render.js';
import { buildOnednnKernels } from '../backend/native/kernels.js';

async function postinstall(): Promise<void> {
  const env = process.env;
  const cli = resolveCliEnv(env);
  const c = chalkFor(process.stderr, cli.colorAllowed);
  const verbose = /^(1|true)$/i.test(env.RNN_DEBUG ?? '');
  const options = setupOptionsFromEnv(env, false, cli);
  if (env.RNN_SKIP_NATIVE_SETUP && env.RNN_SKIP_NATIVE_SETUP !== '0') {
    process.stderr.write('rnn: RNN_SKIP_NATIVE_SETUP is set: skipping the native backend setup\n');
  } else {
    const progress = setupProgress(process.stderr, c, verbose);
    const status = await setupNative({ ...options, ...progress });
    progress.stop();
    process.stderr.write(renderSetupResult(status, c));
  }
  const kernels = await buildOnednnKernels({ nodedir: options.nodedir, npm: cli.npm, env, onOutput: verbose ? (s) => process.stderr.write(s) : () => {} });
  process.stderr.write(renderKernelBuild(kernels, c));
}

postinstall().catch((e: unknown) => {
  process.stderr.write(`rnn: warning: native backend setup crashed: ${(e as Error)?.stack ?? String(e)}\n`);
});
