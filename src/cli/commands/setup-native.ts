import type { Command } from 'commander';
import { setupNative } from '../../backend/native/setup.js';
import { UserError } from '../../errors.js';
import type { CliContext } from '../context.js';
import { setupOptionsFromEnv, setupProgress, renderSetupResult } from '../native-setup-render.js';

export function registerSetupNative(program: Command, ctx: CliContext): void {
  program
    .command('setup-native')
    .description('provision libtensorflow and build the native TensorFlow binding (what `npm install` runs)')
    .option('--force', 'set up again even if the native backend already works')
    .option('--json', 'print the resulting status as JSON on stdout')
    .action(async (opts: { force?: boolean; json?: boolean }) => {
      const progress = setupProgress(ctx.io.err, ctx.chalkErr, ctx.debug());
      const status = await setupNative({ ...setupOptionsFromEnv(ctx.processEnv, opts.force === true, ctx.env), ...progress });
      progress.stop();
      if (opts.json) ctx.io.out.write(JSON.stringify(status, null, 2) + '\n');
      if (!status.ok) throw new UserError(`native setup failed: ${status.error!.what}`, status.error!.fix);
      ctx.io.err.write(renderSetupResult(status, ctx.chalkErr));
    });
}
