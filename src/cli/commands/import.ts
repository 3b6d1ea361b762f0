import { Option, type Command } from 'commander';
import * as path from 'node:path';
import { UserError } from '../../errors.js';
import { labelsOf, pointLatest } from '../../io/model-dir.js';
import { importKeras, tokenizerBeside, type KerasImport } from '../../keras/index.js';
import { TRAIN_DEFAULTS } from '../../train/options.js';
import { exists } from '../../util/fs.js';
import { PAD_SIDES, type PadSide } from '../../text/pad.js';
import { loadRuntime, type CliContext } from '../context.js';
import { count } from '../format.js';
import { labelList, positiveInt } from '../options.js';
import { describeArchitecture } from '../render-model.js';
import { packageVersion } from '../version.js';

interface ImportFlags {
  tokenizer?: string;
  labels?: string[];
  out?: string;
  maxlen?: number;
  padding: PadSide;
  truncating: PadSide;
  json?: boolean;
}

export function registerImport(program: Command, ctx: CliContext): void {
  program
    .command('import')
    .description('import a Keras 3 model (FILE.keras) and its tokenizer as a model directory every command takes')
    .argument('<file>', 'the .keras archive (keras.saving.save_model / model.save("model.keras"))')
    .option('--tokenizer <file>', "Keras's tokenizer.to_json() for the model's texts (default FILE.tokenizer.json beside the archive)")
    .option(
      '--labels <names>',
      "the labels, comma-separated, in the order of the model's outputs (default FILE.labels.json beside the archive, as rnn export --keras writes it; a Dense(1, sigmoid) model without either is negative,positive)",
      labelList,
    )
    .option('--out <dir>', `model directory to write (default ${path.join('models', 'NAME')}, NAME the archive's; becomes models/latest)`)
    .option('--maxlen <n>', "ids per review, as pad_sequences made them (default the model's input length)", positiveInt)
    .addOption(
      new Option('--padding <side>', 'where pad_sequences put the padding in Keras')
        .choices([...PAD_SIDES])
        .default(TRAIN_DEFAULTS.padding),
    )
    .addOption(
      new Option('--truncating <side>', 'which end pad_sequences cut long reviews at in Keras')
        .choices([...PAD_SIDES])
        .default(TRAIN_DEFAULTS.truncating),
    )
    .option('--json', 'print what was imported as JSON')
    .action(async (file: string, flags: ImportFlags, command: Command) => {
      const tokenizer = flags.tokenizer ?? tokenizerBeside(file);
      if (!flags.tokenizer && !(await exists(tokenizer))) {
        throw new UserError(
          'KERAS_TOKENIZER_MISSING',
          `no tokenizer for ${file} (looked for ${tokenizer})`,
          "Pass --tokenizer with the JSON Keras's tokenizer.to_json() wrote for the texts the model was trained on",
        );
      }
      const out = flags.out ?? path.join(ctx.env.modelsDir, path.basename(file).replace(/\.keras$/i, ''));
      const runtime = await loadRuntime(ctx, command);
      const r = await importKeras(runtime, {
        file,
        tokenizer,
        labels: flags.labels,
        out,
        maxlen: flags.maxlen,
        padding: flags.padding,
        truncating: flags.truncating,
        versions: { rnn: packageVersion(), tfjs: runtime.tfjsVersion, node: process.versions.node },
      });
      await pointLatest(ctx.env.modelsDir, out);
      ctx.io.out.write(flags.json ? JSON.stringify(importJson(r), null, 2) + '\n' : renderImport(r, file, out));
    });
}

function importJson(r: KerasImport): object {
  return {
    dir: r.dir,
    ...r.spec,
    params: r.params,
    imported: r.metadata.imported,
    ...(r.labelsFrom !== null && { labels: r.metadata.labels, labelsFrom: r.labelsFrom }),
    preprocessing: r.metadata.preprocessing,
  };
}

/** What was imported and what to do with it next. */
export function renderImport(r: KerasImport, file: string, out: string): string {
  const p = r.metadata.preprocessing;
  return (
    `imported ${file} to ${r.dir}: ${describeArchitecture(r.spec.cell, r.spec)} · ${count(r.params)} parameters\n` +
    `preprocessing: Keras Tokenizer num_words ${p.numWords} · maxlen ${p.maxlen}, padding ${p.padding}, truncating ${p.truncating}\n` +
    (r.labelsFrom !== null ? `labels: ${labelsOf(r.metadata).names.join(', ')} (from ${r.labelsFrom})\n` : '') +
    `try: rnn predict --model ${out} "A wonderful film."   (or rnn eval, rnn serve, rnn export --web)\n`
  );
}
