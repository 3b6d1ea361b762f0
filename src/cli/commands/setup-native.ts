import type { Command } from 'commander';
import { setupNative } from '../../backend/native/setup.js';
import { UserError } from '../../errors.js';
import { globalFlags, type CliContext } from '../context.js';
import { setupOptionsFromEnv, setupProgress, renderSetupResult, renderKernelBuild, renderShimBuild } from '../native-setup-render.js';
import { buildStdioShim } from '../../backend/native/stdio.js';
import { buildOnednnKernels } from '../../kernels/build.js';

export function registerSetupNative(program: Command, ctx: CliContext): void {
  program
    .command('setup-native')
    .description(
      "provision libtensorflow, build the native TensorFlow binding, rnn's stdio shim and oneDNN kernels (what `npm install` runs)",
    )
    .option('--force', 'set up again even if the native backend already works')
    .option('--json', 'print the resulting status as JSON on stdout')
    .action(async (opts: { force?: boolean; json?: boolean }, command: Command) => {
      const debug = globalFlags(command).debug === true;
      const progress = setupProgress(ctx.io.err, ctx.chalkErr, debug);
      const options = setupOptionsFromEnv(ctx.processEnv, opts.force === true, ctx.env);
      const status = await setupNative({ ...options, ...progress });
      progress.stop();
      const build = {
        nodedir: options.nodedir,
        npm: ctx.env.npm,
        env: ctx.processEnv,
        onOutput: debug ? (s: string) => ctx.io.err.write(s) : () => {},
      };
      const shim = await buildStdioShim(build);
      const kernels = await buildOnednnKernels(build);
      if (opts.json) ctx.io.out.write(JSON.stringify({ ...status, stdioShim: shim, onednnKernels: kernels }, null, 2) + '\n');
      if (!status.ok)
        throw new UserError(status.error!.code ?? 'NATIVE_SETUP_FAILED', `native setup failed: ${status.error!.what}`, status.error!.fix);
      ctx.io.err.write(renderSetupResult(status, ctx.chalkErr));
      ctx.io.err.write(renderShimBuild(shim));
      ctx.io.err.write(renderKernelBuild(kernels, ctx.chalkErr));
    });
}
