/**
 * The IMDB archive the tests read, and the reviews decoded from it once per run.
 *
 * The archive is, in this order: RNN_TEST_IMDB; the read-only copy CI keeps beside the checkout
 * (`../shared/data/aclImdb_v1.tar.gz`); the official archive in the cache `rnn train` downloads into
 * (RNN_DATA_DIR, else `data/`), fetched there once by the test runner when none of these exists. Either of
 * the two known files is accepted, each by its own SHA-256: both hold the same 50,000 labeled reviews, so the
 * statistics the tests pin hold for both.
 */
import { createHash } from 'node:crypto';
import { existsSync, promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { readImdbTarball } from '../src/data/imdb.js';
import { hashFile } from '../src/util/fs.js';
import { cachedDownload, type DownloadProgress, type ExpectedFile } from '../src/data/download.js';
import { OFFICIAL_IMDB, type Review } from '../src/data/index.js';

/** The copy of aclImdb_v1.tar.gz CI keeps at ../shared/data: the official archive without `unsup/` and the `.feat` files. */
export const SHARED_IMDB: ExpectedFile = Object.freeze({
  bytes: 28_774_278,
  sha256: 'fc54c888266ce6c4982bf09ba642be3160fb34eb228f3760339d53bf7004a900',
});

/** The archives the tests accept, by SHA-256. */
export const KNOWN_IMDB: ReadonlyMap<string, { name: string; bytes: number }> = new Map([
  [OFFICIAL_IMDB.sha256, { name: 'the official aclImdb_v1.tar.gz', bytes: OFFICIAL_IMDB.bytes }],
  [SHARED_IMDB.sha256, { name: "CI's copy (aclImdb_v1.tar.gz without unsup/)", bytes: SHARED_IMDB.bytes }],
]);

/** Where the archive was found. */
export interface TestImdb {
  file: string;
  sha256: string;
  /** How it was found: the variable, the copy beside the checkout, the download cache, or a fresh download. */
  from: 'RNN_TEST_IMDB' | 'beside the checkout' | 'download cache' | 'downloaded';
}

/** What {@link findTestImdb} looks at. */
export interface FindOptions {
  /** RNN_TEST_IMDB, if set. */
  variable?: string;
  /** The copy beside the checkout. */
  shared: string;
  /** The download cache of `rnn train` (RNN_DATA_DIR, else `data/`). */
  dataDir: string;
  /** What to fetch when nothing is on disk (default: the official archive, pinned by size and SHA-256). */
  download?: ExpectedFile & { url: string };
  onProgress?: DownloadProgress;
}

/** The archive's problem, as one line a person can act on. */
export class TestImdbError extends Error {}

const FIX =
  'Set RNN_TEST_IMDB to a copy of aclImdb_v1.tar.gz (the official archive, https://ai.stanford.edu/~amaas/data/sentiment/), or run `npm test` once with internet access to fetch it into the download cache';

export async function sha256File(file: string): Promise<string> {
  return (await hashFile(file)).sha256;
}

/** Finds (or fetches once) the archive the tests read; throws a {@link TestImdbError} saying what to set. */
export async function findTestImdb(o: FindOptions): Promise<TestImdb> {
  const known = async (file: string, from: TestImdb['from'], what: string): Promise<TestImdb> => {
    const sha256 = await sha256File(file);
    if (!KNOWN_IMDB.has(sha256)) {
      throw new TestImdbError(
        `${what} is not aclImdb_v1.tar.gz (its SHA-256 is ${sha256}): the tests pin statistics of the official archive or of CI's copy. ${FIX}`,
      );
    }
    return { file, sha256, from };
  };
  if (o.variable) {
    const file = path.resolve(o.variable);
    if (!existsSync(file)) throw new TestImdbError(`RNN_TEST_IMDB=${o.variable} does not exist. ${FIX}`);
    return known(file, 'RNN_TEST_IMDB', `RNN_TEST_IMDB=${o.variable}`);
  }
  if (existsSync(o.shared)) return known(o.shared, 'beside the checkout', `the copy beside the checkout, ${o.shared},`);
  const pin = o.download ?? OFFICIAL_IMDB;
  try {
    const got = await cachedDownload(pin.url, o.dataDir, o.onProgress, pin);
    return { file: got.file, sha256: got.meta.sha256, from: got.fromCache ? 'download cache' : 'downloaded' };
  } catch (e) {
    throw new TestImdbError(`the tests need the IMDB archive, and there is no copy on this machine: ${(e as Error).message}. ${FIX}`);
  }
}

/**
 * The archive this run reads: RNN_TEST_IMDB (the test runner sets it to what {@link findTestImdb} found),
 * else the copy beside the checkout (a test file run on its own).
 */
export function testImdbPath(root: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(root, env.RNN_TEST_IMDB || path.join('..', 'shared', 'data', 'aclImdb_v1.tar.gz'));
}

/**
 * Where this run keeps what its test files share (decoded reviews, trained models): RNN_TEST_CACHE, which the
 * runner makes for each run and removes after it; a test file run on its own gets one of its own.
 */
export function runCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.RNN_TEST_CACHE) return env.RNN_TEST_CACHE;
  return path.join(os.tmpdir(), `rnn-test-cache-${process.pid}`);
}

/** Both labeled splits, in the archive's order (as `readImdbTarball` returns them). */
export interface ImdbReviews {
  train: Review[];
  test: Review[];
}

let decoded: Promise<ImdbReviews> | undefined;

/**
 * The archive's 50,000 labeled reviews, decoded once per run: the first file to ask writes them to the run's
 * cache (V8's serialization, read back in a fraction of a second), the others read that.
 */
export function imdbReviews(archive: string, cacheDir: string = runCacheDir()): Promise<ImdbReviews> {
  decoded ??= (async () => {
    const file = path.join(cacheDir, `reviews-${createHash('sha256').update(archive).digest('hex').slice(0, 12)}.v8`);
    const cached = await fsp.readFile(file).catch(() => undefined);
    if (cached) return deserialize(cached) as ImdbReviews;
    const { train, test } = await readImdbTarball(archive, ['train', 'test']);
    await fsp.mkdir(cacheDir, { recursive: true });
    // Written to a sibling and renamed: a file running beside this one reads the whole file or none.
    const tmp = `${file}.${process.pid}.tmp`;
    await fsp.writeFile(tmp, serialize({ train, test }));
    await fsp.rename(tmp, file);
    return { train, test };
  })();
  return decoded;
}
