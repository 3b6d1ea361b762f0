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
 * The 3-class CSV of every `every`-th training review, written once per run in the run's cache (the same path
 * for every test file, so that `trainedModel` arguments naming it train one model per run).
 */
export async function sharedThreeClassCsv(every: number): Promise<string> {
  const dir = path.join(runCacheDir(), 'data');
  const name = `three-class-every-${every}.csv`;
  const file = path.join(dir, name);
  if (await fsp.stat(file).catch(() => undefined)) return file;
  await fsp.mkdir(dir, { recursive: true });
  // Written to a sibling and renamed: a file running beside this one reads the whole file or none.
  const { file: tmp } = await writeThreeClassCsv(dir, { every, name: `${name}.${process.pid}.tmp` });
  await fsp.rename(tmp, file);
  return file;
}
