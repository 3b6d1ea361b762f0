import { createReadStream, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { UserError } from '../errors.js';

/** The errors of a file system that refuses a write: full (or over quota), or mounted read-only. */
const WRITE_REFUSED: Record<string, 'IO_NO_SPACE' | 'IO_READ_ONLY'> = {
  ENOSPC: 'IO_NO_SPACE',
  EDQUOT: 'IO_NO_SPACE',
  EROFS: 'IO_READ_ONLY',
};

/**
 * `e` as the UserError of a write to `target` that the file system refused (no space left, over quota,
 * read-only), or `e` itself. `unchanged` says what was left as it was (the previous model, …).
 */
export function writeRefused(e: unknown, target: string, unchanged = 'nothing was changed there'): unknown {
  const code = WRITE_REFUSED[(e as NodeJS.ErrnoException)?.code ?? ''];
  if (!code) return e;
  return code === 'IO_NO_SPACE'
    ? new UserError(
        'IO_NO_SPACE',
        `cannot write ${target}: no space left on its file system`,
        `Free some space, or write elsewhere; ${unchanged}`,
        {
          cause: e,
        },
      )
    : new UserError(
        'IO_READ_ONLY',
        `cannot write ${target}: its file system is read-only`,
        `Write elsewhere, or mount it read-write; ${unchanged}`,
        {
          cause: e,
        },
      );
}

/** Runs `write`, which writes `target` (or a staged copy of it), with a refused write as {@link writeRefused}'s UserError. */
export async function writingTo<T>(target: string, write: () => Promise<T>, unchanged?: string): Promise<T> {
  try {
    return await write();
  } catch (e) {
    throw writeRefused(e, target, unchanged);
  }
}

/** A temporary sibling of `target`, unique per call, in the same directory (so rename is atomic). */
export function tempSibling(target: string): string {
  const dir = path.dirname(target);
  return path.join(dir, `.${path.basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Writes a file atomically: a temporary sibling first, then a rename over the target. */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  await writingTo(target, async () => {
    await fsp.mkdir(path.dirname(target), { recursive: true });
    const tmp = tempSibling(target);
    try {
      await fsp.writeFile(tmp, data);
      await fsp.rename(tmp, target);
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
  });
}

/** Why {@link readBoundedFile} refused a file: not a regular file, or larger than allowed. */
export class FileRefused extends Error {
  constructor(
    readonly file: string,
    readonly why: string,
  ) {
    super(`${file} ${why}`);
    this.name = 'FileRefused';
  }
}

/**
 * Reads `file`, a regular file (or a link to one) of at most `maxBytes`; anything else (a folder, a device that
 * never ends, a pipe nobody writes to, a huge or sparse file) is refused with a {@link FileRefused} before a
 * byte is read. File-system errors (ENOENT, …) are thrown as they are.
 */
export async function readBoundedFile(file: string, maxBytes: number): Promise<Buffer> {
  const st = await fsp.stat(file);
  if (!st.isFile()) throw new FileRefused(file, `is ${st.isDirectory() ? 'a directory' : 'not a regular file (a device, socket or pipe)'}`);
  if (st.size > maxBytes)
    throw new FileRefused(file, `is ${st.size.toLocaleString('en-US')} bytes, more than the ${maxBytes.toLocaleString('en-US')} rnn reads`);
  const data = await fsp.readFile(file);
  if (data.length > maxBytes) throw new FileRefused(file, `grew past the ${maxBytes.toLocaleString('en-US')} bytes rnn reads`);
  return data;
}

/** Writes JSON atomically, pretty-printed with a trailing newline. */
export async function writeJsonAtomic(target: string, value: unknown): Promise<void> {
  await writeFileAtomic(target, JSON.stringify(value, null, 2) + '\n');
}

/** Reads and parses a JSON file; undefined if it does not exist or is not valid JSON. */
export async function readJsonIfExists<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export async function exists(p: string): Promise<boolean> {
  try {
    await fsp.access(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Replaces directory `target` with the fully prepared directory `staged` as atomically as the
 * file system allows: the old one is moved aside, the new one renamed in, the old one removed.
 */
export async function replaceDir(staged: string, target: string): Promise<void> {
  const aside = tempSibling(target) + '-old';
  const had = await exists(target);
  if (had) await fsp.rename(target, aside);
  try {
    await fsp.rename(staged, target);
  } catch (e) {
    if (had) await fsp.rename(aside, target);
    throw e;
  }
  if (had) await fsp.rm(aside, { recursive: true, force: true });
}

/**
 * Writes directory `target` whole: `fill` writes into a staged sibling, which then replaces `target` ({@link
 * replaceDir}); what an interrupted earlier write left is recovered or removed first, and on failure the staged
 * copy is removed and `target` stays as it was. Returns what `fill` returns.
 */
export async function writeDirStaged<T>(target: string, fill: (staged: string) => Promise<T>): Promise<T> {
  await fsp.mkdir(path.dirname(target), { recursive: true });
  await recoverReplacedDir(target);
  await removeStaleTempSiblings(target);
  const staged = tempSibling(target);
  await fsp.mkdir(staged);
  try {
    const result = await fill(staged);
    await replaceDir(staged, target);
    return result;
  } finally {
    await fsp.rm(staged, { recursive: true, force: true });
  }
}

/**
 * Finishes what a crash interrupted in {@link replaceDir}: if it died between its two renames, `target` is
 * missing and the previous directory sits aside (`.<name>.tmp-<pid>-<id>-old`); that one is renamed back.
 * Returns true when it recovered something.
 */
export async function recoverReplacedDir(target: string): Promise<boolean> {
  if (await exists(target)) return false;
  const dir = path.dirname(target);
  const prefix = `.${path.basename(target)}.tmp-`;
  const asides: { name: string; mtime: number }[] = [];
  for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith(prefix) || !name.endsWith('-old')) continue;
    const st = await fsp.stat(path.join(dir, name)).catch(() => undefined);
    if (st?.isDirectory()) asides.push({ name, mtime: st.mtimeMs });
  }
  const newest = asides.sort((a, b) => b.mtime - a.mtime)[0];
  if (!newest) return false;
  await fsp.rename(path.join(dir, newest.name), target);
  return true;
}

/** Removes temporary siblings of `target` (staged or set-aside copies) left by processes that no longer run. */
export async function removeStaleTempSiblings(target: string): Promise<void> {
  const dir = path.dirname(target);
  const prefix = `.${path.basename(target)}.tmp-`;
  for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (!Number.isInteger(pid) || pid === process.pid || isRunning(pid)) continue;
    await fsp.rm(path.join(dir, name), { recursive: true, force: true });
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === 'EPERM';
  }
}

/** Hard-links `src` to `dest` when both are on one file system, else copies it. */
export async function linkOrCopy(src: string, dest: string): Promise<void> {
  await fsp.rm(dest, { force: true });
  try {
    await fsp.link(src, dest);
  } catch {
    await fsp.copyFile(src, dest);
  }
}

/** Copies a directory tree, hard-linking files where possible. */
export async function linkOrCopyTree(src: string, dest: string): Promise<number> {
  let files = 0;
  await fsp.mkdir(dest, { recursive: true });
  for (const entry of await fsp.readdir(src, { withFileTypes: true })) {
    const s = path.join(src, entry.name);
    const d = path.join(dest, entry.name);
    if (entry.isDirectory()) {
      files += await linkOrCopyTree(s, d);
    } else if (entry.isSymbolicLink()) {
      await fsp.rm(d, { force: true });
      await fsp.symlink(await fsp.readlink(s), d);
      files++;
    } else if (entry.isFile()) {
      await linkOrCopy(s, d);
      files++;
    }
  }
  return files;
}

/** A file's SHA-256 (hex) and size in bytes, read as a stream. */
export async function hashFile(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const c of createReadStream(file)) {
    hash.update(c as Buffer);
    bytes += (c as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}
