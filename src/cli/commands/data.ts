import type { Command } from 'commander';
import { datasetStats } from '../../data/stats.js';
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
    .description('fetch the dataset (once) and print its statistics: reviews per split and label, lengths, share truncated')
    .option('--maxlen <n>', `length reviews are truncated to (default ${MODEL_DEFAULTS.maxlen})`, positiveInt)
    .option('--vocab-size <n>', `tokenizer num_words for the truncation count (default ${MODEL_DEFAULTS.vocabSize})`, positiveInt)
    .option('--json', 'print the statistics as JSON');
  addDataOptions(cmd).action(async (flags: DataCmdFlags) => {
    const status = new StatusLine(ctx.io.err);
    const data = await loadDataForCli(ctx, flags, ['train', 'test'], status);
    status.clear();
    const stats = datasetStats(data, flags.maxlen ?? MODEL_DEFAULTS.maxlen, flags.vocabSize ?? MODEL_DEFAULTS.vocabSize);
    const duplicates = duplicateReport(data);
    if (flags.json) {
      ctx.io.out.write(JSON.stringify({ source: data.source, ...stats, duplicates }, null, 2) + '\n');
      return;
    }
    const columns = [
      col('split'),
      ...['reviews', 'pos', 'neg', 'words p50', 'p90', 'p95', 'max', `truncated at ${stats.maxlen}`].map((h) => col(h, 'right')),
    ];
    const rows = Object.entries(stats.splits).map(([split, s]) => [
      split,
      count(s.reviews),
      count(s.positive),
      count(s.negative),
      count(s.words.p50),
      count(s.words.p90),
      count(s.words.p95),
      count(s.words.max),
      percent(s.truncatedShare),
    ]);
    ctx.io.out.write(
      `source  ${data.source.url ?? data.source.path} (${data.source.kind}, sha256 ${data.source.sha256.slice(0, 16)}…)\n` +
        textTable(columns, rows) +
        `vocabulary: ${count(stats.vocabulary)} distinct words in train; ids kept: ${count(stats.numWords)}\n` +
        renderDuplicates(duplicates),
    );
  });
}

/** Exact duplicates per split and between the splits, with what to do about them. */
export function renderDuplicates(d: DuplicateReport): string {
  const lines: string[] = [];
  for (const split of ['train', 'test'] as const) {
    const s = d[split];
    if (!s) continue;
    const conflicting = s.conflictingLabels ? `, ${count(s.conflictingLabels)} with both labels` : '';
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
