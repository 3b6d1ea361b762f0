/**
 * `rnn bench` (= `rnn bench layers`): training and prediction samples/s of stock tfjs-layers, the fused layers on tfjs
 * ops and rnn's oneDNN kernels, on real IMDB batches, optionally beside Keras. `rnn bench serve`, the load test of
 * `rnn serve`, is a command of its own (bench-serve.ts), registered under `rnn bench`.
 */
import { Option, type Command } from 'commander';
import * as path from 'node:path';
import { packageRoot } from '../env.js';
import { BENCH_DEFAULTS, runBench } from '../../bench/index.js';
import { runKerasReference, type KerasRows } from '../../bench/keras.js';
import { PRESET_NAMES, resolveTrainOptions, type PresetName } from '../../train/options.js';
import { describePresets } from '../training.js';
import type { CellType } from '../../cells.js';
import { loadRuntime, type CliContext } from '../context.js';
import { cellList, classCount, positiveInt, nonNegativeInt } from '../options.js';
import { addDataOptions, loadDataForCli, type DataFlags } from '../data-options.js';
import { StatusLine } from '../progress.js';
import { describeMachine } from '../render.js';
import { renderBench } from '../render-bench.js';
import { describeThreading } from '../../kernels/threading.js';

interface BenchFlags extends DataFlags {
  cells: CellType[];
  preset: PresetName;
  batchSize: number;
  trainBatches: number;
  predictBatches: number;
  warmup: number;
  classes: number;
  kerasPython?: string;
  json?: boolean;
}

const D = BENCH_DEFAULTS;

/**
 * Registers `rnn bench` and, as its default command, `rnn bench layers`; returns `rnn bench`, for `rnn bench serve`
 * to be registered under it. `rnn bench` itself has no options, so every flag after it reaches the command that runs.
 */
export function registerBench(program: Command, ctx: CliContext): Command {
  const bench = program
    .command('bench')
    .description("benchmarks: rnn's recurrent layers (samples/s, the default) or rnn serve under load")
    .addHelpText('after', '\n`rnn bench` runs `rnn bench layers`: `rnn bench layers --help` lists its flags.');
  const cmd = bench
    .command('layers', { isDefault: true })
    .description(
      "train and predict samples/s of stock tfjs-layers vs the fused layers (tfjs ops, and rnn's oneDNN kernels when built), lesson model, real IMDB batches",
    )
    .option('--cells <list>', `cells to measure, comma-separated (default ${D.cells.join(',')})`, cellList, [...D.cells])
    .addOption(
      new Option('--preset <name>', `the architecture of this preset of rnn train: ${describePresets()}`)
        .choices(PRESET_NAMES)
        .default(D.preset),
    )
    .option('--batch-size <n>', 'reviews per batch', positiveInt, D.batchSize)
    .option('--train-batches <n>', 'timed training batches per implementation', positiveInt, D.trainBatches)
    .option('--predict-batches <n>', 'timed prediction batches per implementation', positiveInt, D.predictBatches)
    .option('--warmup <n>', 'untimed batches first', nonNegativeInt, D.warmup)
    .option(
      '--classes <k>',
      "the head: 2, the lesson's Dense(1, sigmoid); 3 or more, Dense(k, softmax) with sparse categorical cross-entropy (Keras's too)",
      classCount,
      D.classes,
    )
    .option(
      '--keras-python <python>',
      'also run bench/keras_reference.py with this Python (with tensorflow-cpu installed) for Keras columns',
    )
    .option('--json', 'print the rows as JSON')
    // `rnn bench --serve` from before `rnn bench serve`: a usage error that names the command.
    .addOption(new Option('--serve').hideHelp())
    .addOption(new Option('--neighbour').hideHelp());
  cmd.on('option:serve', () => cmd.error('error: `rnn bench --serve` is now `rnn bench serve`: run that, with the same flags'));
  cmd.on('option:neighbour', () =>
    cmd.error('error: the neighbour benchmark is `rnn bench neighbour`: run that (`rnn bench neighbour --help`)'),
  );
  addDataOptions(cmd).action((flags: BenchFlags, command: Command) => benchCommand(ctx, command, flags));
  return bench;
}

async function benchCommand(ctx: CliContext, command: Command, flags: BenchFlags): Promise<void> {
  const status = new StatusLine(ctx.io.err);
  const data = await loadDataForCli(ctx, flags, ['train'], status); // before TensorFlow loads: bad data fails at once
  const backend = await loadRuntime(ctx, command);
  const { vocabSize, embeddingDim, maxlen, units, bidirectional, pooling } = resolveTrainOptions({ cell: 'lstm', preset: flags.preset });
  const model = { vocabSize, embeddingDim, maxlen, units, bidirectional, pooling };
  const { batchSize, trainBatches, predictBatches, warmup, classes } = flags;
  const rows = await runBench(
    backend.tf,
    data.train,
    { cells: flags.cells, batchSize, trainBatches, predictBatches, warmup, model, kernels: backend.kernels, classes },
    (m) => status.update(m, true),
  );
  let keras: KerasRows | undefined;
  if (flags.kerasPython) {
    status.update('Keras reference: training and predicting (bench/keras_reference.py)', true);
    const script = path.join(packageRoot(), 'bench', 'keras_reference.py');
    const args = [batchSize, trainBatches, predictBatches, warmup, vocabSize, maxlen, bidirectional ? 1 : 0, pooling, classes];
    keras = await runKerasReference(flags.kerasPython, script, data.source.path, args);
  }
  status.clear();
  const k = backend.kernels;
  const machine =
    `${describeMachine(backend)}, oneDNN kernels: ${k.name === 'onednn' ? `${k.addon.onednnVersion} on ${describeThreading(ctx.threading)}` : `no (${k.reason})`}, batch ${batchSize}, maxlen ${maxlen}` +
    (flags.preset === 'lesson' ? '' : `, preset ${describePresets([flags.preset])}`) +
    (classes === 2 ? '' : `, ${classes} classes (Dense(${classes}, softmax))`);
  ctx.io.out.write(
    flags.json ? JSON.stringify({ machine, threading: ctx.threading, rows, keras }, null, 2) + '\n' : renderBench(rows, machine, keras),
  );
}
