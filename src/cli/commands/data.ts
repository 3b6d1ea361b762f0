import type { Command } from 'commander';
import { datasetStats } from '../../data/stats.js';
import type { CliContext } from '../context.js';
import { positiveInt } from '../options.js';
import { addDataOptions, loadDataForCli, type DataFlags } from '../data-options.js';
import { StatusLine } from '../progress.js';
import { MODEL_DEFAULTS } from '../../models/index.js';

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
    .option('--maxlen <n>', 'length reviews are truncated to (default 256)', positiveInt)
    .option('--vocab-size <n>', 'tokenizer num_words for the truncation count (default 10000)', positiveInt)
    .option('--json', 'print the statistics as JSON');
  addDataOptions(cmd).action(async (flags: DataCmdFlags) => {
    const status = new StatusLine(ctx.io.err);
    const data = await loadDataForCli(ctx, flags, ['train', 'test'], status);
    status.clear();
    const stats = datasetStats(data, flags.maxlen ?? MODEL_DEFAULTS.maxlen, flags.vocabSize ?? MODEL_DEFAULTS.vocabSize);
    if (flags.json) {
      ctx.io.out.write(JSON.stringify({ source: data.source, ...stats }, null, 2) + '\n');
      return;
    }
    let out = `source  ${data.source.url ?? data.source.path} (${data.source.kind}, sha256 ${data.source.sha256.slice(0, 16)}…)\n`;
    out += `${'split'.padEnd(6)} ${'reviews'.padStart(8)} ${'pos'.padStart(7)} ${'neg'.padStart(7)}   words: ${'p50'.padStart(5)} ${'p90'.padStart(5)} ${'p95'.padStart(5)} ${'max'.padStart(6)}   truncated at ${stats.maxlen}\n`;
    for (const [split, s] of Object.entries(stats.splits)) {
      out += `${split.padEnd(6)} ${String(s.reviews).padStart(8)} ${String(s.positive).padStart(7)} ${String(s.negative).padStart(7)}          ${String(s.words.p50).padStart(5)} ${String(s.words.p90).padStart(5)} ${String(s.words.p95).padStart(5)} ${String(s.words.max).padStart(6)}   ${(s.truncatedShare * 100).toFixed(1)}%\n`;
    }
    out += `vocabulary: ${stats.vocabulary} distinct words in train; ids kept: ${stats.numWords}\n`;
    ctx.io.out.write(out);
  });
}
