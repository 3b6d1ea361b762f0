/**
 * `rnn compare`: the seed's lesson as one run. Each cell is trained on the same split with the same seed
 * and options, saved, and scored on the same test reviews; the report has one row per cell plus test
 * accuracy by review length (where a plain RNN's short memory shows).
 */
import * as path from 'node:path';
import type { TF } from '../backend/index.js';
import type { Review } from '../data/index.js';
import type { CellType } from '../models/index.js';
import { resolveTrainOptions, type EpochLog, type TrainCallbacks, type TrainOptions } from '../train/index.js';
import { describeRecipe } from '../train/control.js';
import { trainToDir, type RunEnvironment } from '../train/run.js';
import { scoreReviews } from '../eval/index.js';
import { accuracyByLength, computeMetrics, lengthBounds, type LengthBucket, type Metrics } from '../eval/metrics.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs.js';
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
  /** Where report.json and report.md were written. */
  files: { json: string; markdown: string };
}

export interface CompareCallbacks {
  /** Before each cell; may return the training callbacks for it. */
  onCell?: (cell: CellType, index: number, total: number) => TrainCallbacks | void;
  /** While scoring the test reviews. */
  onScore?: (cell: CellType, done: number, total: number) => void;
  onRow?: (row: CompareRow) => void;
}

export async function compareCells(tf: TF, train: readonly Review[], test: readonly Review[], o: CompareOptions, env: RunEnvironment, cb: CompareCallbacks = {}): Promise<CompareReport> {
  const rows: CompareRow[] = [];
  let counts = { train: 0, validation: 0 };
  for (const [i, cell] of o.cells.entries()) {
    const trainCb = cb.onCell?.(cell, i, o.cells.length) ?? {};
    const options = resolveTrainOptions({ ...o.train, cell });
    const dir = path.join(o.outDir, cell);
    const run = await trainToDir(tf, train, options, dir, env, trainCb);
    const metadata = run.metadata;
    if (!metadata) throw new Error('rnn compare does not interrupt training runs'); // it passes no shouldStop
    try {
      counts = run.result.counts;
      const scores = scoreReviews(tf, { model: run.result.model, tokenizer: run.result.tokenizer, metadata }, test, o.evalBatchSize, (d, t) => cb.onScore?.(cell, d, t));
      const metrics = computeMetrics(scores.probs, scores.labels);
      await writeEvalRecord(dir, { evaluatedAt: new Date().toISOString(), data: { path: env.source.path, reviews: test.length }, metrics, samplesPerSec: scores.samplesPerSec });
      const h = run.result.history;
      const best = h.reduce<EpochLog | undefined>((b, e) => (e.val_acc !== undefined && (b === undefined || e.val_acc > b.val_acc!) ? e : b), undefined);
      const row: CompareRow = {
        cell,
        dir,
        params: metadata.params.total,
        epochs: h.length,
        trainSeconds: run.result.seconds.train,
        secondsPerEpoch: metadata.timings.secondsPerEpoch,
        samplesPerSec: run.result.samplesPerSec,
        bestValAcc: best?.val_acc ?? null,
        bestValEpoch: best?.epoch ?? null,
        weightsEpoch: run.result.weightsEpoch,
        history: h,
        test: metrics,
        byLength: accuracyByLength(scores.probs, scores.labels, scores.words, lengthBounds(options.maxlen)),
      };
      rows.push(row);
      cb.onRow?.(row);
    } finally {
      run.result.model.dispose();
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
  await writeFileAtomic(files.markdown, compareMarkdown(report));
  return report;
}

const pct = (v: number | null): string => (v === null || Number.isNaN(v) ? '–' : `${(v * 100).toFixed(1)}%`);

export function bucketLabel(b: Pick<LengthBucket, 'min' | 'max'>): string {
  return b.max === null ? `> ${b.min - 1} words` : b.min === 0 ? `≤ ${b.max} words` : `${b.min}–${b.max} words`;
}

/** The report as Markdown: the main table, then test accuracy by review length. */
export function compareMarkdown(r: Omit<CompareReport, 'files'>): string {
  const o = r.options;
  const n = (x: number): string => x.toLocaleString('en-US');
  const buckets = r.rows[0]?.byLength ?? [];
  return [
    `# rnn compare`,
    '',
    `${n(r.data.trainReviews)} training / ${n(r.data.validationReviews)} validation reviews, ${n(r.data.testReviews)} test reviews from \`${r.data.path}\`; ` +
      `${o.epochs} epochs, batch ${o.batchSize}, maxlen ${o.maxlen}, seed ${o.seed}; ${describeRecipe(o)}; ` +
      (o.restoreBest ? `weights of the best epoch by ${o.monitor}.` : 'weights of the last epoch.'),
    '',
    '| cell | params | train time | samples/s | best val acc (epoch) | saved epoch | test acc | F1 | ROC-AUC |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...r.rows.map(
      (x) =>
        `| ${x.cell} | ${n(x.params)} | ${x.trainSeconds.toFixed(0)} s | ${x.samplesPerSec.toFixed(0)} | ${pct(x.bestValAcc)}${x.bestValEpoch ? ` (${x.bestValEpoch})` : ''} | ${x.weightsEpoch} of ${x.epochs} | ${pct(x.test.accuracy)} | ${pct(x.test.f1)} | ${Number.isNaN(x.test.rocAuc) ? '–' : x.test.rocAuc.toFixed(3)} |`,
    ),
    '',
    '## Test accuracy by review length',
    '',
    `| cell | ${buckets.map((b) => `${bucketLabel(b)} (${n(b.count)})`).join(' | ')} |`,
    `|---|${buckets.map(() => '---:').join('|')}|`,
    ...r.rows.map((x) => `| ${x.cell} | ${x.byLength.map((b) => pct(b.accuracy)).join(' | ')} |`),
    '',
  ].join('\n');
}
