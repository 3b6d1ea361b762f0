/** Where output goes, and its colours (off when not a TTY or NO_COLOR is set). */
import { Chalk, supportsColor, type ChalkInstance } from 'chalk';

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
