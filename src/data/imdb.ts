/** Reading the Stanford aclImdb layout (`{train,test}/{pos,neg}/<id>_<rating>.txt`) from a tarball or a directory. */
import { createReadStream, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { UserError } from '../errors.js';
import { cleanReview, MAX_REVIEW_BYTES, type LoadedData, type Review, type Split } from './types.js';
import { BINARY_LABELS, IMDB_RATING_LABELS, isBinaryLabels, labelIndexer, labelSetOf, type ImdbTarget, type LabelSet } from './labels.js';

const ENTRY = /(?:^|\/)(train|test)\/(pos|neg)\/(\d+)_(\d+)\.txt$/;
/** The official archive's unlabeled reviews (`train/unsup/<id>_0.txt`): read only when asked for (`rnn pretrain`). */
const UNSUP = /(?:^|\/)train\/unsup\/(\d+)_(\d+)\.txt$/;

/** What else an aclImdb reader collects: the unlabeled reviews of `train/unsup/` (in file-number order). */
export interface ImdbExtras {
  unsup?: boolean;
}

/** Unlabeled reviews in file-number order, whatever the archive or file system order. */
function unsupTexts(found: { num: number; text: string }[]): string[] {
  return found.sort((a, b) => a.num - b.num).map((u) => u.text);
}
const decoder = new TextDecoder('utf-8');

interface Raw extends Review {
  split: Split;
  num: number;
}

function toRaw(rel: string, body: Buffer): Raw | undefined {
  const m = ENTRY.exec(rel);
  if (!m) return undefined;
  const [, split, label, num] = m;
  return {
    split: split as Split,
    label: label === 'pos' ? 1 : 0,
    num: Number(num),
    id: `${split}/${label}/${path.basename(rel)}`,
    text: cleanReview(decoder.decode(body)),
  };
}

/** The rating an aclImdb review's file name records (`train/pos/0_9.txt` → 9). */
export function imdbRating(id: string): number {
  const m = /_(\d+)\.txt$/.exec(id);
  if (!m) throw new Error(`${id} is not an aclImdb review file name`);
  return Number(m[1]);
}

/**
 * aclImdb reviews (read with polarity labels, 0 negative and 1 positive) labeled by `target`: their polarity
 * ({@link BINARY_LABELS}, the reviews as read) or their rating ({@link IMDB_RATING_LABELS}, the eight ratings
 * 1–4 and 7–10 of the file names); `fixed` (`--labels`) sets the names and their order instead. The reviews
 * and their order stay the same. A review whose label is not in the set is an error naming its file.
 */
export function labelImdb(
  data: Pick<LoadedData, 'train' | 'test'>,
  target: ImdbTarget,
  where: string,
  fixed?: readonly string[],
): Pick<LoadedData, 'train' | 'test' | 'labels'> {
  const labels: LabelSet = fixed ? labelSetOf([], fixed) : target === 'rating' ? IMDB_RATING_LABELS : BINARY_LABELS;
  if (target === 'polarity' && isBinaryLabels(labels)) return { labels, train: data.train, test: data.test };
  const indexOf = labelIndexer(labels);
  const relabel = (r: Review): Review => {
    const value = target === 'rating' ? String(imdbRating(r.id)) : BINARY_LABELS.names[r.label]!;
    const label = indexOf(value);
    if (label === undefined) {
      throw new UserError(
        'DATA_LABEL_NOT_LISTED',
        `${where}: ${r.id} has the ${target} ${value}, not one of the labels ${labels.names.join(',')}`,
        fixed ? 'Add it to --labels' : 'Use the official aclImdb (ratings 1-4 and 7-10), or pass --labels with every rating the data has',
      );
    }
    return { ...r, label };
  };
  return { labels, train: data.train.map(relabel), test: data.test.map(relabel) };
}

/** Deterministic order whatever the archive or file system order: negatives then positives, by file number. */
function finish(raws: Raw[], what: string, splits: readonly Split[]): Pick<LoadedData, 'train' | 'test'> {
  raws.sort((a, b) => a.label - b.label || a.num - b.num);
  const out = { train: [] as Review[], test: [] as Review[] };
  for (const r of raws) out[r.split].push({ text: r.text, label: r.label, id: r.id });
  for (const s of splits) {
    if (out[s].length === 0) {
      throw new UserError(
        'DATA_IMDB_INCOMPLETE',
        `${what} has no ${s} reviews (expected ${s}/pos/*.txt and ${s}/neg/*.txt)`,
        'Point --data at the aclImdb directory or aclImdb_v1.tar.gz',
      );
    }
  }
  return out;
}

/** Why an archive entry is unsafe to unpack (absolute path, `..`, or a link pointing outside), or undefined. */
export function unsafeEntry(entryPath: string, type: string, linkpath?: string): string | undefined {
  const escapes = (p: string, base: string): boolean => {
    if (p.startsWith('/') || /^[a-zA-Z]:[\\/]/.test(p)) return true;
    const parts = path.posix.normalize(path.posix.join(base, p.replace(/\\/g, '/'))).split('/');
    return parts[0] === '..';
  };
  if (entryPath.startsWith('/') || /^[a-zA-Z]:[\\/]/.test(entryPath)) return `${entryPath} has an absolute path`;
  if (entryPath.replace(/\\/g, '/').split('/').includes('..')) return `${entryPath} has a .. path segment`;
  if ((type === 'SymbolicLink' || type === 'Link') && linkpath !== undefined) {
    const base = type === 'SymbolicLink' ? path.posix.dirname(entryPath) : '.';
    if (escapes(linkpath, base)) return `${entryPath} is a link to ${linkpath}, outside the archive`;
  }
  return undefined;
}

/**
 * Streams reviews out of an aclImdb tarball without unpacking it, so no entry is ever written anywhere;
 * an archive with an unsafe entry (absolute path, `..`, a link pointing outside) is still rejected, as a
 * sign it is not the dataset.
 */
export async function readImdbTarball(
  file: string,
  splits: readonly Split[],
  extras: ImdbExtras = {},
): Promise<Pick<LoadedData, 'train' | 'test'> & { sha256: string; bytes: number; unsup?: string[] }> {
  const raws: Raw[] = [];
  const unsup: { num: number; text: string }[] = [];
  const hash = createHash('sha256');
  let bytes = 0;
  let unsafe: string | undefined;
  const tar = await import('tar'); // loaded when a tarball is read, not at every command's start-up
  await new Promise<void>((resolve, reject) => {
    const parser = new tar.Parser({
      strict: true,
      onReadEntry: (entry) => {
        unsafe ??= unsafeEntry(entry.path, entry.type, entry.linkpath);
        if (unsafe) {
          entry.resume();
          parser.abort(new Error(`unsafe entry: ${unsafe}`));
          return;
        }
        const unlabeled = extras.unsup === true && entry.type === 'File' ? UNSUP.exec(entry.path) : null;
        const keep =
          unlabeled !== null || (entry.type === 'File' && ENTRY.test(entry.path) && splits.includes(ENTRY.exec(entry.path)![1] as Split));
        if (!keep) {
          entry.resume();
          return;
        }
        if (entry.size > MAX_REVIEW_BYTES) {
          entry.resume();
          parser.abort(tooLarge(`${file}'s entry ${entry.path}`, entry.size));
          return;
        }
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => {
          if (unlabeled) {
            unsup.push({ num: Number(unlabeled[1]), text: cleanReview(decoder.decode(Buffer.concat(chunks))) });
            return;
          }
          const r = toRaw(entry.path, Buffer.concat(chunks));
          if (r) raws.push(r);
        });
      },
    });
    const input = createReadStream(file);
    input.on('data', (c) => {
      hash.update(c as Buffer);
      bytes += (c as Buffer).length;
    });
    input.on('error', (e) =>
      reject(new UserError('DATA_UNREADABLE', `cannot read ${file}: ${e.message}`, 'Check the path given to --data')),
    );
    parser.on('error', (e: Error) =>
      reject(
        e instanceof UserError
          ? e
          : unsafe
            ? new UserError(
                'DATA_ARCHIVE_UNSAFE',
                `${file} was rejected: entry ${unsafe}`,
                'Use the official aclImdb_v1.tar.gz; nothing was extracted',
              )
            : new UserError(
                'DATA_ARCHIVE_INVALID',
                `${file} is not a readable aclImdb tarball: ${e.message}`,
                'Download aclImdb_v1.tar.gz again, or point --data at an aclImdb directory',
              ),
      ),
    );
    parser.on('close', () => resolve());
    input.pipe(parser);
  });
  return {
    ...finish(raws, file, splits),
    sha256: hash.digest('hex'),
    bytes,
    ...(extras.unsup && { unsup: unsupTexts(unsup) }),
  };
}

