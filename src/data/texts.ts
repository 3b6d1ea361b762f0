/**
 * Unlabeled texts for `rnn pretrain`: a text file (one text per line), a CSV's text column, or an aclImdb source
 * (its training reviews, plus `train/unsup/` when the archive has it; its test reviews only when asked for).
 * And the texts' fingerprints: what `rnn eval` checks test reviews against, so a language model that read them
 * is reported (the leak guard). No tfjs.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.js';
import { hashFile } from '../util/fs.js';
import { readCsvTexts } from './csv.js';
import { loadData, type LoadDataOptions } from './index.js';
import { cleanReview, type DataSourceInfo } from './types.js';

/** Where a language model's texts came from, as its metadata.json records them. */
export interface TextSourceInfo {
  /** `text` (one text per line), `csv` (its text column), or an aclImdb `tarball` / `dir`. */
  kind: 'text' | 'csv' | DataSourceInfo['kind'];
  /** Absolute path read. */
  path: string;
  url?: string;
  /** SHA-256 of the file (of the file listing for a directory). */
  sha256: string;
  bytes?: number;
  /** The CSV column read (csv only). */
  textColumn?: string;
  /** How many texts came from each part: aclImdb's train, unsup and (with `allowTestText`) test; a file's lines. */
  parts: { train?: number; unsup?: number; test?: number; lines?: number };
  /** True when aclImdb's labeled test reviews are among the texts (`--allow-test-text`). */
  includesTest: boolean;
}

export interface LoadedTexts {
  texts: string[];
  source: TextSourceInfo;
}

/** What {@link loadTexts} reads. */
export interface TextLoadOptions extends Pick<
  LoadDataOptions,
  'defaultSource' | 'dataDir' | 'reviewCache' | 'onDownload' | 'onStep' | 'pin'
> {
  /** `--data`: a text file, a CSV, an aclImdb directory or tarball (path or URL); undefined: the default dataset. */
  data?: string;
  /** CSV only: the text column (default: the usual names). */
  textColumn?: string;
  /** aclImdb: read the labeled test reviews too (never by default). */
  allowTestText: boolean;
  /** The flag that named the source, for messages (default `--data`; `rnn train --unlabeled`). */
  flag?: string;
}

/** The texts a language model learns from, cleaned as reviews are (`<br />` → space), empty ones dropped. */
export async function loadTexts(o: TextLoadOptions): Promise<LoadedTexts> {
  const spec = o.data ?? o.defaultSource;
  const local = /^https?:\/\//i.test(spec) ? undefined : path.resolve(spec.startsWith('file://') ? new URL(spec).pathname : spec);
  const st = local === undefined ? undefined : await fsp.stat(local).catch(() => undefined);
  if (local !== undefined && !st) {
    throw new UserError(
      'DATA_NOT_FOUND',
      `${spec} does not exist`,
      `Pass ${o.flag ?? '--data'} with a text file (one text per line), a CSV, an aclImdb directory or aclImdb_v1.tar.gz`,
    );
  }
  if (local !== undefined && st?.isFile() && /\.csv$/i.test(local)) {
    o.onStep?.(`reading the texts of ${local}`);
    const texts: string[] = [];
    for await (const t of readCsvTexts(local, o.textColumn)) texts.push(t);
    return checked(o, texts, {
      kind: 'csv',
      path: local,
      ...(await hashFile(local)),
      ...(o.textColumn && { textColumn: o.textColumn }),
      parts: { lines: texts.length },
      includesTest: false,
    });
  }
  if (local !== undefined && st?.isFile() && !/\.(tar\.gz|tgz)$/i.test(local)) {
    if (o.textColumn !== undefined) {
      throw new UserError('OPTION_NOT_APPLICABLE', `--text-column applies to a CSV, and ${local} is a text file`, 'Leave it out');
    }
    o.onStep?.(`reading the texts of ${local}`);
    const buf = await fsp.readFile(local);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
    } catch {
      throw new UserError('DATA_NOT_UTF8', `${local} is not UTF-8 text`, 'Convert it to UTF-8, one text per line');
    }
    const lines = text.split(/\r?\n/);
    return checked(o, lines, {
      kind: 'text',
      path: local,
      sha256: createHash('sha256').update(buf).digest('hex'),
      bytes: buf.byteLength,
      parts: { lines: lines.length },
      includesTest: false,
    });
  }
  if (o.textColumn !== undefined) {
    throw new UserError('OPTION_NOT_APPLICABLE', `--text-column applies to a CSV, and ${spec} is an aclImdb source`, 'Leave it out');
  }
  const d = await loadData({
    data: o.data,
    defaultSource: o.defaultSource,
    dataDir: o.dataDir,
    reviewCache: o.reviewCache,
    splits: o.allowTestText ? ['train', 'test'] : ['train'],
    onStep: o.onStep,
    onDownload: o.onDownload,
    pin: o.pin,
    unsup: true,
  });
  const unsup = d.unsup ?? [];
  const test = o.allowTestText ? d.test.map((r) => r.text) : [];
  const { heldOut: _h, target: _t, ...source } = d.source;
  return checked(o, [...d.train.map((r) => r.text), ...unsup, ...test], {
    ...source,
    parts: { train: d.train.length, unsup: unsup.length, ...(o.allowTestText && { test: test.length }) },
    includesTest: o.allowTestText,
  });
}

