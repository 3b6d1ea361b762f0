import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from './env.js';

/** rnn's version from package.json. */
export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
