/**
 * The 3-class CSV the tests read: real IMDB reviews labeled negative, neutral or positive by their rating
 * (the `<id>_<rating>.txt` of their file names), written at test time from {@link imdb} so that no review
 * text is committed:
 *
 *   rating 1-3 → negative,   4 and 7 → neutral,   8-10 → positive
 *
 * (aclImdb has no 5 or 6: its 4s and 7s are the mildest reviews it has.) Every `every`-th review of the
 * split, in the archive's order, is kept; on the training split that gives, with `every` = 1,
 * 9,804 negative, 5,192 neutral and 10,004 positive reviews.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { imdbRating } from '../src/data/imdb.js';
import type { Review } from '../src/data/index.js';
import { imdb } from './helpers.js';
import { runCacheDir } from './imdb.js';

export type Sentiment3 = 'negative' | 'neutral' | 'positive';

/** The derivation: an IMDB rating's three-way sentiment. */
export function sentimentOfRating(rating: number): Sentiment3 {
  if (rating >= 1 && rating <= 3) return 'negative';
  if (rating === 4 || rating === 7) return 'neutral';
  if (rating >= 8 && rating <= 10) return 'positive';
  throw new Error(`IMDB has no rating ${rating}`);
}

/** A CSV cell, quoted. */
const q = (s: string): string => `"${s.replace(/"/g, '""')}"`;

/** The rows of the CSV: review text and 3-way label, in the archive's order. */
export async function threeClassRows(
  opts: { split?: 'train' | 'test'; every?: number } = {},
): Promise<Array<{ text: string; label: Sentiment3; id: string }>> {
  const reviews: Review[] = (await imdb())[opts.split ?? 'train'];
  const every = opts.every ?? 1;
  return reviews.filter((_, i) => i % every === 0).map((r) => ({ text: r.text, label: sentimentOfRating(imdbRating(r.id)), id: r.id }));
}

/** Writes `three-class.csv` (`review,sentiment`) into `dir` and returns its path and rows. */
export async function writeThreeClassCsv(
  dir: string,
  opts: { split?: 'train' | 'test'; every?: number; name?: string } = {},
): Promise<{ file: string; rows: Array<{ text: string; label: Sentiment3; id: string }> }> {
  const rows = await threeClassRows(opts);
  const file = path.join(dir, opts.name ?? 'three-class.csv');
  await fsp.writeFile(file, 'review,sentiment\n' + rows.map((r) => `${q(r.text)},${r.label}\n`).join(''));
  return { file, rows };
}

/**
 * One 3-class CSV for the whole run (every `every`-th training review), written once into the run's cache, so
 * that models trained on it (test/models.ts) are shared between test files: their key names its path.
 */
export async function sharedThreeClassCsv(every = 4): Promise<string> {
  const file = path.join(runCacheDir(), `three-class-every-${every}.csv`);
  if (
    await fsp.stat(file).then(
      () => true,
      () => false,
    )
  )
    return file;
  const tmp = path.join(runCacheDir(), `.three-class-${process.pid}`);
  await fsp.mkdir(tmp, { recursive: true });
  const { file: written } = await writeThreeClassCsv(tmp, { every });
  await fsp.rename(written, file); // whole or not at all, whoever writes first
  await fsp.rm(tmp, { recursive: true, force: true });
  return file;
}
