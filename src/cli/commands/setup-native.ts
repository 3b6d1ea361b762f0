import type { Command } from 'commander';
import { setupNative } from '../../backend/native/setup.js';
import { UserError } from '../../errors.js';
import type { CliContext } from '../context.js';
import { setupOptionsFromEnv, setupProgress, renderSetupResult, renderKernelBuild } from '../native-setup-render.js';
import { buildOnednnKernels } from '../../backend/native/kernels.js';

export function registerSetupNative(program: Command, ctx: CliContext): void {
  program
    .command('setup-native')
    .description("provision libtensorflow, build the native TensorFlow binding and rnn's oneDNN kernels (what `npm install` runs)")
    .option('--force', 'set up again even if the native backend already works')
    .option('--json', 'print the resulting status as JSON on stdout')
    .action(async (opts: { force?: boolean; json?: boolean }) => {
      const progress = setupProgress(ctx.io.err, ctx.chalkErr, ctx.debug());
      const options = setupOptionsFromEnv(ctx.processEnv, opts.force === true, ctx.env);
      const status = await setupNative({ ...options, ...progress });
      progress.stop();
      const debug = ctx.debug();
      const kernels = await buildOnednnKernels({ nodedir: options.nodedir, npm: ctx.env.npm, env: ctx.processEnv, onOutput: debug ? (s) => ctx.io.err.write(s) : () => {} });
      if (opts.json) ctx.io.out.write(JSON.stringify({ ...status, onednnKernels: kernels }, null, 2) + '\n');
      if (!status.ok) throw new UserError(`native setup failed: ${status.error!.what}`, status.error!.fix);
      ctx.io.err.write(renderSetupResult(status, ctx.chalkErr));
      ctx.io.err.write(renderKernelBuild(kernels, ctx.chalkErr));
    });
}
