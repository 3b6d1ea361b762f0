/** `--data`, `--text-column`, `--label-column`, `--target`, `--labels`, shared by train, eval and data; loading with progress on stderr. */
import { Option, type Command } from 'commander';
import * as path from 'node:path';
import { IMDB_TARGETS, loadData, type DataFlags, type LoadedData, type Split } from '../data/index.js';
import { holdOutTest, TEST_SPLIT_DEFAULT } from '../data/split.js';
import { UserError } from '../errors.js';
import { fraction, labelList } from './options.js';
import { checkTrainingReviews } from './training.js';
import type { CliContext } from './context.js';
import { StatusLine, bar } from './progress.js';
import { count, megabytes, percent } from './format.js';

/** The data flags as given; the type lives in src/data, beside what reads them, for src/io's run records. */
export type { DataFlags };

/** `--test-split` and `--split-column`: how `rnn train` and `rnn compare` hold out test rows of a CSV. */
export function addHoldOutOptions(cmd: Command): Command {
  return cmd
    .option(
      '--test-split <f>',
      `CSV data: share of the rows held out for testing before the validation split (default ${TEST_SPLIT_DEFAULT}; 0 trains on every row); rnn eval scores them`,
      fraction,
    )
    .option('--split-column <name>', 'CSV data: hold out the rows this column marks test (and train on those marked train)');
}

/**
 * The data as training sees it: a CSV's rows split into training rows and held-out test rows (recorded in
 * the source, so metadata.json says which, and said on stderr); other datasets as they are. The training
 * reviews are checked (both classes, at least two) for the whole file first, then for the rows kept.
 */
export function holdOutForCli(ctx: CliContext, status: StatusLine, data: LoadedData, flags: DataFlags, seed: number): LoadedData {
  checkTrainingReviews(data.train, data.source.path, data.labels); // the whole file's problem, not the split's
  if (data.source.kind !== 'csv') {
    if (flags.testSplit !== undefined || flags.splitColumn !== undefined) {
      throw new UserError(
        'OPTION_NOT_APPLICABLE',
        `--test-split and --split-column apply to a CSV, and ${data.source.path} is an aclImdb ${data.source.kind}`,
        'Leave them out: aclImdb has its own test split',
      );
    }
    return data;
  }
  const file = path.basename(data.source.path);
  const h = holdOutTest(data.train, {
    testSplit: flags.testSplit ?? TEST_SPLIT_DEFAULT,
    splitColumn: flags.splitColumn,
    seed,
    labels: data.labels,
    where: data.source.path,
  });
  const c = ctx.chalkErr;
  if (h.heldOut.method === 'none') {
    status.log(
      c.yellow(
        `warning: --test-split 0: all ${count(h.train.length)} reviews of ${file} train the model and none is left to test it; rnn eval will refuse to score this file (it would score training data)`,
      ),
    );
  } else {
    const how =
      h.heldOut.method === 'column' ? `marked test in column ${flags.splitColumn}` : `${percent(h.heldOut.share!, 0)}, seed ${seed}`;
    status.log(
      c.dim(
        `held out ${count(h.test.length)} of ${count(data.train.length)} reviews of ${file} for testing (${how}); rnn eval --data ${file} scores them`,
      ),
    );
  }
  checkTrainingReviews(h.train, `the training rows of ${data.source.path}`, data.labels);
  return { source: { ...data.source, heldOut: h.heldOut }, labels: data.labels, train: h.train, test: h.test };
}

export function addDataOptions(cmd: Command): Command {
  return cmd
    .option(
      '--data <source>',
      'aclImdb directory, aclImdb_v1.tar.gz (path or http(s) URL) or CSV file (default: IMDB, downloaded once into data/)',
    )
    .option('--text-column <name>', 'CSV column holding the review (default: review, text, sentence or content)')
    .option('--label-column <name>', 'CSV column holding the label: any names or numbers (default: sentiment, label, polarity or target)')
    .addOption(
      new Option(
        '--target <what>',
        'aclImdb: what to predict, the polarity (default: positive/negative) or the rating (the eight ratings 1-4 and 7-10 of the file names)',
      ).choices([...IMDB_TARGETS]),
    )
    .option(
      '--labels <names>',
      'the labels, comma-separated, in class order; any other label in the data is an error (default: read from the data, numbers sorted by value, names in code-unit order)',
      labelList,
    );
}

export async function loadDataForCli(
  ctx: CliContext,
  flags: DataFlags,
  splits: readonly Split[],
  status: StatusLine,
  csv: { splitColumnOptional?: boolean } = {},
): Promise<LoadedData> {
  const c = ctx.chalkErr;
  return loadData({
    data: flags.data,
    defaultSource: ctx.env.imdbSource,
    splits,
    dataDir: ctx.env.dataDir,
    reviewCache: ctx.env.reviewCacheDir,
    textColumn: flags.textColumn,
    labelColumn: flags.labelColumn,
    splitColumn: flags.splitColumn,
    splitColumnOptional: csv.splitColumnOptional,
    target: flags.target,
    labels: flags.labels,
    onStep: (m) => status.note(c.dim(m)),
    onDownload: (got, total) =>
      status.update(
        `downloading ${bar(got, total ?? 0)} ${megabytes(got)}${total ? ` of ${megabytes(total)} (${Math.floor((got / total) * 100)}%)` : ''}`,
      ),
  });
}