function checked(o: Pick<TextLoadOptions, 'flag'>, raw: readonly string[], source: TextSourceInfo): LoadedTexts {
  const texts = raw.map((t) => cleanReview(t).trim()).filter((t) => t.length > 0);
  if (texts.length < 2) {
    throw new UserError(
      'DATA_EMPTY',
      `${source.path} holds ${texts.length === 0 ? 'no text' : 'one text only'}`,
      `Pass ${o.flag ?? '--data'} with a text file of one text per line (at least two), a CSV with a text column, or an aclImdb source`,
    );
  }
  return { texts, source };
}

/**
 * A text's fingerprint: the first 8 bytes of the SHA-256 of its cleaned, trimmed form (two texts that differ
 * collide with probability 2⁻⁶⁴). Test reviews are compared by it with the texts a language model read.
 */
export function textFingerprint(text: string): bigint {
  return createHash('sha256').update(cleanReview(text).trim()).digest().readBigUInt64BE(0);
}

/** The sorted, distinct fingerprints of `texts` (a language model directory's `texts.fp`, 8 bytes each, big-endian). */
export function textFingerprints(texts: Iterable<string>): BigUint64Array {
  const all = new Set<bigint>();
  for (const t of texts) all.add(textFingerprint(t));
  return BigUint64Array.from([...all].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Fingerprints as bytes (big-endian, so the file reads the same on every machine) and back. */
export function fingerprintBytes(fp: BigUint64Array): Uint8Array {
  const out = new Uint8Array(fp.length * 8);
  const view = new DataView(out.buffer);
  fp.forEach((v, i) => view.setBigUint64(i * 8, v));
  return out;
}

export function fingerprintsOf(bytes: Uint8Array): BigUint64Array {
  if (bytes.byteLength % 8 !== 0) throw new Error(`a fingerprint file has a multiple of 8 bytes, not ${bytes.byteLength}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return BigUint64Array.from({ length: bytes.byteLength / 8 }, (_, i) => view.getBigUint64(i * 8));
}

/** For each text, whether its fingerprint is among `fp` (sorted, as {@link textFingerprints} gives them). */
export function textsAmong(texts: readonly string[], fp: BigUint64Array): boolean[] {
  return texts.map((t) => {
    const x = textFingerprint(t);
    let lo = 0;
    let hi = fp.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = fp[mid]!;
      if (v === x) return true;
      if (v < x) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  });
}
