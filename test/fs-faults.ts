/**
 * A fault shim for tests that need a full or read-only file system where mounting one is not permitted:
 * loaded with `NODE_OPTIONS=--import=<this file>` (child processes inherit it), it makes every write under
 * RNN_TEST_FAULT_DIR fail with RNN_TEST_FAULT (ENOSPC or EROFS). ENOSPC lets the first 4 KiB of a file be
 * written first, as a real full disk does halfway through a file. Tests that use it say so in their names.
 */
import fs from 'node:fs';

const dir = process.env.RNN_TEST_FAULT_DIR;
const code = process.env.RNN_TEST_FAULT;

function fault(p: unknown): boolean {
  return dir !== undefined && typeof p === 'string' && (p === dir || p.startsWith(dir + '/'));
}

function error(syscall: string, p: string): NodeJS.ErrnoException {
  const e = new Error(
    `${code}: ${code === 'ENOSPC' ? 'no space left on device' : 'read-only file system'}, ${syscall} '${p}'`,
  ) as NodeJS.ErrnoException;
  e.code = code;
  e.syscall = syscall;
  e.path = p;
  return e;
}

if (dir && code) {
  const p = fs.promises as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  for (const name of ['mkdir', 'mkdtemp', 'symlink', 'rename', 'copyFile', 'link', 'open']) {
    const original = p[name]!.bind(fs.promises);
    p[name] = async (...a: unknown[]) => {
      const target = name === 'symlink' || name === 'rename' || name === 'copyFile' || name === 'link' ? a[1] : a[0];
      const writes = name !== 'open' || /[wa+]/.test(String(a[1] ?? 'r'));
      // A read-only file system refuses even mkdir of what exists; a full one lets directories be made.
      if (fault(target) && writes && (code === 'EROFS' || name !== 'mkdir')) throw error(name, target as string);
      return original(...a);
    };
  }
  const writeFile = p.writeFile!.bind(fs.promises);
  p.writeFile = async (...a: unknown[]) => {
    const [file, data] = a as [string, string | Uint8Array];
    if (!fault(file)) return writeFile(...a);
    if (code === 'ENOSPC') await writeFile(file, typeof data === 'string' ? data.slice(0, 4096) : data.subarray(0, 4096));
    throw error('write', file);
  };
}
