import { isClassMetrics } from '../../eval/classes.js';
import type { Command } from 'commander';
import type { ChalkInstance } from 'chalk';
import * as path from 'node:path';
import { compareCells, type CompareReport, type CompareRow } from '../../compare/index.js';
import { testSubset } from '../../predict/score.js';
import { PREDICT_BATCH_SIZE } from '../../predict/index.js';
import { describeRecipe } from '../../train/control.js';
import type { PresetName } from '../../train/options.js';
import type { LengthBucket } from '../../eval/metrics.js';
import { CELLS, type CellType } from '../../cells.js';
import { UserError } from '../../errors.js';
import { writeFileAtomic } from '../../util/fs.js';
import { loadRuntime, type CliContext } from '../context.js';
import { cellList, positiveInt, presetList } from '../options.js';
import { addDataOptions, addHoldOutOptions, holdOutForCli, loadDataForCli, type DataFlags } from '../data-options.js';
import {
  addTrainingOptions,
  runEnvironment,
  trainOptionsFromFlags,
  trainingProgress,
  trainOverrides,
  describePresets,
  warnIfPureJs,
  warnIfTfjsFallback,
  loadInit,
  logInit,
  type TrainingFlags,
} from '../training.js';
import { checkInitOptions } from '../../train/index.js';
import { readLanguageModelMetadata } from '../../io/lm-dir.js';
import { StatusLine, bar } from '../progress.js';
import { count, decimal, duration, percent } from '../format.js';
import { col, markdownTable, textTable, type Column } from '../table.js';

interface CompareFlags extends DataFlags, TrainingFlags {
  /** Undefined: every cell, or with --init the language model's. */
  cells?: CellType[];
  init?: string;
  presets: PresetName[];
  testLimit?: number;
  out?: string;
  json?: boolean;
  markdown?: boolean;
}

export function registerCompare(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('compare')
    .description('train and score several cells on the same split and seed, and print one table (plus report.json and report.md)')
    .option('--cells <list>', `cells to compare, comma-separated (default ${CELLS.join(',')}; with --init the language model's)`, cellList)
    .option(
      '--init <dir>',
      "a language model (rnn pretrain): its cell is trained from scratch and from it, side by side (its shapes must be the classifier's)",
    )
    .option(
      '--presets <list>',
      `train every cell with each of these presets, comma-separated: ${describePresets()} (default lesson)`,
      presetList,
      ['lesson'],
    )
    .option('--test-limit <n>', 'score a fixed random subset of N test reviews (default all)', positiveInt)
    .option('--out <dir>', 'where the models and reports go (default models/compare)');
  addHoldOutOptions(addDataOptions(addTrainingOptions(cmd)))
    .option('--json', 'print the report as JSON')
    .option('--markdown', 'print the report as Markdown')
    .action(async (flags: CompareFlags, command: Command) => {
      const status = new StatusLine(ctx.io.err);
      // --init's language model by its metadata: one that does not fit stops the run before the data is read.
      const lm = flags.init !== undefined ? await readLanguageModelMetadata(flags.init) : undefined;
      const cells = flags.cells ?? (lm ? [lm.options.cell] : [...CELLS]);
      if (lm) {
        const dir = path.resolve(flags.init!);
        if (!cells.includes(lm.options.cell))
          throw new UserError(
            'INIT_MISMATCH',
            `the language model ${dir} is a ${lm.options.cell}, and --cells ${cells.join(',')} leaves it out`,
            `Add ${lm.options.cell} to --cells, or leave --cells out`,
          );
        for (const preset of flags.presets)
          checkInitOptions(trainOptionsFromFlags({ ...flags, preset }, lm.options.cell), { dir, options: lm.options });
        // rnn eval's leak guard refuses test reviews a language model read; compare scores test reviews and has no
        // --allow-training-data, so a language model that read the labeled test reviews is refused here.
        if (lm.texts.includesTest)
          throw new UserError(
            'EVAL_ON_PRETRAINING_TEXT',
            `the language model ${dir} was pretrained on labeled test reviews (--allow-test-text), which rnn compare would score`,
            'Pretrain without --allow-test-text, or train with rnn train --init and score with rnn eval --allow-training-data',
          );
      }
      const shared = trainOptionsFromFlags(flags, cells[0]!); // the seed every row shares
      const outDir = path.resolve(flags.out ?? path.join(ctx.env.modelsDir, 'compare'));
      // A CSV: every cell trains on the same rows and is scored on the same held-out rows (the shared seed's).
      // The data is read and checked before TensorFlow loads (about a second).
      const data = holdOutForCli(ctx, status, await loadDataForCli(ctx, flags, ['train', 'test'], status), flags, shared.seed);
      if (data.test.length === 0)
        throw new UserError(
          'DATA_NO_TEST_REVIEWS',
          'the data has no test reviews',
          'Pass --data with a test split (aclImdb), or hold out CSV rows with --test-split above 0',
        );
      const backend = await loadRuntime(ctx, command);
      warnIfPureJs(ctx, status, backend, shared.layers);
      for (const preset of flags.presets) warnIfTfjsFallback(ctx, status, backend, trainOptionsFromFlags({ ...flags, preset }, cells[0]!));
      const test = testSubset(data.test, flags.testLimit);
      const init = flags.init !== undefined ? await loadInit(backend.tf, flags.init) : undefined;
      if (init) logInit(ctx, status, init);
      const c = ctx.chalkErr;
      const report = await compareCells(
        backend,
        data.train,
        test,
        {
          cells,
          presets: flags.presets,
          train: { ...trainOverrides(flags), seed: shared.seed },
          outDir,
          evalBatchSize: PREDICT_BATCH_SIZE,
          labels: data.labels,
          ...(init && { init }),
        },
        runEnvironment(backend, data.source),
        {
          onCell: (name, i, n, options) => {
            status.log(c.bold(`[${i + 1}/${n}] ${name}`));
            return { ...trainingProgress(ctx, status, options, false), onModel: undefined };
          },
          onScore: (name, done, total) => status.update(`scoring ${name} ${bar(done, total)} ${done}/${total}`),
          onRow: (r) =>
            status.log(
              `${r.name}: test accuracy ${percent(r.test.accuracy, 2)} (epoch ${r.weightsEpoch} of ${r.epochs}), saved to ${r.dir}`,
            ),
        },
      );
      init?.from.model.dispose();
      await writeFileAtomic(report.files.markdown, compareMarkdown(report));
      status.clear();
      if (flags.json) ctx.io.out.write(JSON.stringify(report, null, 2) + '\n');
      else if (flags.markdown) ctx.io.out.write(compareMarkdown(report));
      else ctx.io.out.write(renderCompare(report, ctx.chalkOut));
    });
}

