/**
 * The order the test runner (test/run.ts) starts its files in. Files run `concurrency` at a time on one queue,
 * and a file that starts late and runs long leaves the other workers idle at the end: the runner starts the
 * longest files first (as Jest does), by each file's seconds in a recorded run (test/timings.json, rewritten
 * by `node dist/test/run.js --record`). A file with no record yet starts first: it may be long.
 */
import * as path from 'node:path';

/** Each file's seconds in a recorded run, by its path under dist/test without `.js`. */
export type Timings = Record<string, number>;

/** The key of a compiled test file (`…/dist/test/cli/train.test.js` → `cli/train.test`). */
export function timingKey(distTest: string, file: string): string {
  return path.relative(distTest, file).split(path.sep).join('/').replace(/\.js$/, '');
}

/** `files` in the order to start them: the longest recorded first, unrecorded before them, ties by path. */
export function longestFirst(distTest: string, files: readonly string[], timings: Timings): string[] {
  const estimate = (f: string): number => timings[timingKey(distTest, f)] ?? Infinity;
  return [...files].sort((a, b) => estimate(b) - estimate(a) || a.localeCompare(b));
}

/**
 * The timings after a run: this run's seconds (to 0.1 s) over the previous record, kept only for the test files
 * that exist (`files`: a filtered run keeps the others' records), sorted by key.
 */
export function recordTimings(
  distTest: string,
  files: readonly string[],
  previous: Timings,
  seconds: ReadonlyMap<string, number>,
): Timings {
  const exists = new Set(files.map((f) => timingKey(distTest, f)));
  const next: Timings = Object.fromEntries(Object.entries(previous).filter(([k]) => exists.has(k)));
  for (const [f, s] of seconds) next[timingKey(distTest, f)] = Math.round(s * 10) / 10;
  return Object.fromEntries(Object.entries(next).sort(([a], [b]) => a.localeCompare(b)));
}
