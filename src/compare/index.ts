/**
 * `rnn compare`: the Keras lesson as one run. Each cell is trained on the same split with the same seed
 * and options, saved, and scored on the same test reviews; the report (also written as report.json) has
 * one row per cell plus test accuracy by review length (where a plain RNN's short memory shows). With
 * presets (src/train/options.ts), every cell is trained once per preset: the lesson beside the recipe. With a
 * language model (`init`), its cell is trained twice per preset: from scratch, and from the language model.
 */
import * as path from 'node:path';
import type { Runtime } from '../backend/index.js';
import type { Review } from '../data/index.js';
import type { CellType } from '../cells.js';
import { train } from '../train/index.js';
import { resolveTrainOptions, type PresetName, type TrainOptions } from '../train/options.js';
import type { EpochLog, InitFrom, TrainCallbacks } from '../train/types.js';
import { saveTrainingRun, type RunEnvironment } from '../io/run.js';
import { metricsOf, scoreReviews } from '../predict/score.js';
import { accuracyByLength, lengthBounds, type LengthBucket } from '../eval/metrics.js';
import type { ModelMetrics } from '../eval/classes.js';
import { BINARY_LABELS, type LabelSet } from '../data/labels.js';
import { writeJsonAtomic } from '../util/fs.js';
import { writeEvalRecord } from '../io/catalog.js';

export interface CompareOptions {
  /** Cells to train, in order. */
  cells: CellType[];
  /** Presets to train each cell with, in order (one row per preset and cell). */
  presets: PresetName[];
  /** Training options shared by every row, over each row's preset (the cell and the preset are set per row; a seed is required so that every row shares it). */
  train: Partial<Omit<TrainOptions, 'cell' | 'preset'>> & { seed: number };
  /** Directory for the models (`<dir>/<cell>`) and the reports (`report.json`, `report.md`). */
  outDir: string;
  /** Reviews per inference batch when scoring. */
  evalBatchSize: number;
  /** The reviews' labels (three or more: every row is a k-class model; default the binary ones). */
  labels?: LabelSet;
  /** A language model (`rnn pretrain`): its cell gets a second row per preset, started from it; `env` is what that row's metadata records of it. */
  init?: { from: InitFrom; env: NonNullable<RunEnvironment['init']> };
}

export interface CompareRow {
  cell: CellType;
  preset: PresetName;
  /** The row's name: the cell, followed by the preset when it is not the lesson (`gru best`), and `init` when it started from the language model. */
  name: string;
  /** Whether the row started from the language model (`--init`). */
  init: boolean;
  /** Every option the row trained with. */
  options: TrainOptions;
  dir: string;
  params: number;
  /** Epochs run (fewer than asked with early stopping). */
  epochs: number;
  trainSeconds: number;
  secondsPerEpoch: number;
  samplesPerSec: number;
  /** Best validation accuracy over the epochs, and its epoch (null without a validation split). */
  bestValAcc: number | null;
  bestValEpoch: number | null;
  /** Epoch whose weights were saved and scored. */
  weightsEpoch: number;
  history: EpochLog[];
  /** A binary model's test metrics, or a k-class model's (with macro-F1). */
  test: ModelMetrics;
  /** Test accuracy per review-length bucket (words after tokenization). */
  byLength: LengthBucket[];
}

export interface CompareReport {
  createdAt: string;
  data: { path: string; trainReviews: number; validationReviews: number; testReviews: number };
  /** The first row's options (without its cell): what every row shares unless its preset sets it. */
  options: Omit<TrainOptions, 'cell'>;
  rows: CompareRow[];
  /** Where report.json was written, and where report.md goes (the CLI renders it). */
  files: { json: string; markdown: string };
}

export interface CompareCallbacks {
  /** Before each row (its name, as {@link CompareRow.name}); may return the training callbacks for it. */
  onCell?: (name: string, index: number, total: number, options: TrainOptions) => TrainCallbacks | void;
  /** While scoring the test reviews. */
  onScore?: (name: string, done: number, total: number) => void;
  onRow?: (row: CompareRow) => void;
}

