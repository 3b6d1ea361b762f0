/**
 * src/keras/archive.ts and h5.ts on hostile input: every malformed, truncated, oversized or escaping archive
 * and every bad weights file is one UserError (code KERAS_ARCHIVE or KERAS_WEIGHTS) with an exact message,
 * read only into memory. The archives are built here from a Keras-trained fixture (test/fixtures/keras).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import yazl from 'yazl';
import { UserError } from '../../src/errors.js';
import { ARCHIVE_LIMITS, readArchive, writeArchive, type ArchiveFiles } from '../../src/keras/archive.js';
import { readWeightsH5, writeWeightsH5 } from '../../src/keras/h5.js';
import { weightSlots, type KerasModelSpec } from '../../src/keras/spec.js';
import { escapeRegExp, ROOT, tempDir } from '../helpers.js';

const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'keras', 'lstm.keras');
let work = '';
let good: ArchiveFiles;

before(async () => {
  work = await tempDir('rnn-keras-archive-');
  good = (await readArchive(FIXTURE)).files;
});
after(() => fsp.rm(work, { recursive: true, force: true }));

/** A zip of `entries` (name → bytes, deflated) at a new path. */
async function zipOf(name: string, entries: Array<[string, Uint8Array | string]>): Promise<string> {
  const zip = new yazl.ZipFile();
  for (const [n, data] of entries) zip.addBuffer(Buffer.from(data), n);
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream as AsyncIterable<Buffer>) chunks.push(c);
  const file = path.join(work, name);
  await fsp.writeFile(file, Buffer.concat(chunks));
  return file;
}

/** The same zip with every occurrence of `from` in its bytes (file names in both headers) replaced by `to`, of equal length. */
async function renamed(file: string, from: string, to: string): Promise<string> {
  assert.equal(from.length, to.length);
  const bytes = await fsp.readFile(file);
  const out = Buffer.from(bytes.toString('latin1').split(from).join(to), 'latin1');
  const target = file.replace(/\.keras$/, '-renamed.keras');
  await fsp.writeFile(target, out);
  return target;
}

const three = (): Array<[string, Uint8Array]> => [
  ['metadata.json', good['metadata.json']],
  ['config.json', good['config.json']],
  ['model.weights.h5', good['model.weights.h5']],
];

function rejectsWith(code: string, message: string) {
  return (e: unknown) => {
    assert.ok(e instanceof UserError, String(e));
    assert.equal(e.code, code);
    assert.equal(e.message, message);
    return true;
  };
}

test('a Keras-saved archive reads as its three entries; rnn writes one that reads back the same', async () => {
  assert.deepEqual(Object.keys(good).sort(), ['config.json', 'metadata.json', 'model.weights.h5']);
  assert.equal(JSON.parse(Buffer.from(good['metadata.json']).toString()).keras_version, '3.15.1');
  const copy = path.join(work, 'copy.keras');
  await writeArchive(copy, good);
  const back = await readArchive(copy);
  assert.deepEqual(back.files, good);
  assert.equal(
    back.sha256,
    createHash('sha256')
      .update(await fsp.readFile(copy))
      .digest('hex'),
  );
});

/** `data` written to a new file named `name`. */
async function fileOf(name: string, data: string | Uint8Array): Promise<string> {
  const f = path.join(work, name);
  await fsp.writeFile(f, data);
  return f;
}

const notAZip = (f: string) =>
  `${f} is not a .keras archive (a zip): End of central directory record signature not found. Either not a zip file, or file is truncated.`;

const ARCHIVES: Array<{ name: string; make: () => Promise<string>; message: (f: string) => string }> = [
  {
    name: 'not a zip',
    make: () => fileOf('text.keras', 'just some text, not an archive\n'),
    message: notAZip,
  },
  {
    name: 'truncated to half',
    make: async () => fileOf('half.keras', (await fsp.readFile(FIXTURE)).subarray(0, (await fsp.stat(FIXTURE)).size >> 1)),
    message: notAZip,
  },
  {
    name: 'a legacy HDF5 model',
    make: () => fileOf('legacy.h5', good['model.weights.h5']),
    message: (f) => `${f} is a legacy Keras HDF5 model (.h5), not a .keras archive`,
  },
  {
    name: 'an entry that climbs out (../)',
    make: async () => renamed(await zipOf('climb.keras', [...three(), ['xx/evil.sh', 'rm -rf /']]), 'xx/evil', '../evil'),
    message: (f) => `${f} has an entry that points outside the archive (invalid relative path: ../evil.sh)`,
  },
  {
    name: 'an absolute entry',
    make: async () => renamed(await zipOf('abs.keras', [...three(), ['xetc/passwd', 'root']]), 'xetc/passwd', '/etc/passwd'),
    message: (f) => `${f} has an entry that points outside the archive (absolute path: /etc/passwd)`,
  },
  {
    name: 'an entry rnn does not read (assets, code)',
    make: () => zipOf('extra.keras', [...three(), ['assets/layer.py', 'import os']]),
    message: (f) => `${f} has an entry rnn does not read: "assets/layer.py"`,
  },
  {
    name: 'no weights',
    make: () => zipOf('noweights.keras', three().slice(0, 2)),
    message: (f) => `${f} has no model.weights.h5`,
  },
  {
    name: 'config.json twice',
    make: () => zipOf('twice.keras', [...three(), ['config.json', '{}']]),
    message: (f) => `${f} has config.json twice`,
  },
  {
    name: 'a zip bomb (5 MiB of config.json in a few KB)',
    make: () => zipOf('bomb.keras', [...three().filter(([n]) => n !== 'config.json'), ['config.json', ' '.repeat(5 * 2 ** 20)]]),
    message: (f) => `${f} has a config.json of 5242880 bytes, more than the 4194304 rnn reads`,
  },
];

