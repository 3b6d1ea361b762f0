import { Option, type Command } from 'commander';
import * as path from 'node:path';
import { UserError } from '../../errors.js';
import { readModelDir, resolveModelDir } from '../../io/model-dir.js';
import { exportKeras, type KerasExport } from '../../keras/index.js';
import { exportWebSite, type WebExport } from '../../web/site.js';
import { QUANTIZATIONS, type Quantization } from '../../web/quantize.js';
import { loadRuntime, type CliContext } from '../context.js';
import { bytes } from '../format.js';
import { kerasFile } from '../options.js';
import { describeArchitecture } from '../render-model.js';
import { col, textTable } from '../table.js';

interface ExportFlags {
  web?: string;
  keras?: string;
  model?: string;
  quantize: Quantization;
  json?: boolean;
}

export function registerExport(program: Command, ctx: CliContext): void {
  program
    .command('export')
    .description(
      'export a saved model: --web DIR writes a static page that predicts and explains in the browser; --keras FILE.keras a Keras 3 model',
    )
    .option('--web <dir>', 'write a self-contained static site (index.html, the script, tfjs, the model) to DIR')
    .addOption(
      new Option(
        '--keras <file>',
        'write a Keras 3 archive (FILE.keras, opened by keras.saving.load_model), its tokenizer beside it (FILE.tokenizer.json) and, unless they are negative,positive, its labels (FILE.labels.json)',
      )
        .argParser(kerasFile)
        .conflicts('web'),
    )
    .option('--model <dir>', 'model directory (default models/latest)')
    .addOption(
      new Option('--quantize <how>', 'store the weights as float32 (none), float16 or uint8 (tfjs weight quantization)')
        .choices([...QUANTIZATIONS])
        .default('none'),
    )
    .option('--json', 'print what was written as JSON')
    .action(async (flags: ExportFlags, command: Command) => {
      const { web, keras } = flags;
      if (!web && !keras) {
        throw new UserError(
          'OPTION_REQUIRED',
          'nothing to export to',
          'Pass --web DIR to write a static site, or --keras FILE.keras to write a Keras 3 model',
        );
      }
      const model = await resolveModelDir(ctx.env.modelsDir, flags.model);
      // A missing or broken model is reported before TensorFlow loads (about a second); the export reads it again.
      await readModelDir(model);
      const runtime = await loadRuntime(ctx, command);
      if (keras) {
        const k = await exportKeras(runtime, { model, out: keras });
        ctx.io.out.write(flags.json ? JSON.stringify(k, null, 2) + '\n' : renderKerasExport(k, model));
        return;
      }
      const site = await exportWebSite(runtime, { model, out: web!, quantize: flags.quantize });
      ctx.io.out.write(flags.json ? JSON.stringify(site, null, 2) + '\n' : renderExport(site, model, web!));
    });
}

/** What the export wrote: the files and their sizes, the total, and how to open the page. */
export function renderExport(site: WebExport, model: string, given: string): string {
  const weights = site.quantize === 'none' ? 'float32 weights' : `${site.quantize} weights`;
  const rows = site.files.map((f) => [f.name, bytes(f.bytes)]);
  return (
    `exported ${model} to ${site.dir} (${weights}): ${bytes(site.totalBytes)} in ${site.files.length} files\n` +
    textTable([col('file'), col('size', 'right')], rows) +
    `open it: rnn serve --web ${path.normalize(given)} (then http://127.0.0.1:8080/), or host the directory on any static web server\n` +
    `(wasm threads need the two headers in _headers, which Netlify and Cloudflare Pages read; elsewhere set them in the server's configuration)\n`
  );
}

/** What the Keras export wrote, and the two lines that load it in Keras. */
export function renderKerasExport(k: KerasExport, model: string): string {
  const p = k.preprocessing;
  return (
    `exported ${model} to ${k.file} (Keras ${k.kerasVersion} archive, ${bytes(k.bytes)}): ${describeArchitecture(k.spec.cell, k.spec)}\n` +
    `tokenizer: ${k.tokenizer} (Keras's Tokenizer JSON)\n` +
    (k.labels ? `labels: ${k.labels.file} (${k.labels.names.join(', ')}: the model's outputs in order)\n` : '') +
    `in Keras: model = keras.saving.load_model("${path.basename(k.file)}"); ` +
    `x = pad_sequences(tokenizer.texts_to_sequences(texts), maxlen=${p.maxlen}, padding="${p.padding}", truncating="${p.truncating}")\n`
  );
}
