/** One entry point for datasets: `--data` (directory, tarball, URL, CSV) or the default IMDB download. */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.js';
import { labelImdb, readImdbDir } from './imdb.js';
import { readImdbTarballCached } from './review-cache.js';
import type { ImdbTarget } from './labels.js';
import { readCsv, type CsvOptions } from './csv.js';
import { cachedDownload, discardCached, type DownloadProgress, type ExpectedFile } from './download.js';
import type { LoadedData, Split } from './types.js';

export * from './types.js';
export * from './labels.js';
export type { DataFlags } from './flags.js';

/** The official Stanford Large Movie Review Dataset. */
export const DEFAULT_IMDB_URL = 'https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz';

/**
 * The official aclImdb_v1.tar.gz at {@link DEFAULT_IMDB_URL}: its size (the dataset's page) and SHA-256 (as
 * published and used by other dataset loaders). A download of that URL must match both.
 */
export const OFFICIAL_IMDB: ExpectedFile & { url: string } = Object.freeze({
  url: DEFAULT_IMDB_URL,
  bytes: 84_125_825,
  sha256: 'c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe',
});
/** Labeled reviews per label in each split of the Large Movie Review Dataset. */
export const IMDB_REVIEWS_PER_LABEL = 12_500;

/**
 * The default dataset must be the whole Large Movie Review Dataset: 12,500 positive and 12,500 negative
 * reviews in each split requested. Returns what is wrong, or undefined.
 */
export function checkImdbCounts(d: Pick<LoadedData, 'train' | 'test'>, splits: readonly Split[]): string | undefined {
  for (const s of splits) {
    const pos = d[s].filter((r) => r.label === 1).length;
    const neg = d[s].length - pos;
    if (pos !== IMDB_REVIEWS_PER_LABEL || neg !== IMDB_REVIEWS_PER_LABEL) {
      return `its ${s} split has ${pos.toLocaleString('en-US')} positive and ${neg.toLocaleString('en-US')} negative reviews, not 12,500 of each`;
    }
  }
  return undefined;
}

/** Options of {@link loadData}. */
export interface LoadDataOptions extends CsvOptions {
  /** `--data`: an aclImdb directory, a .tar.gz (path or http(s) URL) or a .csv; undefined means the default source. */
  data?: string;
  /** The default source when `data` is undefined: RNN_IMDB_URL or the Stanford URL (a local path works too). */
  defaultSource: string;
  /** Which splits are needed (a CSV fills the first one). */
  splits: readonly Split[];
  /** Download cache directory. */
  dataDir: string;
  /** Where an aclImdb archive's decoded reviews are cached (src/data/review-cache.ts); undefined reads the archive every time. */
  reviewCache?: string;
  /** Download progress. */
  onDownload?: DownloadProgress;
  /** One line per step (download, read). */
  onStep?: (message: string) => void;
  /** A URL whose download must be one exact file (default: {@link OFFICIAL_IMDB}; tests pin a loopback URL). */
  pin?: ExpectedFile & { url: string };
  /** aclImdb: label the reviews by their polarity (default) or their rating (`--target`); a CSV's label column is its target. */
  target?: ImdbTarget;
  /** aclImdb: also read the unlabeled reviews of `train/unsup/` when the source has them (`LoadedData.unsup`). */
  unsup?: boolean;
}

/** What the source records of the target: nothing for polarity, so a binary dataset's record is what it always was. */
function targetOf(target: ImdbTarget): { target?: 'rating' } {
  return target === 'rating' ? { target } : {};
}

function isUrl(s: string): boolean {
  return /^https?:\/\//i.test(s);
}

/**
 * The reviews of `--data` (or the default source) with their label set: aclImdb's by `opts.target`, a
 * CSV's read from its label column; `opts.labels` (`--labels`) fixes the names and their order.
 */