for (const a of ARCHIVES) {
  test(`refused archive: ${a.name}`, async () => {
    const file = await a.make();
    await assert.rejects(readArchive(file), rejectsWith('KERAS_ARCHIVE', a.message(file)));
  });
}

/** The zip with `entry`'s uncompressed size understated as `size` in both its headers (a lying archive). */
async function understated(file: string, entry: string, size: number): Promise<string> {
  const bytes = Buffer.from(await fsp.readFile(file));
  for (const [signature, sizeAt, nameAt] of [
    [0x04034b50, 22, 30],
    [0x02014b50, 24, 46],
  ] as const) {
    for (let at = 0; at + nameAt < bytes.length; at++) {
      if (bytes.readUInt32LE(at) !== signature) continue;
      const nameLength = bytes.readUInt16LE(at + (signature === 0x04034b50 ? 26 : 28));
      if (bytes.toString('latin1', at + nameAt, at + nameAt + nameLength) === entry) bytes.writeUInt32LE(size, at + sizeAt);
    }
  }
  const target = file.replace(/\.keras$/, '-lying.keras');
  await fsp.writeFile(target, bytes);
  return target;
}

test('an entry over its bound by its header, or by what it inflates to when the header lies; an archive over its bound', async () => {
  const file = await zipOf('lies.keras', three());
  const weights = good['model.weights.h5'].length;
  const limits = { ...ARCHIVE_LIMITS, entries: { ...ARCHIVE_LIMITS.entries, 'model.weights.h5': 1000 } };
  await assert.rejects(
    readArchive(file, limits),
    rejectsWith('KERAS_ARCHIVE', `${file} has a model.weights.h5 of ${weights} bytes, more than the 1000 rnn reads`),
  );
  const lying = await understated(file, 'model.weights.h5', 10);
  await assert.rejects(readArchive(lying, limits), (e: unknown) => {
    assert.ok(e instanceof UserError && e.code === 'KERAS_ARCHIVE', String(e));
    assert.match(
      e.message,
      new RegExp(
        `^${escapeRegExp(lying)} (is damaged: too many bytes in the stream|has a model.weights.h5 that inflates past the 1000 bytes rnn reads)`,
      ),
    );
    return true;
  });
  const size = (await fsp.stat(file)).size;
  await assert.rejects(
    readArchive(file, { ...ARCHIVE_LIMITS, archive: 100 }),
    rejectsWith('KERAS_ARCHIVE', `${file} is ${size} bytes, more than the 100 rnn reads`),
  );
});

const SPEC: KerasModelSpec = { cell: 'lstm', vocabSize: 50, embeddingDim: 8, maxlen: 64, units: 8, bidirectional: false, pooling: 'last' };

test('weights: Keras-trained ones read in slot order; garbage, a missing or misshapen weight, NaN are refused', async () => {
  const slots = weightSlots(SPEC);
  const values = await readWeightsH5(good['model.weights.h5'], slots, 'w.h5');
  assert.deepEqual(
    values.map((v) => v.length),
    slots.map((s) => s.shape.reduce((a, b) => a * b, 1)),
  );
  assert.ok(values[0]!.some((v) => v !== 0));
  const fix = (message: string) => rejectsWith('KERAS_WEIGHTS', message);
  await assert.rejects(
    readWeightsH5(new TextEncoder().encode('not hdf5 at all'), slots, 'w.h5'),
    fix('w.h5 is not an HDF5 file (Unable to open file)'),
  );
  const written = async (edit: (v: Float32Array[]) => void, drop?: number) => {
    const v = values.map((x) => x.slice());
    edit(v);
    return writeWeightsH5(
      slots.map((s, i) => ({ ...s, values: v[i]! })).filter((_, i) => i !== drop),
      [],
    );
  };
  await assert.rejects(readWeightsH5(await written(() => {}, 2), slots, 'w.h5'), fix('w.h5 has no weight layers/lstm/cell/vars/1'));
  const nan = await written((v) => (v[3]![5] = NaN));
  await assert.rejects(readWeightsH5(nan, slots, 'w.h5'), fix('w.h5 has NaN or infinite values in layers/lstm/cell/vars/2'));
  const wide = weightSlots({ ...SPEC, units: 9 });
  await assert.rejects(
    readWeightsH5(good['model.weights.h5'], wide, 'w.h5'),
    fix("w.h5 has layers/lstm/cell/vars/0 of shape [8, 32], the model's config says [8, 36]"),
  );
});
