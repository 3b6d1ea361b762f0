/**
 * Mutations of the fuzz campaign, all drawn from one seeded generator so that a case is reproduced from its
 * seed: byte-level (bit flips, interesting bytes, truncation, splices with another seed, repeated and deleted
 * chunks, huge numbers in place of digit runs), JSON-aware (a value replaced by a huge, negative, wrong-typed
 * or deeply nested one; keys dropped or added, JSON inside JSON strings too), tar-aware (header fields —
 * size, type, name, link — rewritten with a valid checksum, then gzipped) and zip-aware (an entry mutated
 * and the archive rebuilt; sizes and names in the zip headers rewritten).
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import yauzl from 'yauzl';
import yazl from 'yazl';
import { mulberry32 } from '../../src/util/random.js';

/** A seeded generator with the helpers mutations need. */
export class Rand {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  float(): number {
    return this.next();
  }
  /** A whole number in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

/** Numbers that break length fields and counts. */
export const HUGE_NUMBERS = [
  '0',
  '-1',
  '-0',
  '1e308',
  '-1e308',
  '1e999',
  '4294967295',
  '4294967296',
  '2147483648',
  '9007199254740993',
  '99999999999999999999999',
  '0.5',
  '1.5e-320',
  'NaN',
];

/** Deeply nested JSON text (arrays or objects), deeper than a naive recursive reader survives. */
export function deepJson(rand: Rand): string {
  const depth = rand.pick([1_000, 10_000, 100_000, 1_000_000]);
  return rand.chance(0.5) ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** One byte-level mutation of `b` (a copy); `other` is another seed of the same kind, for splices. */
export function mutateBytes(b: Buffer, rand: Rand, other?: Buffer): Buffer {
  const out = Buffer.from(b);
  const at = () => rand.int(Math.max(1, out.length));
  switch (rand.int(10)) {
    case 0: {
      // Bit flips, a few of them.
      for (let i = rand.int(8) + 1; i > 0 && out.length; i--) out[at()]! ^= 1 << rand.int(8);
      return out;
    }
    case 1: {
      for (let i = rand.int(4) + 1; i > 0 && out.length; i--)
        out[at()] = rand.pick([0, 0xff, 0x7f, 0x80, 0x0a, 0x0d, 0x22, 0x2c, 0x5c, 0xc0, 0xfe]);
      return out;
    }
    case 2:
      return out.subarray(0, rand.int(out.length + 1));
    case 3: {
      if (!other || other.length === 0) return out.subarray(0, rand.int(out.length + 1));
      return Buffer.concat([out.subarray(0, at()), other.subarray(rand.int(other.length))]);
    }
    case 4: {
      // A chunk repeated many times (grows the file).
      const s = at();
      const chunk = out.subarray(s, s + rand.int(64) + 1);
      return Buffer.concat([out.subarray(0, s), Buffer.concat(Array(rand.int(2000) + 2).fill(chunk)), out.subarray(s)]);
    }
    case 5: {
      const s = at();
      return Buffer.concat([out.subarray(0, s), out.subarray(s + rand.int(256) + 1)]);
    }
    case 6: {
      const s = at();
      return Buffer.concat([out.subarray(0, s), rand.bytes(rand.int(32) + 1), out.subarray(s)]);
    }
    case 7: {
      // A digit run (a length, count, shape or offset in text) replaced by a huge or odd number.
      const text = out.toString('latin1');
      const runs = [...text.matchAll(/\d+/g)];
      if (runs.length === 0) return mutateBytes(out, rand, other);
      const m = rand.pick(runs);
      return Buffer.from(text.slice(0, m.index) + rand.pick(HUGE_NUMBERS) + text.slice(m.index! + m[0].length), 'latin1');
    }
    case 8: {
      // Invalid UTF-8 sequences.
      const s = at();
      const bad = rand.pick([[0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xff], [0xef, 0xbb, 0xbf]]);
      return Buffer.concat([out.subarray(0, s), Buffer.from(bad), out.subarray(s)]);
    }
    default: {
      const s = at();
      return Buffer.concat([
        out.subarray(0, s),
        Buffer.from(rand.pick(['"', '\n', '\r\n', ',', '""', '\0', '\\', '{', '[', ']', '}'])),
        out.subarray(s),
      ]);
    }
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Values that break readers expecting something else. */
function oddValue(rand: Rand): Json {
  switch (rand.int(12)) {
    case 0:
      return rand.pick([1e308, -1e308, 2 ** 53 + 2, 4294967296, -1, 0, 0.5, -0.5, 1e-320]);
    case 1:
      return rand.pick(['', 'x', 'NaN', '../../escape', '/etc/passwd', '\u0000', 'é'.repeat(10_000)]);
    case 2:
      return null;
    case 3:
      return rand.pick([true, false]);
    case 4:
      return [];
    case 5:
      return {};
    case 6:
      return Array.from({ length: rand.pick([3, 1000, 100_000]) }, (_, i) => i);
    case 7:
      return { __proto__: 1, constructor: { prototype: 1 } } as unknown as Json;
    case 8:
      return rand.pick([[1e9, 1e9], [-1], [0], [1, 2, 3, 4, 5, 6, 7], [null], ['a']]);
    case 9:
      return 'x'.repeat(rand.pick([1000, 1_000_000]));
    case 10:
      return rand.int(2 ** 31);
    default:
      return Number.MAX_SAFE_INTEGER;
  }
}

/** Every path to a value in `v` (arrays sampled). */
function paths(v: Json, prefix: (string | number)[] = [], out: (string | number)[][] = [], rand?: Rand): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(v)) {
    const idx = v.length <= 8 ? v.map((_, i) => i) : [0, 1, v.length - 1, ...(rand ? [rand.int(v.length)] : [])];
    for (const i of idx) paths(v[i]!, [...prefix, i], out, rand);
  } else if (v && typeof v === 'object') {
    for (const k of Object.keys(v)) paths(v[k]!, [...prefix, k], out, rand);
  }
  return out;
}

function getAt(v: Json, p: (string | number)[]): Json {
  return p.reduce<Json>((x, k) => (x as Record<string, Json>)[k as string]!, v);
}

/**
 * A JSON-aware mutation of JSON text: a value replaced by an odd one, removed, or (for a string holding JSON,
 * like tokenizer.json's word_index) mutated inside; or the whole text replaced by deep nesting. Text that is
 * not JSON gets a byte mutation.
 */
export function mutateJson(text: string, rand: Rand): string {
  try {
    return mutateJsonValue(text, rand);
  } catch {
    // Nested deeper than this process's stack (an earlier mutation's deep JSON): mutate the bytes instead.
    return mutateBytes(Buffer.from(text), rand).toString('utf8');
  }
}

function mutateJsonValue(text: string, rand: Rand): string {
  let v: Json;
  try {
    v = JSON.parse(text) as Json;
  } catch {
    return mutateBytes(Buffer.from(text), rand).toString('utf8');
  }
  if (rand.chance(0.04)) return deepJson(rand);
  const all = paths(v, [], [], rand);
  const p = rand.pick(all);
  if (p.length === 0) return rand.chance(0.5) ? JSON.stringify(oddValue(rand)) : deepJson(rand);
  const parent = getAt(v, p.slice(0, -1)) as Record<string, Json>;
  const key = p.at(-1)! as string;
  const old = parent[key];
  const op = rand.int(10);
  if (typeof old === 'string' && /^\s*[[{]/.test(old) && op < 5) {
    parent[key] = mutateJson(old, rand);
  } else if (op < 7) {
    parent[key] = oddValue(rand);
  } else if (op < 8 && !Array.isArray(parent)) {
    delete parent[key];
  } else if (op < 9) {
    // Keep the type, change the value a little (numbers off by one, strings cut).
    parent[key] =
      typeof old === 'number'
        ? old + rand.pick([-1, 1, 1000])
        : typeof old === 'string'
          ? old.slice(0, rand.int(old.length + 1))
          : oddValue(rand);
  } else {
    const marker = `"__deep__${rand.int(1e9)}"`;
    parent[key] = marker.slice(1, -1);
    return JSON.stringify(v).replace(marker, deepJson(rand));
  }
  return JSON.stringify(v);
}

/** Rewrites a ustar header field (bytes [off, off+len)) and fixes the header's checksum. */
function setTarField(h: Buffer, off: number, len: number, value: Buffer | string): void {
  const b = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
  h.fill(0, off, off + len);
  b.copy(h, off, 0, Math.min(len, b.length));
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += h[i]!;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
}

/** A tar-aware mutation of a .tar.gz: a header field of one entry rewritten (checksum kept valid), or the tar bytes mutated; gzipped again. */
export function mutateTarGz(gz: Buffer, rand: Rand, other?: Buffer): Buffer {
  if (rand.chance(0.15)) return mutateBytes(gz, rand, other); // the gzip layer itself
  let t: Buffer;
  try {
    t = Buffer.from(gunzipSync(gz));
  } catch {
    return mutateBytes(gz, rand, other);
  }
  const headers: number[] = [];
  for (let off = 0; off + 512 <= t.length;) {
    const h = t.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    headers.push(off);
    const size = parseInt(h.subarray(124, 136).toString('latin1').replace(/\0.*$/s, '').trim() || '0', 8) || 0;
    off += 512 + Math.ceil(size / 512) * 512;
  }
  if (headers.length === 0 || rand.chance(0.2)) return gzipSync(mutateBytes(t, rand));
  const off = rand.pick(headers);
  const h = t.subarray(off, off + 512);
  const name = h.subarray(0, 100).toString('latin1').replace(/\0.*$/s, '');
  switch (rand.int(7)) {
    case 0: // a huge size field (octal, or base-256)
      if (rand.chance(0.5)) setTarField(h, 124, 12, rand.pick(['77777777777\0', '00000000000\0', '99999999999\0', '-1\0']));
      else setTarField(h, 124, 12, Buffer.from([0x80, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
      break;
    case 1: // another entry type: link, symlink, directory, FIFO, device
      setTarField(h, 156, 1, rand.pick(['1', '2', '3', '4', '5', '6', '7', 'x', 'L', 'K', 'g']));
      setTarField(h, 157, 100, rand.pick(['../../../etc/passwd', '/etc/passwd', 'aclImdb/train/pos', name, '.', '']));
      break;
    case 2: // another name: escaping, absolute, a review's name with odd numbers
      setTarField(
        h,
        0,
        100,
        rand.pick([
          '../x.txt',
          '/tmp/x.txt',
          'aclImdb/../../x',
          'aclImdb/train/pos/1_99999999999999999999.txt',
          'aclImdb/train/pos/0_0.txt',
          'aclImdb/train/neg/' + '9'.repeat(80) + '_1.txt',
          'C:\\x.txt',
          'aclImdb/train/pos/',
          name.replace(/\d+_/, '1_'),
        ]),
      );
      break;
    case 3: // a pax header with a long path or huge size
      setTarField(h, 156, 1, 'x');
      break;
    case 4: // mode, uid, mtime garbage
      setTarField(h, rand.pick([100, 108, 116, 136]), 12, rand.bytes(12));
      break;
    case 5: // the ustar magic
      setTarField(h, 257, 8, rand.pick(['ustar  \0', 'xxxxxxxx', '\0\0\0\0\0\0\0\0']));
      break;
    default: // the entry's data
      t = Buffer.concat([t.subarray(0, off + 512), mutateBytes(t.subarray(off + 512), rand)]);
  }
  return gzipSync(rand.chance(0.2) ? t.subarray(0, rand.int(t.length)) : t);
}

/** The entries of a zip (name → bytes); undefined when it does not read. */
export async function readZip(bytes: Buffer): Promise<Map<string, Buffer> | undefined> {
  return new Promise((resolve) => {
    yauzl.fromBuffer(bytes, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return resolve(undefined);
      const out = new Map<string, Buffer>();
      zip.on('error', () => resolve(undefined));
      zip.on('end', () => resolve(out));
      zip.on('entry', (e: yauzl.Entry) =>
        zip.openReadStream(e, (er, s) => {
          if (er || !s) return resolve(undefined);
          const chunks: Buffer[] = [];
          s.on('data', (c: Buffer) => chunks.push(c));
          s.on('error', () => resolve(undefined));
          s.on('end', () => {
            out.set(e.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
        }),
      );
      zip.readEntry();
    });
  });
}

export async function writeZip(entries: Map<string, Buffer>, compress: boolean): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, data] of entries) zip.addBuffer(data, name, { compress });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/**
 * A zip-aware mutation of a `.keras` archive: one entry mutated (JSON-aware for the JSON entries, bytes for
 * the HDF5 weights) and the archive rebuilt; an entry added, dropped, renamed or duplicated; a zip bomb; or
 * the zip's own bytes (sizes and name lengths in its headers) mutated.
 */
export async function mutateZip(bytes: Buffer, rand: Rand, other?: Buffer): Promise<Buffer> {
  const entries = rand.chance(0.85) ? await readZip(bytes) : undefined;
  if (!entries || entries.size === 0) {
    // Header fields: the local header's sizes (offset 18, 22), name length (26), the central directory's.
    const out = mutateBytes(bytes, rand, other);
    if (rand.chance(0.5) && out.length > 30) out.writeUInt32LE(rand.pick([0xffffffff, 0, 1, 0x7fffffff]), rand.pick([18, 22, 26]));
    return out;
  }
  const names = [...entries.keys()];
  const op = rand.int(10);
  if (op < 6) {
    const name = rand.pick(names);
    const data = entries.get(name)!;
    entries.set(
      name,
      name.endsWith('.json') && rand.chance(0.8) ? Buffer.from(mutateJson(data.toString('utf8'), rand)) : mutateBytes(data, rand),
    );
  } else if (op === 6) {
    entries.delete(rand.pick(names));
  } else if (op === 7) {
    // A name yazl would refuse (escaping, absolute, a backslash) is written as a placeholder of its length, then patched in.
    const name = rand.pick(['../evil.txt', '/abs.txt', 'assets/x', 'model.weights.h5/', 'a\\b', 'config.json.bak', '../../../../tmp/x']);
    const placeholder = 'q'.repeat(name.length);
    entries.set(placeholder, Buffer.from('x'));
    const zip = await writeZip(entries, rand.chance(0.3));
    for (let i = zip.indexOf(placeholder); i >= 0; i = zip.indexOf(placeholder, i + 1)) zip.write(name, i, 'latin1');
    return zip;
  } else if (op === 8) {
    // A bomb: a small compressed entry that inflates far past its bound.
    entries.set(rand.pick(names), Buffer.alloc(rand.pick([5, 70, 300]) * 2 ** 20));
    return writeZip(entries, true);
  } else {
    const name = rand.pick(names);
    const renamed = new Map(
      [...entries].map(([k, v]) => [k === name ? rand.pick(['CONFIG.JSON', 'metadata.json', name + ' ', 'model.weights.h5']) : k, v]),
    );
    return writeZip(renamed, rand.chance(0.5));
  }
  return writeZip(entries, rand.chance(0.3));
}
