import { Option, type Command } from 'commander';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { packageRoot } from '../env.js';
import { UserError } from '../../errors.js';
import { loadBackend } from '../../backend/index.js';
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
    .description('benchmark: train and predict samples/s of stock tfjs-layers vs the fused layers, seed model, real IMDB batches')
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
    const rows = await runBench(backend.tf, data.train, { cells, batchSize: flags.batchSize, trainBatches: flags.trainBatches, predictBatches: flags.predictBatches, warmup: flags.warmup, maxlen: 256 }, (m) => status.update(m, true));
    let keras: KerasRows | undefined;
    if (flags.kerasPython) {
      status.update('Keras reference: training and predicting (src/bench/keras_reference.py)', true);
      keras = await runKeras(flags.kerasPython, data.source.path);
    }
    status.clear();
    const machine = `${os.cpus()[0]?.model.trim()} × ${os.availableParallelism?.() ?? os.cpus().length}, backend ${backend.name}${backend.tfVersion ? ` (TensorFlow ${backend.tfVersion})` : ''}, batch ${flags.batchSize}, maxlen 256`;
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

export function renderBench(rows: BenchRow[], machine: string, keras?: KerasRows): string {
  const k = keras ? ' Keras |' : '';
  let out = `${machine}${keras ? `, Keras ${keras.keras}` : ''}\n| cell | train samples/s stock | fused | ratio |${k} predict samples/s stock | fused | ratio |${k}\n|---|---:|---:|---:|${keras ? '---:|' : ''}---:|---:|---:|${keras ? '---:|' : ''}\n`;
  for (const cell of [...new Set(rows.map((r) => r.cell))]) {
    const s = rows.find((r) => r.cell === cell && r.impl === 'stock')!;
    const f = rows.find((r) => r.cell === cell && r.impl === 'fused')!;
    const kr = keras?.rows[cell];
    const kt = keras ? ` ${kr ? kr.trainSamplesPerSec.toFixed(1) : '?'} |` : '';
    const kp = keras ? ` ${kr ? kr.predictSamplesPerSec.toFixed(1) : '?'} |` : '';
    out += `| ${cell} | ${s.trainSamplesPerSec.toFixed(1)} | ${f.trainSamplesPerSec.toFixed(1)} | ${(f.trainSamplesPerSec / s.trainSamplesPerSec).toFixed(2)}× |${kt} ${s.predictSamplesPerSec.toFixed(1)} | ${f.predictSamplesPerSec.toFixed(1)} | ${(f.predictSamplesPerSec / s.predictSamplesPerSec).toFixed(2)}× |${kp}\n`;
  }
  return out;
}
