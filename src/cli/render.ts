/** Where output goes, its colours (off when not a TTY or NO_COLOR is set), and the machine a benchmark ran on. */
import * as os from 'node:os';
import { Chalk, supportsColor, type ChalkInstance } from 'chalk';
import type { LoadedBackend } from '../backend/index.js';

/** Where a command writes: results to `out`, progress and logs to `err`. */
export interface Io {
  out: NodeJS.WritableStream & { isTTY?: boolean };
  err: NodeJS.WritableStream & { isTTY?: boolean };
}

/** A chalk instance for a stream: colour only on a TTY, never with NO_COLOR or --no-color. */
export function chalkFor(stream: { isTTY?: boolean }, colorAllowed: boolean): ChalkInstance {
  const level = colorAllowed && stream.isTTY ? (supportsColor ? supportsColor.level : 1) || 1 : 0;
  return new Chalk({ level });
}

/** The head of a benchmark's machine line: CPU × threads and the backend, e.g. `AMD EPYC × 2, backend tensorflow (TensorFlow 2.21.0)`. */
export function describeMachine(backend: Pick<LoadedBackend, 'name' | 'tfVersion'>): string {
  const threads = os.availableParallelism?.() ?? os.cpus().length;
  return `${os.cpus()[0]?.model.trim()} × ${threads}, backend ${backend.name}${backend.tfVersion ? ` (TensorFlow ${backend.tfVersion})` : ''}`;
}
