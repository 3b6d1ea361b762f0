import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

/** A temporary sibling of `target`, unique per call, in the same directory (so rename is atomic). */
export function tempSibling(target: string): string {
  const dir = path.dirname(target);
  return path.join(dir, `.${path.basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Writes a file atomically: a temporary sibling first, then a rename over the target. */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  await fsp.mkdir(path.dirname(target), { recursive: true });
  const tmp = tempSibling(target);
  try {
    await fsp.writeFile(tmp, data);
    await fsp.rename(tmp, target);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
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
