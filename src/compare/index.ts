/**
 * `rnn compare`: the Keras lesson as one run. Each cell is trained on the same split with the same seed
 * and options, saved, and scored on the same test reviews; the report (also written as report.json) has
 * one row per cell plus test accuracy by review length (where a plain RNN's short memory shows).
 */
import * as path from 'node:path';
import type { Runtime } from '../backend/index.js';
import type { Review } from '../data/index.js';
import type { CellType } from '../cells.js';
import { train } from '../train/index.js';
import { resolveTrainOptions, type TrainOptions } from '../train/options.js';
import type { EpochLog, TrainCallbacks } from '../train/types.js';
import { saveTrainingRun, type RunEnvironment } from '../io/run.js';
import { scoreReviews } from '../predict/score.js';
import { accuracyByLength, computeMetrics, lengthBounds, type LengthBucket, type Metrics } from '../eval/metrics.js';
import { writeJsonAtomic } from '../util/fs.js';
import { writeEvalRecord } from '../io/catalog.js';

export interface CompareOptions {
  /** Cells to train, in order. */
  cells: CellType[];
  /** Training options shared by every cell (the cell is set per row). */
  train: Omit<TrainOptions, 'cell'>;
  /** Directory for the models (`<dir>/<cell>`) and the reports (`report.json`, `report.md`). */
  outDir: string;
  /** Reviews per inference batch when scoring. */
  evalBatchSize: number;
}

export interface CompareRow {
  cell: CellType;
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
  test: Metrics;
  /** Test accuracy per review-length bucket (words after tokenization). */
  byLength: LengthBucket[];
}

export interface CompareReport {
  createdAt: string;
  data: { path: string; trainReviews: number; validationReviews: number; testReviews: number };
  options: Omit<TrainOptions, 'cell'>;
  rows: CompareRow[];
  /** Where report.json was written, and where report.md goes (the CLI renders it). */
  files: { json: string; markdown: string };
}

export interface CompareCallbacks {
  /** Before each cell; may return the training callbacks for it. */
  onCell?: (cell: CellType, index: number, total: number) => TrainCallbacks | void;
  /** While scoring the test reviews. */
  onScore?: (cell: CellType, done: number, total: number) => void;
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
  for (const [i, cell] of o.cells.entries()) {
    const trainCb = cb.onCell?.(cell, i, o.cells.length) ?? {};
    const options = resolveTrainOptions({ ...o.train, cell });
    const dir = path.join(o.outDir, cell);
    const result = await train(run, reviews, options, trainCb);
    const { metadata } = await saveTrainingRun(tf, result, dir, env);
    if (!metadata) throw new Error('rnn compare does not interrupt training runs'); // it passes no shouldStop
    try {
      counts = result.counts;
      const scores = scoreReviews(
        tf,
        { model: result.model, kernels: result.kernels, tokenizer: result.tokenizer, metadata },
        test,
        o.evalBatchSize,
        (d, t) => cb.onScore?.(cell, d, t),
      );
      const metrics = computeMetrics(scores.probs, scores.labels);
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
        byLength: accuracyByLength(scores.probs, scores.labels, scores.words, lengthBounds(options.maxlen)),
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
    options: o.train,
    rows,
    files,
  };
  await writeJsonAtomic(files.json, report);
  return report;
}
