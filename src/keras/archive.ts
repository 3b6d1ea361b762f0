/**
 * The `.keras` archive: a zip of `metadata.json`, `config.json` and `model.weights.h5` (Keras 3's
 * saving_lib). Reading treats the file as hostile: only those three entries, each within a size bound
 * checked before and while it is inflated, nothing written anywhere but memory. Writing is atomic.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type yauzl from 'yauzl';
// yauzl and yazl load when an archive is read or written (not at every command's start-up).
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../util/fs.js';

/** The entries of a `.keras` archive rnn reads and writes. */
export const ENTRIES = { metadata: 'metadata.json', config: 'config.json', weights: 'model.weights.h5' } as const;
type EntryName = (typeof ENTRIES)[keyof typeof ENTRIES];

/** Upper bounds on what an archive may hold, in bytes. */
export interface ArchiveLimits {
  /** The archive file itself. */
  archive: number;
  /** Each entry once inflated, by name. */
  entries: Record<EntryName, number>;
}

const MiB = 2 ** 20;
/** Generous for these models (the best preset's weights are 19 MB), small enough that a zip bomb stops early. */
export const ARCHIVE_LIMITS: ArchiveLimits = Object.freeze({
  archive: 2048 * MiB,
  entries: Object.freeze({ 'metadata.json': 64 * 1024, 'config.json': 4 * MiB, 'model.weights.h5': 2048 * MiB }),
});

/** The three entries of an archive, as bytes. */
export type ArchiveFiles = Record<EntryName, Uint8Array>;

function archiveError(
  file: string,
  what: string,
  fix = 'Save it again with `model.save("model.keras")` in Keras 3, or `rnn export --keras`',
): UserError {
  return new UserError('KERAS_ARCHIVE', `${file} ${what}`, fix);
}

/** HDF5's signature, the first bytes of a legacy Keras `.h5` model. */
const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

function isHdf5(bytes: Buffer): boolean {
  return bytes.subarray(0, HDF5_SIGNATURE.length).equals(HDF5_SIGNATURE);
}

/** An archive as read: its three entries, and the SHA-256 of the file they came from. */
export interface ReadArchive {
  files: ArchiveFiles;
  sha256: string;
}

/**
 * Reads the three entries of a `.keras` archive, and hashes it, from one read of the file; any other entry, a
 * missing one or one over its bound is an error.
 */
export async function readArchive(file: string, limits: ArchiveLimits = ARCHIVE_LIMITS): Promise<ReadArchive> {
  const st = await fsp.stat(file).catch(() => undefined);
  if (!st?.isFile())
    throw new UserError(
      'KERAS_NOT_FOUND',
      `${file} does not exist`,
      'Pass the path of a .keras file saved by Keras 3 (`model.save("model.keras")`)',
    );
  if (st.size > limits.archive) throw archiveError(file, `is ${st.size} bytes, more than the ${limits.archive} rnn reads`);
  const bytes = await fsp.readFile(file);
  if (isHdf5(bytes)) {
    throw archiveError(
      file,
      'is a legacy Keras HDF5 model (.h5), not a .keras archive',
      'In Keras 3, save it again as one: keras.saving.load_model("model.h5").save("model.keras"), then import that',
    );
  }
  const { default: unzip } = await import('yauzl');
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    unzip.fromBuffer(bytes, { lazyEntries: true, validateEntrySizes: true, strictFileNames: true, decodeStrings: true }, (err, z) =>
      err || !z ? reject(archiveError(file, `is not a .keras archive (a zip): ${err?.message ?? 'unreadable'}`)) : resolve(z),
    ),
  );
  const found: Partial<ArchiveFiles> = {};
  try {
    await new Promise<void>((resolve, reject) => {
      // yauzl itself refuses absolute names, `..` and backslashes (strictFileNames) before we see them.
      const escape = /absolute path|invalid relative path|invalid characters/;
      const fail = (e: unknown) =>
        reject(
          e instanceof UserError
            ? e
            : archiveError(
                file,
                escape.test((e as Error).message)
                  ? `has an entry that points outside the archive (${(e as Error).message})`
                  : `is damaged: ${(e as Error).message}`,
              ),
        );
      zip.on('error', fail);
      zip.on('end', () => resolve());
      zip.on('entry', (entry: yauzl.Entry) => {
        const name = entry.fileName;
        const limit = (limits.entries as Record<string, number>)[name];
        if (limit === undefined) {
          const escapes = name.startsWith('/') || name.split(/[\\/]/).includes('..');
          fail(
            archiveError(
              file,
              escapes
                ? `has an entry that points outside the archive (${JSON.stringify(name)})`
                : `has an entry rnn does not read: ${JSON.stringify(name)}`,
            ),
          );
          return;
        }
        if (found[name as EntryName]) return fail(archiveError(file, `has ${name} twice`));
        if (entry.uncompressedSize > limit)
          return fail(archiveError(file, `has a ${name} of ${entry.uncompressedSize} bytes, more than the ${limit} rnn reads`));
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return fail(e ?? new Error(`cannot read ${name}`));
          const chunks: Buffer[] = [];
          let size = 0;
          stream.on('data', (c: Buffer) => {
            size += c.length;
            if (size > limit) {
              stream.destroy();
              fail(archiveError(file, `has a ${name} that inflates past the ${limit} bytes rnn reads`));
            } else chunks.push(c);
          });
          stream.on('error', fail);
          stream.on('end', () => {
            found[name as EntryName] = new Uint8Array(Buffer.concat(chunks));
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
  for (const name of Object.values(ENTRIES)) {
    if (!found[name]) throw archiveError(file, `has no ${name}`);
  }
  return { files: found as ArchiveFiles, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Writes a `.keras` archive atomically (entries stored uncompressed, as Keras does). */
export async function writeArchive(file: string, files: ArchiveFiles): Promise<number> {
  const { default: yazl } = await import('yazl');
  const zip = new yazl.ZipFile();
  const mtime = new Date();
  for (const name of [ENTRIES.metadata, ENTRIES.config, ENTRIES.weights]) {
    zip.addBuffer(Buffer.from(files[name].buffer, files[name].byteOffset, files[name].byteLength), name, { compress: false, mtime });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream as AsyncIterable<Buffer>) chunks.push(c);
  const bytes = Buffer.concat(chunks);
  await writeFileAtomic(file, bytes);
  return bytes.byteLength;
}
