/**
 * `rnn bench neighbour`: training samples/s of each cell idle and beside a busy neighbour (a shell loop taking one
 * core), with rnn's threading and with OpenMP's default wait, and Keras's beside the same neighbour; runs
 * alternated, medians over rounds. Registered under `rnn bench`.
 */
import type { Command } from 'commander';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packageRoot } from '../env.js';
import { UserError } from '../../errors.js';
import { NEIGHBOUR_BENCH_DEFAULTS, runNeighbourBench, type NeighbourRow } from '../../bench/neighbour.js';
import { describeThreading, threadingEnv, type Threading } from '../../kernels/threading.js';
import type { CellType } from '../../cells.js';
import type { CliContext } from '../context.js';
import { cellList, nonNegativeInt, positiveInt } from '../options.js';
import { addDataOptions, loadDataForCli, type DataFlags } from '../data-options.js';
import { StatusLine } from '../progress.js';
import { count, decimal, percent } from '../format.js';
import { col, markdownTable } from '../table.js';

export interface NeighbourBenchFlags extends DataFlags {
  cells: CellType[];
  reviews: number;
  batchSize: number;
  epochs: number;
  rounds: number;
  seed: number;
  kerasPython?: string;
  pin?: number;
  json?: boolean;
}

const D = NEIGHBOUR_BENCH_DEFAULTS;

/** Registers `neighbour` under `rnn bench`. */
export function registerBenchNeighbour(bench: Command, ctx: CliContext): void {
  const cmd = bench
    .command('neighbour')
    .description(
      'training samples/s of each cell idle and beside a busy neighbour (a shell loop on one core), rnn train and Keras, runs alternated, medians over rounds',
    )
    .option('--cells <list>', `cells to measure, comma-separated (default ${D.cells.join(',')})`, cellList, [...D.cells])
    .option('--reviews <n>', 'training reviews of each run (rnn train --limit)', positiveInt, D.reviews)
    .option('--batch-size <n>', 'reviews per step', positiveInt, D.batchSize)
    .option('--epochs <n>', 'epochs of each run', positiveInt, D.epochs)
    .option('--rounds <n>', 'rounds: every run once per round, the order reversed every other round', positiveInt, D.rounds)
    .option('--seed <n>', 'seed of every run', nonNegativeInt, D.seed)
    .option(
      '--keras-python <python>',
      'also run bench/keras_fit_reference.py with this Python (tensorflow-cpu installed) beside the neighbour',
    )
    .option('--pin <cpu>', 'pin the neighbour to this CPU (taskset); default: the scheduler places it', nonNegativeInt)
    .option('--json', 'print every figure as JSON');
  addDataOptions(cmd).action((flags: NeighbourBenchFlags) => neighbourBenchCommand(ctx, flags));
}

async function neighbourBenchCommand(ctx: CliContext, flags: NeighbourBenchFlags): Promise<void> {
  const status = new StatusLine(ctx.io.err);
  const data = await loadDataForCli(ctx, flags, ['train'], status);
  if (data.source.kind === 'csv' || (flags.kerasPython && data.source.kind !== 'tarball')) {
    throw new UserError(
      'OPTION_NOT_APPLICABLE',
      `rnn bench neighbour trains on aclImdb${flags.kerasPython ? "'s tarball (the Keras script reads it)" : ''}, and ${data.source.path} is a ${data.source.kind}`,
      'Pass --data aclImdb_v1.tar.gz, or leave --data out for IMDB',
    );
  }
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rnn-bench-neighbour-'));
  try {
    const rnnSet = Object.keys(threadingEnv(ctx.threading));
    const userEnv = Object.fromEntries(Object.entries(ctx.processEnv).filter(([k]) => !rnnSet.includes(k)));
    const { rows, runs } = await runNeighbourBench(
      {
        cells: flags.cells,
        rounds: flags.rounds,
        reviews: flags.reviews,
        batchSize: flags.batchSize,
        epochs: flags.epochs,
        seed: flags.seed,
        data: data.source.path,
        rnn: [process.execPath, path.join(packageRoot(), 'bin', 'rnn')],
        modelDir: path.join(dir, 'model'),
        keras: flags.kerasPython
          ? { python: flags.kerasPython, script: path.join(packageRoot(), 'bench', 'keras_fit_reference.py') }
          : undefined,
        pin: flags.pin,
        // Its training runs point their own models/latest, in the bench's folder: the user's stays as it was.
        env: { ...ctx.processEnv, RNN_MODELS_DIR: dir },
        userEnv,
      },
      (m) => status.update(m, true),
    );
    status.clear();
    const machine = describeNeighbourBench(ctx.threading, flags);
    ctx.io.out.write(
      flags.json ? JSON.stringify({ machine, threading: ctx.threading, rows, runs }, null, 2) + '\n' : renderNeighbourBench(rows, machine),
    );
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

/** The line above the table: what ran, on which threading. */
export function describeNeighbourBench(
  threading: Threading,
  f: Pick<NeighbourBenchFlags, 'reviews' | 'epochs' | 'batchSize' | 'rounds' | 'pin'>,
): string {
  return (
    `${os.cpus()[0]?.model.trim()} × ${threading.cores.affinity}, oneDNN kernels on ${describeThreading(threading)}; ` +
    `${count(f.reviews)} reviews, ${f.epochs} epoch${f.epochs === 1 ? '' : 's'}, batch ${f.batchSize}; ` +
    `neighbour: a shell busy loop${f.pin === undefined ? '' : ` pinned to CPU ${f.pin}`}; median (range) of ${f.rounds} alternated round${f.rounds === 1 ? '' : 's'}`
  );
}

/** The issue's four columns (training samples/s), then rnn's lead over Keras beside the neighbour and what it kept of its idle speed. */
export function renderNeighbourBench(rows: readonly NeighbourRow[], machine: string): string {
  const keras = rows.some((r) => r.columns.kerasNeighbour);
  const cell = (v: { median: number; min: number; max: number } | undefined): string =>
    v ? `${count(Math.round(v.median))} (${count(Math.round(v.min))}–${count(Math.round(v.max))})` : '–';
  return (
    `${machine}\n` +
    markdownTable(
      [
        col('cell'),
        col('rnn idle', 'right'),
        col('rnn, busy neighbour', 'right'),
        col("rnn, busy neighbour, OpenMP's default wait", 'right'),
        ...(keras ? [col('Keras, busy neighbour', 'right'), col('rnn / Keras, neighbour', 'right')] : []),
        col('rnn kept', 'right'),
      ],
      rows.map((r) => [
        r.cell,
        cell(r.columns.rnnIdle),
        cell(r.columns.rnnNeighbour),
        cell(r.columns.rnnNeighbourSpin),
        ...(keras ? [cell(r.columns.kerasNeighbour), r.kerasRatio === undefined ? '–' : `${decimal(r.kerasRatio, 2)}×`] : []),
        percent(r.kept, 0),
      ]),
    )
  );
}