export async function loadData(opts: LoadDataOptions): Promise<LoadedData> {
  const spec = opts.data ?? opts.defaultSource;
  const step = opts.onStep ?? (() => {});
  const target = opts.target ?? 'polarity';
  const labeled = (r: Pick<LoadedData, 'train' | 'test'>, where: string) => labelImdb(r, target, where, opts.labels);
  const readTarball = async (file: string) => {
    const r = await readImdbTarballCached(file, opts.splits, { unsup: opts.unsup }, opts.reviewCache);
    if (r.fromCache) step(`its reviews decoded before, from ${opts.reviewCache}`);
    return r;
  };
  if (isUrl(spec)) {
    step(`fetching ${spec} (cached in ${opts.dataDir})`);
    const pin = opts.pin ?? OFFICIAL_IMDB;
    const got = await cachedDownload(spec, opts.dataDir, opts.onDownload, spec === pin.url ? pin : undefined);
    step(got.fromCache ? `using the cached ${got.file}` : `downloaded ${got.meta.bytes} bytes to ${got.file}`);
    let r: Awaited<ReturnType<typeof readTarball>>;
    try {
      r = await readTarball(got.file);
    } catch (e) {
      await discardCached(got.file); // never reuse a download that does not read
      throw e;
    }
    const wrong = opts.data === undefined ? checkImdbCounts(r, opts.splits) : undefined;
    if (wrong) {
      await discardCached(got.file);
      throw new UserError(
        'DATA_IMDB_INCOMPLETE',
        `${spec} is not the complete IMDB dataset: ${wrong}`,
        'The download was discarded; run again, or set RNN_IMDB_URL to a complete copy of aclImdb_v1.tar.gz',
      );
    }
    return {
      source: { kind: 'tarball', path: got.file, url: spec, sha256: r.sha256, bytes: r.bytes, ...targetOf(target) },
      ...labeled(r, spec),
      ...(r.unsup && { unsup: r.unsup }),
    };
  }
  const file = path.resolve(spec.startsWith('file://') ? new URL(spec).pathname : spec);
  const st = await fsp.stat(file).catch(() => undefined);
  if (!st) {
    throw new UserError(
      'DATA_NOT_FOUND',
      `${spec} does not exist`,
      'Pass --data with an aclImdb directory, aclImdb_v1.tar.gz, an http(s) URL or a CSV file',
    );
  }
  if (st.isDirectory()) {
    step(`reading ${file}`);
    const r = await readImdbDir(file, opts.splits, { unsup: opts.unsup });
    return {
      source: { kind: 'dir', path: r.root, sha256: r.sha256, ...targetOf(target) },
      ...labeled(r, file),
      ...(r.unsup && { unsup: r.unsup }),
    };
  }
  if (/\.csv$/i.test(file)) {
    if (target !== 'polarity') {
      throw new UserError(
        'OPTION_NOT_APPLICABLE',
        `--target ${target} applies to aclImdb, and ${file} is a CSV`,
        "Leave --target out: a CSV's label column is its target (--label-column names it)",
      );
    }
    step(`reading ${file}`);
    const r = await readCsv(file, opts);
    const first = opts.splits[0] ?? 'train';
    return {
      source: { kind: 'csv', path: file, sha256: r.sha256, bytes: r.bytes, columns: r.columns },
      labels: r.labels,
      train: first === 'train' ? r.reviews : [],
      test: first === 'test' ? r.reviews : [],
    };
  }
  if (/\.(tar\.gz|tgz)$/i.test(file)) {
    step(`reading ${file}`);
    const r = await readTarball(file);
    const wrong = opts.data === undefined ? checkImdbCounts(r, opts.splits) : undefined;
    if (wrong)
      throw new UserError(
        'DATA_IMDB_INCOMPLETE',
        `${file} (RNN_IMDB_URL) is not the complete IMDB dataset: ${wrong}`,
        'Set RNN_IMDB_URL to a complete copy of aclImdb_v1.tar.gz, or pass --data',
      );
    return {
      source: { kind: 'tarball', path: file, sha256: r.sha256, bytes: r.bytes, ...targetOf(target) },
      ...labeled(r, file),
      ...(r.unsup && { unsup: r.unsup }),
    };
  }
  throw new UserError(
    'DATA_FORMAT_UNKNOWN',
    `${spec} is not a dataset rnn reads`,
    'Pass --data with an aclImdb directory, an aclImdb_v1.tar.gz, an http(s) URL or a .csv file',
  );
}
