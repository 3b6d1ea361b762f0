/** Hand-made tarballs for tests, including entries no honest archiver writes (../, absolute paths, escaping links). */
import { gzipSync } from 'node:zlib';
import * as tar from 'tar';

export interface TarEntry {
  path: string;
  type?: 'File' | 'SymbolicLink' | 'Link' | 'Directory';
  body?: string;
  linkpath?: string;
}

/** A gzipped tar of the entries, written header by header so unsafe names stay exactly as given. */
export function makeTarGz(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? 'File';
    const data = Buffer.from(type === 'File' ? (e.body ?? '') : '');
    const header = new tar.Header({ path: e.path, type, size: data.length, mode: 0o644, mtime: new Date(0), linkpath: e.linkpath });
    const hb = Buffer.alloc(512);
    header.encode(hb, 0);
    blocks.push(hb, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}