/** Reads an extracted aclImdb directory (the directory itself or one that contains `aclImdb/`). */
export async function readImdbDir(
  dir: string,
  splits: readonly Split[],
  extras: ImdbExtras = {},
): Promise<Pick<LoadedData, 'train' | 'test'> & { sha256: string; root: string; unsup?: string[] }> {
  let root = dir;
  if (!(await isDir(path.join(root, 'train'))) && !(await isDir(path.join(root, 'test'))) && (await isDir(path.join(dir, 'aclImdb')))) {
    root = path.join(dir, 'aclImdb');
  }
  const raws: Raw[] = [];
  const listing = createHash('sha256');
  for (const split of splits) {
    for (const label of ['neg', 'pos']) {
      const sub = path.join(root, split, label);
      const files = await fsp.readdir(sub).catch(() => [] as string[]);
      for (const f of files.sort()) {
        const rel = `${split}/${label}/${f}`;
        if (!ENTRY.test(rel)) continue;
        const body = await readReviewFile(path.join(sub, f));
        listing.update(`${rel}\0${body.length}\n`);
        const r = toRaw(rel, body);
        if (r) raws.push(r);
      }
    }
  }
  const unsup: { num: number; text: string }[] = [];
  if (extras.unsup) {
    const sub = path.join(root, 'train', 'unsup');
    for (const f of (await fsp.readdir(sub).catch(() => [] as string[])).sort()) {
      const m = UNSUP.exec(`train/unsup/${f}`);
      if (!m) continue;
      const body = await readReviewFile(path.join(sub, f));
      listing.update(`train/unsup/${f}\0${body.length}\n`);
      unsup.push({ num: Number(m[1]), text: cleanReview(decoder.decode(body)) });
    }
  }
  return {
    ...finish(raws, dir, splits),
    sha256: listing.digest('hex'),
    root,
    ...(extras.unsup && { unsup: unsupTexts(unsup) }),
  };
}

