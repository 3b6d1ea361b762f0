/** `--data`, `--text-column`, `--label-column`, shared by train, eval and data; loading with progress on stderr. */
import type { Command } from 'commander';
import { loadData, type LoadedData, type Split } from '../data/index.js';
import type { CliContext } from './context.js';
import { StatusLine, bar } from './progress.js';
import { megabytes } from './format.js';

export interface DataFlags {
  data?: string;
  textColumn?: string;
  labelColumn?: string;
}

export function addDataOptions(cmd: Command): Command {
  return cmd
    .option(
      '--data <source>',
      'aclImdb directory, aclImdb_v1.tar.gz (path or http(s) URL) or CSV file (default: IMDB, downloaded once into data/)',
    )
    .option('--text-column <name>', 'CSV column holding the review (default: review, text, sentence or content)')
    .option(
      '--label-column <name>',
      'CSV column holding the label: positive/negative, pos/neg or 1/0 (default: sentiment, label, polarity or target)',
    );
}

export async function loadDataForCli(ctx: CliContext, flags: DataFlags, splits: readonly Split[], status: StatusLine): Promise<LoadedData> {
  const c = ctx.chalkErr;
  return loadData({
    data: flags.data,
    defaultSource: ctx.env.imdbSource,
    splits,
    dataDir: ctx.env.dataDir,
    textColumn: flags.textColumn,
    labelColumn: flags.labelColumn,
    onStep: (m) => status.note(c.dim(m)),
    onDownload: (got, total) =>
      status.update(
        `downloading ${bar(got, total ?? 0)} ${megabytes(got)}${total ? ` of ${megabytes(total)} (${Math.floor((got / total) * 100)}%)` : ''}`,
      ),
  });
}
