import type { Command } from 'commander';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { packageRoot } from '../env.js';
import { UserError } from '../../errors.js';
import { runBench, type BenchRow } from '../../bench/index.js';
import { MODEL_DEFAULTS } from '../../models/index.js';
import { CELLS, type CellType } from '../../cells.js';
import { loadRuntime, type CliContext } from '../context.js';
import { cellList, positiveInt, nonNegativeInt } from '../options.js';
import { addDataOptions, loadDataForCli, type DataFlags } from '../data-options.js';
import { StatusLine } from '../progress.js';
import { decimal } from '../format.js';
import { col, markdownTable } from '../table.js';

interface BenchFlags extends DataFlags {
  cells: CellType[];
  batchSize: number;
  trainBatches: number;
  predictBatches: number;
  warmup: number;
  kerasPython?: string;
  json?: boolean;
}

export function registerBench(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('bench')
    .description(
      "benchmark: train and predict samples/s of stock tfjs-layers vs the fused layers (tfjs ops, and rnn's oneDNN kernels when built), lesson model, real IMDB batches",
    )
    .option('--cells <list>', `cells to measure, comma-separated (default ${CELLS.join(',')})`, cellList, [...CELLS])
    .option('--batch-size <n>', 'reviews per batch', positiveInt, 64)
    .option('--train-batches <n>', 'timed training batches per implementation', positiveInt, 10)
    .option('--predict-batches <n>', 'timed prediction batches per implementation', positiveInt, 20)
    .option('--warmup <n>', 'untimed batches first', nonNegativeInt, 2)
    .option(
      '--keras-python <python>',
      'also run src/bench/keras_reference.py with this Python (with tensorflow-cpu installed) for Keras columns',
    )
    .option('--json', 'print the rows as JSON');
  addDataOptions(cmd).action(async (flags: BenchFlags, command: Command) => {
    const status = new StatusLine(ctx.io.err);
    const backend = await loadRuntime(ctx, command);
    const data = await loadDataForCli(ctx, flags, ['train'], status);
    const maxlen = MODEL_DEFAULTS.maxlen;
    const rows = await runBench(
      backend.tf,
      data.train,
      {
        cells: flags.cells,
        batchSize: flags.batchSize,
        trainBatches: flags.trainBatches,
        predictBatches: flags.predictBatches,
        warmup: flags.warmup,
        maxlen,
        kernels: backend.kernels,
      },
      (m) => status.update(m, true),
    );
    let keras: KerasRows | undefined;
    if (flags.kerasPython) {
      status.update('Keras reference: training and predicting (src/bench/keras_reference.py)', true);
      keras = await runKeras(flags.kerasPython, data.source.path, [
        flags.batchSize,
        flags.trainBatches,
        flags.predictBatches,
        flags.warmup,
      ]);
    }
    status.clear();
    const k = backend.kernels;
    const machine =
      `${os.cpus()[0]?.model.trim()} × ${os.availableParallelism?.() ?? os.cpus().length}, backend ${backend.name}${backend.tfVersion ? ` (TensorFlow ${backend.tfVersion})` : ''}, ` +
      `oneDNN kernels: ${k.name === 'onednn' ? k.addon.onednnVersion : `no (${k.reason})`}, batch ${flags.batchSize}, maxlen ${maxlen}`;
    if (flags.json) {
      ctx.io.out.write(JSON.stringify({ machine, rows, keras }, null, 2) + '\n');
      return;
    }
    ctx.io.out.write(renderBench(rows, machine, keras));
  });
}

interface KerasRows {
  keras: string;
  rows: Record<string, { trainSamplesPerSec: number; predictSamplesPerSec: number }>;
}

/** Runs the Keras reference script on the same batches (batch size, timed train and predict batches, warm-up); its figures come from the same machine in the same run. */
function runKeras(python: string, tarball: string, batches: number[]): Promise<KerasRows> {
  const script = path.join(packageRoot(), 'src', 'bench', 'keras_reference.py');
  return new Promise((resolve, reject) => {
    execFile(python, [script, tarball, ...batches.map(String)], { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) {
        reject(
          new UserError(
            `the Keras reference failed: ${(stderr || err.message).trim().split('\n').at(-1)}`,
            'Pass --keras-python a Python with tensorflow-cpu==2.21.0 installed (see src/bench/keras_reference.py)',
          ),
        );
        return;
      }
      resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as KerasRows);
    });
  });
}

/** The benchmark as a Markdown table: samples/s per implementation, the fastest against stock, Keras when run. */
export function renderBench(rows: BenchRow[], machine: string, keras?: KerasRows): string {
  const impls = (['stock', 'fused', 'onednn'] as const).filter((i) => rows.some((r) => r.impl === i));
  const names = impls.map((i) => (i === 'onednn' ? 'oneDNN' : i));
  const best = impls.at(-1)!;
  const half = (what: string) => [
    col(`${what} ${names[0]}`, 'right'),
    ...names.slice(1).map((n) => col(n, 'right')),
    col(`${names.at(-1)}/stock`, 'right'),
    ...(keras ? [col('Keras', 'right'), col(`${names.at(-1)}/Keras`, 'right')] : []),
  ];
  const times = (a: number, b: number | undefined): string => (b ? `${decimal(a / b, 2)}×` : '?');
  const part = (cell: string, key: 'trainSamplesPerSec' | 'predictSamplesPerSec'): string[] => {
    const get = (impl: string): BenchRow => rows.find((r) => r.cell === cell && r.impl === impl)!;
    const top = get(best)[key];
    const k = keras?.rows[cell]?.[key];
    return [
      ...impls.map((i) => decimal(get(i)[key], 1)),
      times(top, get('stock')[key]),
      ...(keras ? [k ? decimal(k, 1) : '?', times(top, k)] : []),
    ];
  };
  const cells = [...new Set(rows.map((r) => r.cell))];
  return (
    `${machine}${keras ? `, Keras ${keras.keras}` : ''}\n` +
    markdownTable(
      [col('cell'), ...half('train samples/s'), ...half('predict samples/s')],
      cells.map((cell) => [cell, ...part(cell, 'trainSamplesPerSec'), ...part(cell, 'predictSamplesPerSec')]),
    )
  );
}
