/**
 * The test runner behind `npm test` and `npm run test:unit`.
 *
 *   node dist/test/run.js [--lane unit|all] [--concurrency N] [--record] [FILTER…]
 *
 * Before any test runs it finds the IMDB archive the tests read (test/imdb.ts: RNN_TEST_IMDB, the copy beside
 * the checkout, or the official archive fetched once into rnn's download cache); without one it prints one
 * line saying what to set and exits 1. It makes one cache for the run (decoded reviews, trained models:
 * test/imdb.ts, test/models.ts), removed at the end.
 *
 * Lanes: `unit` runs the `*.test.js` files (no training run, no browser, no Keras, no npm install); `all` adds
 * the `*.e2e.test.js` files. The files run on one queue, --concurrency at a time (default: the cores and one
 * more), each on one thread, the longest first by test/timings.json (test/schedule.ts); `--record` rewrites
 * that file from a run without failures. FILTER keeps the files whose path contains one of its words.
 */
import { promises as fsp, readdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { resolveCliEnv } from '../src/cli/env.js';
import { findTestImdb, imdbReviews, TestImdbError } from './imdb.js';
import { ROOT } from './helpers.js';
import { longestFirst, recordTimings, type Timings } from './schedule.js';

/** The threading every test file runs with, unless the variable is set (see main). */
const TEST_THREADING = { OMP_WAIT_POLICY: 'PASSIVE', OMP_NUM_THREADS: '1', TF_NUM_INTRAOP_THREADS: '1', TF_NUM_INTEROP_THREADS: '1' };
const E2E = /\.e2e\.test\.js$/;
const TEST = /\.test\.js$/;

interface Args {
  lane: 'unit' | 'all';
  concurrency: number;
  /** Write each file's seconds to TIMINGS after a run without failures. */
  record: boolean;
  filters: string[];
}

function parseArgs(argv: string[]): Args {
  const a: Args = { lane: 'all', concurrency: 0, record: false, filters: [] };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i]!;
    if (v === '--lane') {
      const lane = argv[++i];
      if (lane !== 'unit' && lane !== 'all') throw new Error(`--lane takes unit or all, not ${lane}`);
      a.lane = lane;
    } else if (v === '--concurrency') {
      a.concurrency = Number(argv[++i]);
      if (!Number.isInteger(a.concurrency) || a.concurrency < 1) throw new Error('--concurrency takes a whole number of at least 1');
    } else if (v === '--record') a.record = true;
    else a.filters.push(v);
  }
  if (a.concurrency === 0) a.concurrency = os.availableParallelism() + 1;
  return a;
}

/** Every compiled test file under dist/test, sorted. */
function testFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => TEST.test(f))
    .map((f) => path.join(dir, f))
    .sort();
}

const DIST_TEST = path.join(ROOT, 'dist', 'test');
const TIMINGS = path.join(ROOT, 'test', 'timings.json');

async function readTimings(): Promise<Timings> {
  try {
    return JSON.parse(await fsp.readFile(TIMINGS, 'utf8')) as Timings;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw e;
  }
}

/** Runs `files` `concurrency` at a time; resolves with the failures and each file's wall time. */
function runQueue(files: string[], concurrency: number): Promise<QueueResult> {
  const failed: string[] = [];
  const seconds = new Map<string, number>();
  const ends = new Map<string, number>();
  const counts = { passed: 0, skipped: 0 };
  if (files.length === 0) return Promise.resolve({ failed, seconds, ends, counts });
  const stream = run({ files, concurrency });
  // A file is a test of its own (named by its path) around its tests.
  stream.on('test:complete', (d) => {
    if (d.file && d.name === d.file) {
      seconds.set(d.file, (d.details.duration_ms ?? 0) / 1000);
      ends.set(d.file, performance.now() / 1000);
    }
  });
  // The tests inside files (node 20's own summary counts the files, and may call a file with failures passed).
  stream.on('test:pass', (d) => {
    if (d.name !== d.file) counts[d.skip || d.todo ? 'skipped' : 'passed']++;
  });
  stream.on('test:fail', (d) => {
    if (!d.todo)
      failed.push(
        d.name === d.file ? `${path.relative(ROOT, d.name)} (the file failed)` : `${path.relative(ROOT, d.file ?? '?')}: ${d.name}`,
      );
  });
  return new Promise((resolve, reject) => {
    const out = stream.compose(new spec());
    out.pipe(process.stdout, { end: false }).on('error', reject);
    // After the reporter's last line, so that rnn's summary comes last.
    out.on('end', () => resolve({ failed, seconds, ends, counts }));
  });
}

