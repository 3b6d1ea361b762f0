import type { ImdbTarget, LabelSet } from './labels.js';

/** One labeled review. */
export interface Review {
  /** Review text with HTML line breaks already replaced by spaces. */
  text: string;
  /** Class index into the dataset's {@link LabelSet} (binary sentiment: 1 = positive, 0 = negative). */
  label: number;
  /** Where it came from, e.g. `train/pos/0_9.txt` or `reviews.csv:12`. */
  id: string;
  /** A CSV's split column (`--split-column`), when it has one. */
  split?: Split;
}

export type Split = 'train' | 'test';

/** Which rows were held out, recorded in metadata.json (dataset.heldOut): enough to draw them again and check. */
export interface HeldOut {
  /** `share`: a seeded share; `column`: a split column; `none`: every row trained (`--test-split 0`). */
  method: 'share' | 'column' | 'none';
  share?: number;
  seed?: number;
  column?: string;
  trainRows: number;
  testRows: number;
  /** SHA-256 of the held-out rows' line numbers, one per line: what eval checks it drew the same rows. */
  testRowsSha256: string;
}

/** Where a dataset was read from, recorded in a model's metadata. */
export interface DataSourceInfo {
  /** `tarball` (aclImdb_v1.tar.gz), `dir` (an aclImdb directory), `csv`. */
  kind: 'tarball' | 'dir' | 'csv';
  /** Absolute path that was read. */
  path: string;
  /** The URL it was downloaded from, when it was. */
  url?: string;
  /** SHA-256 of the file (tarball, CSV) or of the sorted file listing with sizes (directory). */
  sha256: string;
  /** Size in bytes (files only). */
  bytes?: number;
  /** A single-file dataset: which rows `rnn train` held out for testing (src/data/split.ts). */
  heldOut?: HeldOut;
  /** aclImdb read with `--target rating` (absent: its polarity, the default). */
  target?: Exclude<ImdbTarget, 'polarity'>;
  /** A CSV's columns that were read, as its header names them (what `rnn eval` reads again from that file). */
  columns?: CsvColumns;
}

/** The header names of a CSV's text and label columns. */
export interface CsvColumns {
  text: string;
  label: string;
}

/** Reviews per split plus where they came from and what their labels are. */
export interface LoadedData {
  source: DataSourceInfo;
  /** The labels the reviews' class indices point into (the same for both splits). */
  labels: LabelSet;
  train: Review[];
  test: Review[];
  /** aclImdb's unlabeled reviews (`train/unsup/`), when asked for and present. */
  unsup?: string[];
}

/**
 * The largest review file of an aclImdb directory or tarball rnn reads (the longest IMDB review is 14 KB): a
 * larger one is not a review, and reading it (a sparse file, a decompression bomb) would only fill memory.
 */
export const MAX_REVIEW_BYTES = 16 * 2 ** 20;

/** Replaces the HTML line breaks of IMDB reviews (`<br />`) with spaces. */
export function cleanReview(text: string): string {
  return text.replace(/<br\s*\/?>/gi, ' ');
}