/** A length bucket's heading: `≤ 128 words`, `129–256 words`, `> 512 words`. */
export function bucketLabel(b: Pick<LengthBucket, 'min' | 'max'>): string {
  return b.max === null ? `> ${b.min - 1} words` : b.min === 0 ? `≤ ${b.max} words` : `${b.min}–${b.max} words`;
}

/** The two tables of a report: one row per cell, then test accuracy by review length. */
function reportTables(r: Pick<CompareReport, 'rows'>): { main: [Column[], string[][]]; byLength: [Column[], string[][]] } {
  // A binary model's F1 and ROC-AUC; k ≥ 3 labels: macro- and weighted-F1 (the rows of one report share their labels).
  const k = r.rows.length > 0 && isClassMetrics(r.rows[0]!.test);
  const mainColumns = [
    col('cell'),
    ...[
      'params',
      'train time',
      'samples/s',
      'best val acc (epoch)',
      'saved epoch',
      'test acc',
      ...(k ? ['macro-F1', 'weighted-F1'] : ['F1', 'ROC-AUC']),
    ].map((h) => col(h, 'right')),
  ];
  const mainRows = r.rows.map((x: CompareRow) => [
    x.name,
    count(x.params),
    duration(x.trainSeconds),
    decimal(x.samplesPerSec, 0),
    x.bestValAcc === null ? percent(null) : `${percent(x.bestValAcc)} (${x.bestValEpoch})`,
    `${x.weightsEpoch} of ${x.epochs}`,
    percent(x.test.accuracy),
    ...(isClassMetrics(x.test) ? [percent(x.test.macroF1), percent(x.test.weightedF1)] : [percent(x.test.f1), decimal(x.test.rocAuc, 3)]),
  ]);
  const buckets = r.rows[0]?.byLength ?? [];
  const lengthColumns = [col('cell'), ...buckets.map((b) => col(`${bucketLabel(b)} (${count(b.count)})`, 'right'))];
  const lengthRows = r.rows.map((x) => [x.name, ...x.byLength.map((b) => percent(b.accuracy))]);
  return { main: [mainColumns, mainRows], byLength: [lengthColumns, lengthRows] };
}

/** The data and recipe of a report in one sentence (and what each preset of its rows sets). */
function reportSetting(r: Pick<CompareReport, 'data' | 'options' | 'rows'>, sep: string): string {
  const o = r.options;
  const presets = [...new Set(r.rows.map((x) => x.preset).filter((p) => p !== 'lesson'))];
  return (
    `${o.epochs} epochs, batch ${o.batchSize}, maxlen ${o.maxlen}, seed ${o.seed}${sep}${describeRecipe(o)}${sep}` +
    (o.restoreBest ? `best epoch by ${o.monitor} kept` : 'last epoch kept') +
    presets.map((p) => `${sep}preset ${describePresets([p])}`).join('') +
    r.rows
      .filter((x) => x.init)
      .slice(0, 1)
      .map((x) => `${sep}init: started from the language model ${x.options.init}`)
      .join('')
  );
}

export function renderCompare(r: CompareReport, c: ChalkInstance): string {
  const t = reportTables(r);
  return (
    `${count(r.data.trainReviews)} training / ${count(r.data.validationReviews)} validation / ${count(r.data.testReviews)} test reviews · ${reportSetting(r, ' · ')}\n\n` +
    textTable(...t.main, { chalk: c }) +
    '\n' +
    textTable([col('test accuracy by length'), ...t.byLength[0].slice(1)], t.byLength[1], { chalk: c }) +
    `\nreports: ${r.files.markdown}, ${r.files.json}\n`
  );
}

/** The report as Markdown (report.md, `--markdown`): the main table, then test accuracy by review length. */
export function compareMarkdown(r: Pick<CompareReport, 'data' | 'options' | 'rows'>): string {
  const t = reportTables(r);
  const data = `${count(r.data.trainReviews)} training / ${count(r.data.validationReviews)} validation reviews, ${count(r.data.testReviews)} test reviews from \`${r.data.path}\``;
  return `# rnn compare\n\n${data}; ${reportSetting(r, '; ')}.\n\n${markdownTable(...t.main)}\n## Test accuracy by review length\n\n${markdownTable(...t.byLength)}`;
}