export async function compareCells(
  run: Runtime,
  reviews: readonly Review[],
  test: readonly Review[],
  o: CompareOptions,
  env: RunEnvironment,
  cb: CompareCallbacks = {},
): Promise<CompareReport> {
  const { tf } = run;
  const rows: CompareRow[] = [];
  let counts = { train: 0, validation: 0 };
  const labels = o.labels ?? BINARY_LABELS;
  const classes = labels.names.length > 2 ? { classes: labels.names.length } : {};
  const { init: _init, ...shared } = o.train; // which rows start from a language model is o.init's to say
  const runs = o.presets.flatMap((preset) =>
    o.cells.flatMap((cell) => {
      const scratch = resolveTrainOptions({ ...shared, ...classes, cell, preset });
      return o.init?.from.options.cell === cell
        ? [scratch, resolveTrainOptions({ ...o.train, ...classes, cell, preset, init: o.init.from.dir })]
        : [scratch];
    }),
  );
  // one set of length buckets for every row: those of the longest maxlen
  const bounds = lengthBounds(Math.max(...runs.map((r) => r.maxlen)));
  for (const [i, options] of runs.entries()) {
    const { cell, preset } = options;
    const init = options.init !== undefined ? o.init : undefined;
    const name = [cell, ...(preset === 'lesson' ? [] : [preset]), ...(init ? ['init'] : [])].join(' ');
    const trainCb = cb.onCell?.(name, i, runs.length, options) ?? {};
    const dir = path.join(o.outDir, name.replaceAll(' ', '-'));
    const result = await train(run, reviews, options, trainCb, undefined, labels, init?.from);
    const { metadata } = await saveTrainingRun(tf, result, dir, init ? { ...env, init: init.env } : env);
    if (!metadata) throw new Error('rnn compare does not interrupt training runs'); // it passes no shouldStop
    try {
      counts = result.counts;
      const scores = scoreReviews(
        tf,
        { model: result.model, kernels: result.kernels, tokenizer: result.tokenizer, metadata },
        test,
        o.evalBatchSize,
        (d, t) => cb.onScore?.(name, d, t),
      );
      const metrics = metricsOf(scores.probs, scores.labels, labels);
      await writeEvalRecord(dir, {
        evaluatedAt: new Date().toISOString(),
        data: { path: env.source.path, reviews: test.length },
        metrics,
        samplesPerSec: scores.samplesPerSec,
      });
      const h = result.history;
      const best = h.reduce<EpochLog | undefined>(
        (b, e) => (e.val_acc !== undefined && (b === undefined || e.val_acc > b.val_acc!) ? e : b),
        undefined,
      );
      const row: CompareRow = {
        cell,
        preset,
        name,
        init: init !== undefined,
        options,
        dir,
        params: metadata.params.total,
        epochs: h.length,
        trainSeconds: result.seconds.train,
        secondsPerEpoch: metadata.timings.secondsPerEpoch,
        samplesPerSec: result.samplesPerSec,
        bestValAcc: best?.val_acc ?? null,
        bestValEpoch: best?.epoch ?? null,
        weightsEpoch: result.weightsEpoch,
        history: h,
        test: metrics,
        byLength: accuracyByLength(scores.probs, scores.labels, scores.words, bounds),
      };
      rows.push(row);
      cb.onRow?.(row);
    } finally {
      result.model.dispose();
    }
  }
  const files = { json: path.join(o.outDir, 'report.json'), markdown: path.join(o.outDir, 'report.md') };
  const report: CompareReport = {
    createdAt: new Date().toISOString(),
    data: { path: env.source.path, trainReviews: counts.train, validationReviews: counts.validation, testReviews: test.length },
    options: (({ cell: _cell, ...shared }) => shared)(runs[0]!),
    rows,
    files,
  };
  await writeJsonAtomic(files.json, report);
  return report;
}
