import { Option, type Command } from 'commander';
import * as path from 'node:path';
import { UserError } from '../../errors.js';
import { resolveModelDir } from '../../io/model-dir.js';
import { exportWebSite, type WebExport } from '../../web/site.js';
import { QUANTIZATIONS, type Quantization } from '../../web/quantize.js';
import { loadRuntime, type CliContext } from '../context.js';
import { bytes } from '../format.js';
import { col, textTable } from '../table.js';

interface ExportFlags {
  web?: string;
  model?: string;
  quantize: Quantization;
  json?: boolean;
}

export function registerExport(program: Command, ctx: CliContext): void {
  program
    .command('export')
    .description('export a saved model: --web DIR writes a static page that predicts and explains in the browser')
    .option('--web <dir>', 'write a self-contained static site (index.html, the script, tfjs, the model) to DIR')
    .option('--model <dir>', 'model directory (default models/latest)')
    .addOption(
      new Option('--quantize <how>', 'store the weights as float32 (none), float16 or uint8 (tfjs weight quantization)')
        .choices([...QUANTIZATIONS])
        .default('none'),
    )
    .option('--json', 'print what was written as JSON')
    .action(async (flags: ExportFlags, command: Command) => {
      if (!flags.web) throw new UserError('nothing to export to', 'Pass --web DIR to write a static site');
      const model = await resolveModelDir(ctx.env.modelsDir, flags.model);
      const runtime = await loadRuntime(ctx, command);
      const site = await exportWebSite(runtime, { model, out: flags.web, quantize: flags.quantize });
      ctx.io.out.write(flags.json ? JSON.stringify(site, null, 2) + '\n' : renderExport(site, model, flags.web));
    });
}

/** What the export wrote: the files and their sizes, the total, and how to open the page. */
export function renderExport(site: WebExport, model: string, given: string): string {
  const weights = site.quantize === 'none' ? 'float32 weights' : `${site.quantize} weights`;
  const rows = site.files.map((f) => [f.name, bytes(f.bytes)]);
  return (
    `exported ${model} to ${site.dir} (${weights}): ${bytes(site.totalBytes)} in ${site.files.length} files\n` +
    textTable([col('file'), col('size', 'right')], rows) +
    `open it: rnn serve --web ${path.normalize(given)} (then http://127.0.0.1:8080/), or host the directory on any static web server\n`
  );
}
