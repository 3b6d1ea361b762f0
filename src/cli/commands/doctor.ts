import type { Command } from 'commander';
import { diagnose, type DoctorReport } from '../../backend/doctor.js';
import { UserError } from '../../errors.js';
import { backendOptions, showLoadLog, type CliContext } from '../context.js';
import { keyValues } from '../table.js';
import { describeThreading } from '../../kernels/threading.js';
import type { ChalkInstance } from 'chalk';

export function registerDoctor(program: Command, ctx: CliContext): void {
  program
    .command('doctor')
    .description('show which TensorFlow backend is in use and why; exits 1 when the native backend is missing')
    .option('--json', 'print the report as JSON on stdout')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const report = await diagnose({
        projectDir: ctx.env.projectDir,
        dataDir: ctx.env.dataDir,
        modelsDir: ctx.env.modelsDir,
        cacheDir: ctx.env.cacheDir,
        onednnOpts: ctx.env.onednnOpts,
        backend: { ...backendOptions(ctx, command), requireNative: false },
        threading: ctx.threading,
      });
      showLoadLog(ctx, report.tfLog.lines);
      ctx.io.out.write(opts.json ? JSON.stringify(report, null, 2) + '\n' : renderDoctor(report, ctx.chalkOut));
      if (!report.ok) {
        throw new UserError(
          'NATIVE_UNAVAILABLE',
          `the native TensorFlow backend is not available: ${report.backend.nativeError ?? 'unknown reason'}`,
          report.fix!,
        );
      }
    });
}

function tfLogRow(t: DoctorReport['tfLog'], c: ChalkInstance): string {
  if (t.held) return `${c.green('✓')} held by rnn's stdio shim and shown by TF_CPP_MIN_LOG_LEVEL=${t.minLevel}`;
  if (!t.shim) return `${c.yellow('✗')} rnn's stdio shim is not built, so TensorFlow writes its start-up lines to stderr. ${t.fix}`;
  return t.minLevel === undefined ? 'written by TensorFlow itself (--debug)' : 'not loaded by this process';
}

export function renderDoctor(r: DoctorReport, c: ChalkInstance): string {
  const mark = r.ok ? c.green('✓') : c.red('✗');
  const tfLine = r.versions.tensorflow
    ? `${r.versions.tensorflow}${r.libtensorflow.source ? ` (libtensorflow from ${r.libtensorflow.source})` : ''}`
    : c.dim('not loaded');
  const rows: Array<[string, string]> = [['backend', `${mark} ${c.bold(r.backend.name)} (${r.backend.package}): ${r.backend.reason}`]];
  if (r.backend.nativeError) rows.push(['native error', c.red(r.backend.nativeError)]);
  if (r.libtensorflow.setup && !r.libtensorflow.setup.ok && r.libtensorflow.setup.error) {
    rows.push(['last setup', c.red(`${r.libtensorflow.setup.error.what} (${r.libtensorflow.setup.at})`)]);
  }
  rows.push(
    ['TensorFlow', tfLine],
    [
      'versions',
      `rnn ${r.versions.rnn}, tfjs ${r.versions.tfjs}, tfjs-node ${r.versions.tfjsNode ?? c.dim('not installed')}, node ${r.versions.node}`,
    ],
    ['CPU threads', `${r.cpu.threads} (${r.cpu.model})`],
    ['RNN kernels', r.recurrentKernels],
    ['recipe layers', r.recipeLayers],
    [
      'oneDNN kernels',
      r.onednnKernels.active
        ? `${c.green('✓')} ${r.onednnKernels.reason}`
        : `${c.yellow('✗')} ${r.onednnKernels.reason}${r.onednnKernels.fix ? `. ${r.onednnKernels.fix}` : ''}`,
    ],
    ['kernel threads', describeThreading(r.threading)],
    ['TF oneDNN', `TF_ENABLE_ONEDNN_OPTS=${r.onednn.TF_ENABLE_ONEDNN_OPTS ?? ''} (${r.onednn.meaning})`],
    ['TF start-up log', tfLogRow(r.tfLog, c)],
    ['data cache', r.dirs.data],
    ['models', r.dirs.models],
    ['native cache', r.dirs.cache],
  );
  return keyValues(rows);
}