interface QueueResult {
  failed: string[];
  seconds: Map<string, number>;
  ends: Map<string, number>;
  counts: { passed: number; skipped: number };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  const dataDir = resolveCliEnv(process.env, ROOT).dataDir;
  let imdb;
  try {
    imdb = await findTestImdb({
      variable: process.env.RNN_TEST_IMDB,
      shared: path.resolve(ROOT, '..', 'shared', 'data', 'aclImdb_v1.tar.gz'),
      dataDir,
      onProgress: progressLine(),
    });
  } catch (e) {
    if (!(e instanceof TestImdbError)) throw e;
    process.stderr.write(`error: ${e.message}\n`);
    return 1;
  }
  process.stderr.write(`tests read IMDB from ${imdb.file} (${imdb.from})\n`);
  const cache = await fsp.mkdtemp(path.join(os.tmpdir(), 'rnn-test-run-'));
  try {
    // run() starts each file in a child process with this process's environment.
    Object.assign(process.env, { RNN_TEST_IMDB: imdb.file, RNN_TEST_IMDB_SHA256: imdb.sha256, RNN_TEST_CACHE: cache });
    // Files run side by side, one more than there are cores (one is often waiting on a child process), and each
    // computes on one thread: TensorFlow's and oneDNN's thread pools sized to the machine would make every file
    // contend with the others at each barrier, and a file's own threads mostly wait on each other at the
    // suite's small sizes (docs/testing.md has the figures). Passive waiting for what still waits. Results do
    // not depend on it; the two-thread paths are tested explicitly (the addon's halves). A value the user set wins.
    for (const [name, value] of Object.entries(TEST_THREADING)) process.env[name] ??= value;
    await imdbReviews(imdb.file, cache); // decoded once, before the files that read it start side by side
    const every = testFiles(DIST_TEST);
    const all = every.filter((f) => args.filters.length === 0 || args.filters.some((w) => path.relative(ROOT, f).includes(w)));
    const files = args.lane === 'all' ? all : all.filter((f) => !E2E.test(f));
    const estimates = await readTimings();
    const ordered = longestFirst(DIST_TEST, files, estimates);
    const e2eCount = files.filter((f) => E2E.test(f)).length;
    process.stderr.write(
      `${args.lane} lane: ${files.length - e2eCount} unit files${args.lane === 'all' ? `, ${e2eCount} end-to-end files` : ''}, ${args.concurrency} at a time\n`,
    );
    const result = await runQueue(ordered, args.concurrency);
    const failed = result.failed;
    const seconds = result.seconds;
    if (process.env.RNN_TEST_TIMES) {
      const t0s = t0 / 1000;
      const rows = [...seconds].map(([f, s]) => ({ file: path.relative(ROOT, f), seconds: s, end: result.ends.get(f)! - t0s }));
      await fsp.writeFile(process.env.RNN_TEST_TIMES, JSON.stringify(rows, null, 1));
    }
    if (args.record && failed.length === 0)
      await fsp.writeFile(TIMINGS, `${JSON.stringify(recordTimings(DIST_TEST, every, estimates, seconds), null, 2)}\n`);
    const slowest = [...seconds].sort((a, b) => b[1] - a[1]).slice(0, 12);
    process.stderr.write(
      `\nslowest files:\n${slowest.map(([f, s]) => `  ${s.toFixed(1).padStart(6)} s  ${path.relative(ROOT, f)}`).join('\n')}\n`,
    );
    const { passed, skipped } = result.counts;
    process.stderr.write(
      `${files.length} files in ${((performance.now() - t0) / 1000).toFixed(0)} s: ${passed} tests passed, ${failed.length} failed, ${skipped} skipped\n`,
    );
    if (failed.length) {
      process.stderr.write(`\n${failed.length} failed:\n${failed.map((f) => `  ${f}`).join('\n')}\n`);
      return 1;
    }
    return 0;
  } finally {
    if (!process.env.RNN_TEST_KEEP_CACHE) await fsp.rm(cache, { recursive: true, force: true });
  }
}

/** A download progress line on stderr, at most once a second. */
function progressLine(): (received: number, total: number | undefined) => void {
  let shown = 0;
  return (received, total) => {
    const now = Date.now();
    if (now - shown < 1000 && received !== total) return;
    shown = now;
    const mb = (n: number): string => (n / 1e6).toFixed(1);
    process.stderr.write(`fetching the IMDB archive for the tests: ${mb(received)}${total ? ` of ${mb(total)}` : ''} MB\n`);
  };
}

main().then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    process.stderr.write(`error: ${(e as Error).message}\n`);
    process.exitCode = 1;
  },
);
