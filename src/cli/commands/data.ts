import type { Command } from 'commander';
import { datasetStats, type DataStats } from '../../data/stats.js';
import { IMBALANCE_WARNING_RATIO } from '../../data/labels.js';
import { duplicateReport, type DuplicateReport } from '../../data/duplicates.js';
import { MODEL_DEFAULTS } from '../../models/index.js';
import type { CliContext } from '../context.js';
import { positiveInt } from '../options.js';
import { addDataOptions, loadDataForCli, type DataFlags } from '../data-options.js';
import { StatusLine } from '../progress.js';
import { count, percent } from '../format.js';
import { col, textTable } from '../table.js';

interface DataCmdFlags extends DataFlags {
  maxlen?: number;
  vocabSize?: number;
  json?: boolean;
}

export function registerData(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('data')
    .alias('download')
    .description(
      'fetch the dataset (once) and print its statistics: reviews per split and label (a warning when a label has over 5x the reviews of another), lengths, share truncated',
    )
    .option('--maxlen <n>', `length reviews are truncated to (default ${MODEL_DEFAULTS.maxlen})`, positiveInt)
    .option('--vocab-size <n>', `tokenizer num_words for the truncation count (default ${MODEL_DEFAULTS.vocabSize})`, positiveInt)
    .option('--json', 'print the statistics as JSON');
  addDataOptions(cmd).action(async (flags: DataCmdFlags) => {
    const status = new StatusLine(ctx.io.err);
    const data = await loadDataForCli(ctx, flags, ['train', 'test'], status);
    status.clear();
    const stats = datasetStats(data, flags.maxlen ?? MODEL_DEFAULTS.maxlen, flags.vocabSize ?? MODEL_DEFAULTS.vocabSize);
    const duplicates = duplicateReport(data);
    for (const w of imbalanceWarnings(stats)) ctx.io.err.write(ctx.chalkErr.yellow(`warning: ${w}`) + '\n');
    if (flags.json) {
      ctx.io.out.write(JSON.stringify({ source: data.source, ...stats, duplicates }, null, 2) + '\n');
      return;
    }
    // Binary sentiment counts positive and negative reviews in the table; other label sets get a table of their own.
    const binary = stats.labels === undefined;
    const columns = [
      col('split'),
      ...['reviews', ...(binary ? ['pos', 'neg'] : []), 'words p50', 'p90', 'p95', 'max', `truncated at ${stats.maxlen}`].map((h) =>
        col(h, 'right'),
      ),
    ];
    const rows = Object.entries(stats.splits).map(([split, s]) => [
      split,
      count(s.reviews),
      ...(binary ? [count(s.positive ?? 0), count(s.negative ?? 0)] : []),
      count(s.words.p50),
      count(s.words.p90),
      count(s.words.p95),
      count(s.words.max),
      percent(s.truncatedShare),
    ]);
    ctx.io.out.write(
      `source  ${data.source.url ?? data.source.path} (${data.source.kind}, sha256 ${data.source.sha256.slice(0, 16)}…)\n` +
        textTable(columns, rows) +
        (binary ? '' : renderLabels(stats)) +
        `vocabulary: ${count(stats.vocabulary)} distinct words in train; ids kept: ${count(stats.numWords)}\n` +
        renderDuplicates(duplicates, binary),
    );
  });
}

/** Reviews per label (rows, in label order) and split (a count and a share each). */
export function renderLabels(stats: DataStats): string {
  const splits = Object.entries(stats.splits);
  const columns = [col('label'), ...splits.flatMap(([split]) => [col(split, 'right'), col('', 'right')])];
  const rows = (stats.labels?.names ?? []).map((name, c) => [
    name,
    ...splits.flatMap(([, s]) => {
      const n = s.byLabel?.[c]?.reviews ?? 0;
      return [count(n), percent(s.reviews > 0 ? n / s.reviews : 0)];
    }),
  ]);
  return textTable(columns, rows);
}

/** A warning per split whose largest label has over {@link IMBALANCE_WARNING_RATIO}× the reviews of its smallest (or a label has none). */
export function imbalanceWarnings(stats: DataStats): string[] {
  const out: string[] = [];
  for (const [split, s] of Object.entries(stats.splits)) {
    if (!s.byLabel || s.byLabel.length === 0) continue;
    const largest = s.byLabel.reduce((a, b) => (b.reviews > a.reviews ? b : a));
    const smallest = s.byLabel.reduce((a, b) => (b.reviews < a.reviews ? b : a));
    if (smallest.reviews === 0) {
      const none = s.byLabel.filter((l) => l.reviews === 0).map((l) => `"${l.label}"`);
      out.push(`the ${split} split has no reviews of label${none.length > 1 ? 's' : ''} ${none.join(', ')}`);
    } else if (s.imbalance !== undefined && s.imbalance !== null && s.imbalance > IMBALANCE_WARNING_RATIO) {
      out.push(
        `the ${split} split is imbalanced: label "${largest.label}" has ${count(largest.reviews)} reviews, ${s.imbalance.toFixed(1)}× the ${count(smallest.reviews)} of label "${smallest.label}" (rnn train --class-weight balanced weighs the labels equally)`,
      );
    }
  }
  return out;
}

/** Exact duplicates per split and between the splits, with what to do about them. */
export function renderDuplicates(d: DuplicateReport, binary = true): string {
  const lines: string[] = [];
  for (const split of ['train', 'test'] as const) {
    const s = d[split];
    if (!s) continue;
    const conflicting = s.conflictingLabels ? `, ${count(s.conflictingLabels)} with ${binary ? 'both' : 'different'} labels` : '';
    lines.push(
      `duplicates in ${split}: ${count(s.repeats)} review${s.repeats === 1 ? '' : 's'} repeat an earlier one's text (${count(s.texts)} texts${conflicting})`,
    );
  }
  if (d.testInTrain !== undefined) lines.push(`test reviews also in train, word for word: ${count(d.testInTrain)}`);
  if (lines.length && ((d.train?.repeats ?? 0) > 0 || (d.testInTrain ?? 0) > 0)) {
    lines.push('  (rnn train --dedupe drops the repeats; rnn eval --exclude-overlap scores test without the reviews in train)');
  }
  return lines.map((l) => l + '\n').join('');
}
