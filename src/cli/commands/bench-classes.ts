/**
 * `rnn bench classes`: what k classes cost in training. The binary model and the same model with a head of k
 * classes, trained step for step as `rnn train` trains them, their steps interleaved in one process on the same
 * real IMDB batches; samples/s of each and their ratio, medians over rounds. Registered under `rnn bench`.
 */
import { Option, type Command } from 'commander';
import { CLASSES_BENCH_DEFAULTS, runClassesBench, type ClassesBenchResult } from '../../bench/index.js';
import { PRESET_NAMES, resolveTrainOptions, type PresetName } from '../../train/options.js';
import type { CellType } from '../../cells.js';
import { describePresets } from '../training.js';
import { loadRuntime, type CliContext } from '../context.js';
import { cellList, classCount, nonNegativeInt, positiveInt } from '../options.js';
import { addDataOptions, loadDataForCli, type DataFlags } from '../data-options.js';
import { StatusLine } from '../progress.js';
import { decimal, percent } from '../format.js';
import { describeMachine } from '../render.js';
import { col, markdownTable } from '../table.js';

interface ClassesBenchFlags extends DataFlags {
  cells: CellType[];
  classes: number;
  preset: PresetName;
  batchSize: number;
  batches: number;
  rounds: number;
  warmup: number;
  json?: boolean;
}

const D = CLASSES_BENCH_DEFAULTS;

/** Registers `classes` under `rnn bench`. */
export function registerBenchClasses(bench: Command, ctx: CliContext): void {
  const cmd = bench
    .command('classes')
    .description('training samples/s of a model of k classes against the binary model, steps interleaved, medians over rounds')
    .option('--cells <list>', `cells to measure, comma-separated (default ${D.cells.join(',')})`, cellList, [...D.cells])
    .option('--classes <k>', 'classes of the head measured against the binary one', classCount, D.classes)
    .addOption(
      new Option('--preset <name>', `the architecture of this preset of rnn train: ${describePresets()}`)
        .choices(PRESET_NAMES)
        .default(D.preset),
    )
    .option('--batch-size <n>', "reviews per step (rnn train's default)", positiveInt, D.batchSize)
    .option('--batches <n>', 'timed steps per model per round', positiveInt, D.batches)
    .option('--rounds <n>', 'rounds (the ratio is the median of the rounds)', positiveInt, D.rounds)
    .option('--warmup <n>', 'untimed steps per model first', nonNegativeInt, D.warmup)
    .option('--json', 'print every figure as JSON');
  addDataOptions(cmd).action(async (flags: ClassesBenchFlags, command: Command) => {
    const status = new StatusLine(ctx.io.err);
    const data = await loadDataForCli(ctx, flags, ['train'], status); // before TensorFlow loads: bad data fails at once
    const backend = await loadRuntime(ctx, command);
    const { vocabSize, embeddingDim, maxlen, units, bidirectional, pooling } = resolveTrainOptions({ cell: 'lstm', preset: flags.preset });
    const rows: ClassesBenchResult[] = [];
    for (const cell of flags.cells) {
      rows.push(
        await runClassesBench(
          backend.tf,
          data.train,
          {
            cell,
            classes: flags.classes,
            batchSize: flags.batchSize,
            batches: flags.batches,
            warmup: flags.warmup,
            rounds: flags.rounds,
            model: { vocabSize, embeddingDim, maxlen, units, bidirectional, pooling },
            kernels: backend.kernels,
          },
          (m) => status.update(m, true),
        ),
      );
    }
    status.clear();
    const machine = `${describeMachine(backend)}, batch ${flags.batchSize}, maxlen ${maxlen}${flags.preset === 'lesson' ? '' : `, preset ${flags.preset}`}, ${flags.rounds} rounds of ${flags.batches} steps`;
    ctx.io.out.write(flags.json ? JSON.stringify({ machine, rows }, null, 2) + '\n' : renderClassesBench(rows, machine));
  });
}

/** One row per cell: the step, both models' samples/s (medians) and the k-class model's share of the binary one's. */
export function renderClassesBench(rows: readonly ClassesBenchResult[], machine: string): string {
  const k = rows[0]?.classes ?? 0;
  return (
    `${machine}\n` +
    markdownTable(
      [
        col('cell'),
        col('step'),
        col('binary samples/s', 'right'),
        col(`${k} classes samples/s`, 'right'),
        col(`${k} classes / binary`, 'right'),
      ],
      rows.map((r) => [r.cell, r.step, decimal(r.binarySamplesPerSec, 1), decimal(r.classesSamplesPerSec, 1), percent(r.ratio, 1)]),
    )
  );
}
