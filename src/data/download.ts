/** HTTP(S) downloads into a cache: status and size checked, SHA-256 computed, written atomically. */
import { createWriteStream, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../errors.js';
import { tempSibling, readJsonIfExists, writeJsonAtomic } from '../util/fs.js';

/** Download progress: bytes so far and the announced total (undefined without Content-Length). */
export type DownloadProgress = (received: number, total: number | undefined) => void;

/** What a download must be: the official file's size and SHA-256 (a pinned URL). */
export interface ExpectedFile {
  bytes: number;
  sha256: string;
}

/** What is recorded beside a cached download. */
export interface CachedDownload {
  url: string;
  bytes: number;
  sha256: string;
  downloadedAt: string;
}

const OFFLINE_FIX = 'Pass --data with an aclImdb directory, aclImdb_v1.tar.gz or a CSV file, or set RNN_IMDB_URL to a reachable copy';

/**
 * Returns the cached copy of `url` in `cacheDir`, downloading it first if needed. A partial
 * download never becomes the cached file: it is written to a temporary sibling and renamed only
 * when its size matches Content-Length.
 */
export async function cachedDownload(
  url: string,
  cacheDir: string,
  onProgress?: DownloadProgress,
  expected?: ExpectedFile,
): Promise<{ file: string; meta: CachedDownload; fromCache: boolean }> {
  const name = path.basename(new URL(url).pathname) || 'download';
  const file = path.join(cacheDir, name);
  const sidecar = `${file}.source.json`;
  const meta = await readJsonIfExists<CachedDownload>(sidecar);
  if (meta && meta.url === url) {
    const st = await fsp.stat(file).catch(() => undefined);
    const pinned = expected === undefined || (st?.size === expected.bytes && meta.sha256 === expected.sha256);
    if (st && st.size === meta.bytes && pinned) return { file, meta, fromCache: true };
  }
  await fsp.mkdir(cacheDir, { recursive: true });
  const got = await download(url, file, onProgress, expected);
  const fresh: CachedDownload = { url, bytes: got.bytes, sha256: got.sha256, downloadedAt: new Date().toISOString() };
  await writeJsonAtomic(sidecar, fresh);
  return { file, meta: fresh, fromCache: false };
}

/** Forgets a cached download (the file and its record), e.g. when its contents failed verification. */
export async function discardCached(file: string): Promise<void> {
  await fsp.rm(file, { force: true });
  await fsp.rm(`${file}.source.json`, { force: true });
}

/** Downloads `url` to `dest` atomically; follows redirects; checks status, Content-Length and (if given) the expected size and SHA-256. */
export async function download(
  url: string,
  dest: string,
  onProgress?: DownloadProgress,
  expected?: ExpectedFile,
): Promise<{ bytes: number; sha256: string }> {
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'follow' });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (e as Error).message;
    throw new UserError('DATA_DOWNLOAD_FAILED', `could not download ${url}: ${why}`, OFFLINE_FIX);
  }
  if (!res.ok || !res.body) {
    throw new UserError('DATA_DOWNLOAD_FAILED', `could not download ${url}: HTTP ${res.status} ${res.statusText}`.trim(), OFFLINE_FIX);
  }
  const lengthHeader = res.headers.get('content-length');
  const total = lengthHeader !== null ? Number(lengthHeader) : undefined;
  const tmp = tempSibling(dest);
  const hash = createHash('sha256');
  let received = 0;
  try {
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
    body.on('data', (c: Buffer) => {
      received += c.length;
      hash.update(c);
      onProgress?.(received, total);
    });
    await pipeline(body, createWriteStream(tmp));
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw new UserError(
      'DATA_DOWNLOAD_INCOMPLETE',
      `download of ${url} broke off after ${received} bytes: ${(e as Error).message}`,
      'Run the command again; the partial file was discarded',
    );
  }
  if (total !== undefined && received !== total) {
    await fsp.rm(tmp, { force: true });
    throw new UserError(
      'DATA_DOWNLOAD_INCOMPLETE',
      `download of ${url} is incomplete: got ${received} of ${total} bytes`,
      'Run the command again; the partial file was discarded',
    );
  }
  if (expected !== undefined && received !== expected.bytes) {
    await fsp.rm(tmp, { force: true });
    throw new UserError(
      'DATA_DOWNLOAD_MISMATCH',
      `download of ${url} has ${received.toLocaleString('en-US')} bytes, but the official file has ${expected.bytes.toLocaleString('en-US')}`,
      'Run the command again (the file was discarded), or pass --data with a copy you trust',
    );
  }
  const sha256 = hash.digest('hex');
  if (expected !== undefined && sha256 !== expected.sha256) {
    await fsp.rm(tmp, { force: true });
    throw new UserError(
      'DATA_DOWNLOAD_MISMATCH',
      `download of ${url} is not the official file: its SHA-256 is ${sha256}, the official one ${expected.sha256}`,
      'The file was deleted; run the command again, or pass --data with a copy you trust',
    );
  }
  await fsp.rename(tmp, dest);
  return { bytes: received, sha256 };
}