function tooLarge(what: string, bytes: number): UserError {
  return new UserError(
    'DATA_REVIEW_TOO_LARGE',
    `${what} is ${bytes.toLocaleString('en-US')} bytes, more than the ${MAX_REVIEW_BYTES.toLocaleString('en-US')} a review may have`,
    'Point --data at the aclImdb directory or aclImdb_v1.tar.gz (its reviews are text files of a few kilobytes)',
  );
}

/** A review file of an aclImdb directory: a regular file (or a link to one) of at most {@link MAX_REVIEW_BYTES}. */
async function readReviewFile(file: string): Promise<Buffer> {
  const unreadable = (why: string) =>
    new UserError('DATA_UNREADABLE', `cannot read the review ${file}: ${why}`, 'Point --data at an aclImdb directory of review text files');
  const st = await fsp.stat(file).catch((e: NodeJS.ErrnoException) => {
    throw unreadable(e.code === 'ELOOP' ? 'it is a link that loops' : e.code === 'ENOENT' ? 'it is a link to nothing' : e.message);
  });
  if (!st.isFile()) throw unreadable(`it is ${st.isDirectory() ? 'a directory' : 'not a regular file (a device, socket or pipe)'}`);
  if (st.size > MAX_REVIEW_BYTES) throw tooLarge(`the review ${file}`, st.size);
  return fsp.readFile(file).catch((e: Error) => {
    throw unreadable(e.message);
  });
}

async function isDir(p: string): Promise<boolean> {
  return (await fsp.stat(p).catch(() => undefined))?.isDirectory() ?? false;
}
