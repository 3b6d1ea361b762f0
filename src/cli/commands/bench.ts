import { Option, type Command } from 'commander';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { packageRoot } from '../env.js';
import { UserError } from '../../errors.js';
import { loadBackend } from '../../backend/index.js';
import { loadOnednn } from '../../backend/onednn.js';
import { runBench, type BenchRow } from '../../bench/index.js';
import { CELLS, type CellType } from '../../models/index.js';
import type { CliContext } from '../context.js';
import { positiveInt, nonNegativeInt } from '../options.js';
import { addDataOptions, loadDataForCli, type DataFlags } from '../data-options.js';
import { StatusLine } from '../progress.js';

interface BenchFlags extends DataFlags {
  cells: string;
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
    .description("benchmark: train and predict samples/s of stock tfjs-layers vs the fused layers (tfjs ops, and rnn's oneDNN kernels when built), seed model, real IMDB batches")
    .addOption(new Option('--cells <list>', 'comma-separated cells').default(CELLS.join(',')))
    .option('--batch-size <n>', 'reviews per batch', positiveInt, 64)
    .option('--train-batches <n>', 'timed training batches per implementation', positiveInt, 10)
    .option('--predict-batches <n>', 'timed prediction batches per implementation', positiveInt, 20)
    .option('--warmup <n>', 'untimed batches first', nonNegativeInt, 2)
    .option('--keras-python <python>', 'also run src/bench/keras_reference.py with this Python (with tensorflow-cpu installed) for Keras columns')
    .option('--json', 'print the rows as JSON');
  addDataOptions(cmd).action(async (flags: BenchFlags) => {
    const status = new StatusLine(ctx.io.err);
    const cells = flags.cells.split(',').map((c) => c.trim().toLowerCase()).filter((c): c is CellType => (CELLS as readonly string[]).includes(c));
    const backend = await loadBackend(ctx.backend());
    const data = await loadDataForCli(ctx, flags, ['train'], status);
    const onednn = backend.kernels.name === 'onednn' ? loadOnednn().addon : undefined;
    const rows = await runBench(
      backend.tf,
      data.train,
      { cells, batchSize: flags.batchSize, trainBatches: flags.trainBatches, predictBatches: flags.predictBatches, warmup: flags.warmup, maxlen: 256, onednn },
      (m) => status.update(m, true),
    );
    let keras: KerasRows | undefined;
    if (flags.kerasPython) {
      status.update('Keras reference: training and predicting (src/bench/keras_reference.py)', true);
      keras = await runKeras(flags.kerasPython, data.source.path);
    }
    status.clear();
    const machine =
      `${os.cpus()[0]?.model.trim()} × ${os.availableParallelism?.() ?? os.cpus().length}, backend ${backend.name}${backend.tfVersion ? ` (TensorFlow ${backend.tfVersion})` : ''}, ` +
      `oneDNN kernels: ${onednn ? onednn.onednnVersion : `no (${backend.kernels.reason})`}, batch ${flags.batchSize}, maxlen 256`;
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

/** Runs the Keras reference script; its figures come from the same machine in the same run. */
function runKeras(python: string, tarball: string): Promise<KerasRows> {
  const script = path.join(packageRoot(), 'src', 'bench', 'keras_reference.py');
  return new Promise((resolve, reject) => {
    execFile(python, [script, tarball], { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) {
        reject(new UserError(`the Keras reference failed: ${(stderr || err.message).trim().split('\n').at(-1)}`, 'Pass --keras-python a Python with tensorflow-cpu==2.21.0 installed (see src/bench/keras_reference.py)'));
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
  const half = (what: string): string => ` ${what} ${names.join(' | ')} | ${names.at(-1)}/stock |${keras ? ` Keras | ${names.at(-1)}/Keras |` : ''}`;
  const cols = impls.length + 1 + (keras ? 2 : 0);
  let out = `${machine}${keras ? `, Keras ${keras.keras}` : ''}\n| cell |${half('train samples/s')}${half('predict samples/s')}\n|---|${'---:|'.repeat(2 * cols)}\n`;
  for (const cell of [...new Set(rows.map((r) => r.cell))]) {
    const get = (impl: string) => rows.find((r) => r.cell === cell && r.impl === impl)!;
    const part = (key: 'trainSamplesPerSec' | 'predictSamplesPerSec'): string => {
      const k = keras?.rows[cell]?.[key];
      const top = get(best)[key];
      const vals = impls.map((i) => get(i)[key].toFixed(1)).join(' | ');
      return ` ${vals} | ${(top / get('stock')[key]).toFixed(2)}× |${keras ? ` ${k ? k.toFixed(1) : '?'} | ${k ? `${(top / k).toFixed(2)}×` : '?'} |` : ''}`;
    };
    out += `| ${cell} |${part('trainSamplesPerSec')}${part('predictSamplesPerSec')}\n`;
  }
  return out;
}
