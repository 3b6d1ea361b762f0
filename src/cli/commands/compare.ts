import type { Command } from 'commander';
import type { ChalkInstance } from 'chalk';
import * as path from 'node:path';
import { loadBackend } from '../../backend/index.js';
import { compareCells, bucketLabel, compareMarkdown, type CompareReport } from '../../compare/index.js';
import { testSubset } from '../../eval/index.js';
import { CELLS, type CellType } from '../../models/index.js';
import { UserError } from '../../errors.js';
import type { CliContext } from '../context.js';
import { cellList, positiveInt } from '../options.js';
import { addDataOptions, loadDataForCli, type DataFlags } from '../data-options.js';
import { addTrainingOptions, checkTrainingReviews, trainOptionsFromFlags, type TrainingFlags } from '../train-options.js';
import { StatusLine, bar, formatDuration } from '../progress.js';
import { runEnvironment, trainingProgress, warnIfPureJs } from './train.js';
import { describeRecipe } from '../../train/control.js';

interface CompareFlags extends DataFlags, TrainingFlags {
  cells: CellType[];
  testLimit?: number;
  out?: string;
  json?: boolean;
  markdown?: boolean;
}

export function registerCompare(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('compare')
    .description('train and score several cells on the same split and seed, and print one table (plus report.json and report.md)')
    .option('--cells <list>', 'cells to compare, comma-separated (default simplernn,lstm,gru)', cellList, [...CELLS])
    .option('--test-limit <n>', 'score a fixed random subset of N test reviews (default all)', positiveInt)
    .option('--out <dir>', 'where the models and reports go (default models/compare)');
  addDataOptions(addTrainingOptions(cmd))
    .option('--json', 'print the report as JSON')
    .option('--markdown', 'print the report as Markdown')
    .action(async (flags: CompareFlags) => {
      const status = new StatusLine(ctx.io.err);
      const backend = await loadBackend(ctx.backend());
      warnIfPureJs(ctx, status, backend);
      const { cell: _first, ...shared } = trainOptionsFromFlags(flags, flags.cells[0]!);
      const outDir = path.resolve(flags.out ?? path.join(ctx.env.modelsDir, 'compare'));
      const data = await loadDataForCli(ctx, flags, ['train', 'test'], status);
      checkTrainingReviews(data.train, data.source.path);
      if (data.test.length === 0) throw new UserError('the data has no test reviews', 'Pass --data with a test split (an aclImdb directory or tarball)');
      const test = testSubset(data.test, flags.testLimit);
      const c = ctx.chalkErr;
      const report = await compareCells(
        backend.tf,
        data.train,
        test,
        { cells: flags.cells, train: shared, outDir, evalBatchSize: 256 },
        runEnvironment(backend, data.source),
        {
          onCell: (cell, i, n) => {
            status.log(c.bold(`[${i + 1}/${n}] ${cell}`));
            return { ...trainingProgress(ctx, status, { ...shared, cell }, false), onModel: undefined };
          },
          onScore: (cell, done, total) => status.update(`scoring ${cell} ${bar(done, total)} ${done}/${total}`),
          onRow: (r) => status.log(`${r.cell}: test accuracy ${(r.test.accuracy * 100).toFixed(2)}% (epoch ${r.weightsEpoch} of ${r.epochs}), saved to ${r.dir}`),
        },
      );
      status.clear();
      if (flags.json) ctx.io.out.write(JSON.stringify(report, null, 2) + '\n');
      else if (flags.markdown) ctx.io.out.write(compareMarkdown(report));
      else ctx.io.out.write(renderCompare(report, ctx.chalkOut));
    });
}

function table(head: string[], rows: string[][], c: ChalkInstance, leftCols = 1): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((v, i) => (i < leftCols ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  return [c.bold(line(head)), ...rows.map(line)].join('\n') + '\n';
}

const pct = (v: number | null): string => (v === null || Number.isNaN(v) ? '-' : `${(v * 100).toFixed(1)}%`);

export function renderCompare(r: CompareReport, c: ChalkInstance): string {
  const o = r.options;
  const n = (x: number): string => x.toLocaleString('en-US');
  const head = ['cell', 'params', 'train time', 'samples/s', 'best val acc', 'saved', 'test acc', 'F1', 'ROC-AUC'];
  const rows = r.rows.map((x) => [
    x.cell,
    n(x.params),
    formatDuration(x.trainSeconds),
    x.samplesPerSec.toFixed(0),
    x.bestValAcc === null ? '-' : `${pct(x.bestValAcc)} (${x.bestValEpoch})`,
    `${x.weightsEpoch} of ${x.epochs}`,
    pct(x.test.accuracy),
    pct(x.test.f1),
    Number.isNaN(x.test.rocAuc) ? '-' : x.test.rocAuc.toFixed(3),
  ]);
  const buckets = r.rows[0]?.byLength ?? [];
  const lengthHead = ['test accuracy by length', ...buckets.map((b) => `${bucketLabel(b)} (${n(b.count)})`)];
  const lengthRows = r.rows.map((x) => [x.cell, ...x.byLength.map((b) => pct(b.accuracy))]);
  return (
    `${n(r.data.trainReviews)} training / ${n(r.data.validationReviews)} validation / ${n(r.data.testReviews)} test reviews · ${o.epochs} epochs, batch ${o.batchSize}, maxlen ${o.maxlen}, seed ${o.seed} · ${describeRecipe(o)} · ` +
    (o.restoreBest ? `best epoch by ${o.monitor} kept\n\n` : 'last epoch kept\n\n') +
    table(head, rows, c) +
    '\n' +
    table(lengthHead, lengthRows, c) +
    `\nreports: ${r.files.markdown}, ${r.files.json}\n`
  );
}
