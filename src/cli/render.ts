/** Terminal rendering: colours (off when not a TTY or NO_COLOR is set) and small layout helpers. */
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

/** Two-column table for `key  value` reports. */
export function keyValues(rows: Array<[string, string]>, indent = '  '): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${indent}${k.padEnd(width)}  ${v}`).join('\n') + '\n';
}
