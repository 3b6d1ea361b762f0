/**
 * The decoded reviews of aclImdb archives, so that a command reads an archive it has read before in a fifth
 * of a second instead of decompressing and parsing it again (~1.3 CPU-s for a 28 MB copy of the 50,000
 * labeled reviews; the official 84 MB archive, with its unlabeled reviews, takes longer).
 *
 * An entry is one split's reviews (or the unlabeled texts) of one archive, as {@link readImdbTarball} returned
 * them (before labeling). Its name holds the archive's SHA-256, hashed from the archive's bytes on every read,
 * and {@link readerVersion}, a hash of the reader's own code: an archive that changed, or a change to how
 * reviews are read, never meets an entry written before it. Entries are written atomically; one that does not
 * read back as what its name says is a miss, and written again. The cache is an optimisation: a directory that
 * cannot be written leaves the command reading the archive, as it would without one.
 */
import { promises as fsp, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { readImdbTarball, type ImdbExtras } from './imdb.js';
import type { Review, Split } from './types.js';
import { hashFile, writeFileAtomic } from '../util/fs.js';

/** What {@link readImdbTarball} returns. */
export type TarballReviews = Awaited<ReturnType<typeof readImdbTarball>>;

/** The modules whose code decides what the reader returns (the reader, and cleanReview's). */
const READER_MODULES = ['./imdb.js', './types.js'];

let reader: string | undefined;

/** 12 hex digits of a hash of the reader's compiled code: any edit to it names new entries. */
export function readerVersion(): string {
  if (reader === undefined) {
    const h = createHash('sha256');
    for (const m of READER_MODULES) h.update(readFileSync(new URL(m, import.meta.url)));
    reader = h.digest('hex').slice(0, 12);
  }
  return reader;
}

/** How many archives' entries a cache keeps (the most recently written); writing a newer one removes the rest. */
export const CACHED_ARCHIVES = 2;

type Part = Split | 'unsup';

interface Entry {
  sha256: string;
  bytes: number;
  part: Part;
  reviews: Review[] | string[];
}

function entryName(sha256: string, part: Part): string {
  return `${sha256}-${readerVersion()}.${part}.v8`;
}

const isReview = (r: unknown): r is Review =>
  typeof r === 'object' &&
  r !== null &&
  typeof (r as Review).text === 'string' &&
  typeof (r as Review).id === 'string' &&
  ((r as Review).label === 0 || (r as Review).label === 1);

/** An entry's reviews when the file holds what its name says, else undefined (missing, damaged, or another's). */
async function readEntry(dir: string, sha256: string, bytes: number, part: Part): Promise<Review[] | string[] | undefined> {
  try {
    const e = deserialize(await fsp.readFile(path.join(dir, entryName(sha256, part)))) as Entry;
    if (e.sha256 !== sha256 || e.bytes !== bytes || e.part !== part || !Array.isArray(e.reviews)) return undefined;
    if (part === 'unsup') return e.reviews.every((t) => typeof t === 'string') ? e.reviews : undefined;
    return e.reviews.length > 0 && e.reviews.every(isReview) ? (e.reviews as Review[]) : undefined;
  } catch {
    return undefined;
  }
}

/** Writes the entries of one archive, then removes entries beyond the {@link CACHED_ARCHIVES} newest archives. */
async function writeEntries(dir: string, r: TarballReviews, parts: readonly Part[]): Promise<void> {
  for (const part of parts) {
    const reviews = part === 'unsup' ? (r.unsup ?? []) : r[part];
    const entry: Entry = { sha256: r.sha256, bytes: r.bytes, part, reviews };
    await writeFileAtomic(path.join(dir, entryName(r.sha256, part)), serialize(entry));
  }
  const names = (await fsp.readdir(dir)).filter((n) => n.endsWith('.v8'));
  const times = new Map<string, number>();
  for (const n of names) {
    const key = n.slice(0, n.indexOf('.'));
    const t = (await fsp.stat(path.join(dir, n)).catch(() => undefined))?.mtimeMs ?? 0;
    times.set(key, Math.max(times.get(key) ?? 0, t));
  }
  const keep = new Set(
    [...times]
      .sort((a, b) => b[1] - a[1])
      .map(([k]) => k)
      .slice(0, CACHED_ARCHIVES),
  );
  keep.add(`${r.sha256}-${readerVersion()}`);
  for (const n of names) if (!keep.has(n.slice(0, n.indexOf('.')))) await fsp.rm(path.join(dir, n), { force: true });
}

/**
 * {@link readImdbTarball} through the cache in `dir`: the entries of the archive's splits (and unlabeled texts,
 * when asked for) when all are there, else the archive read and its entries written. Without `dir`, the archive.
 */
export async function readImdbTarballCached(
  file: string,
  splits: readonly Split[],
  extras: ImdbExtras,
  dir: string | undefined,
): Promise<TarballReviews & { fromCache: boolean }> {
  if (dir === undefined) return { ...(await readImdbTarball(file, splits, extras)), fromCache: false };
  const parts: Part[] = [...splits, ...(extras.unsup ? (['unsup'] as const) : [])];
  const id = await hashFile(file).catch(() => undefined); // an unreadable file: the reader says why
  if (id) {
    const found = await Promise.all(parts.map((p) => readEntry(dir, id.sha256, id.bytes, p)));
    if (found.every((f) => f !== undefined)) {
      const of = (p: Part) => found[parts.indexOf(p)];
      return {
        train: (of('train') as Review[] | undefined) ?? [],
        test: (of('test') as Review[] | undefined) ?? [],
        ...id,
        ...(extras.unsup && { unsup: of('unsup') as string[] }),
        fromCache: true,
      };
    }
  }
  const r = await readImdbTarball(file, splits, extras);
  // Only what was read from the bytes just hashed (the file may have been replaced in between).
  if (id?.sha256 === r.sha256) await writeEntries(dir, r, parts).catch(() => undefined);
  return { ...r, fromCache: false };
}
