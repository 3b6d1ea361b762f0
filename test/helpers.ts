/** Shared test helpers: run the real CLI (in this process or as a child process), temp dirs, repository paths. */
import { spawn } from 'node:child_process';
import { Readable, Writable } from 'node:stream';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { imdbReviews, sha256File, testImdbPath, type ImdbReviews } from './imdb.js';

/** Repository root (tests run from dist/test). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/**
 * The real IMDB archive the tests read (aclImdb_v1.tar.gz), as the test runner found it (test/imdb.ts):
 * RNN_TEST_IMDB, else the read-only copy CI keeps beside the checkout (`../shared/data`).
 */
export const IMDB_TARBALL = testImdbPath(ROOT);

let sha: Promise<string> | undefined;
/** The archive's SHA-256, computed here (the runner passes the one it computed as RNN_TEST_IMDB_SHA256). */
export const imdbSha256 = (): Promise<string> =>
  (sha ??= process.env.RNN_TEST_IMDB_SHA256 ? Promise.resolve(process.env.RNN_TEST_IMDB_SHA256) : sha256File(IMDB_TARBALL));

/** The archive's 50,000 labeled reviews in its order, decoded once per run (test/imdb.ts). */
export const imdb = (): Promise<ImdbReviews> => imdbReviews(IMDB_TARBALL);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** How {@link runCli} runs a command. */
export interface RunCliOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string;
  /** Kill the process after this long (spawned runs only: a timeout means a process). */
  timeoutMs?: number;
  /** Run `bin/rnn` as a process even where the test's own process would do (see {@link runCli}). */
  spawn?: boolean;
}

/**
 * The commands {@link runCli} runs in the test's own process: each spawned `rnn` costs ~0.3 CPU-s to start
 * and ~0.8 more to load TensorFlow, which the test's process has loaded once (docs/testing.md). `serve`,
 * `bench`, `doctor` and `setup-native` always run as processes (servers, processes of their own, machine
 * probes), as does any command given a global flag first (`--backend`, `--kernels`, `--debug`: they
 * choose what a process loads).
 */
const IN_PROCESS = new Set(['train', 'pretrain', 'eval', 'predict', 'data', 'compare', 'export', 'import', 'info', 'list']);

/**
 * Variables a command reads from the environment it is given (src/cli/env.ts); any other (NODE_OPTIONS, TF_*,
 * OMP_*, and the fault injection's RNN_TEST_*) is read by a process as it starts.
 */
const IN_PROCESS_VARIABLE = /^(?:RNN_(?!WORKER$|TEST_)[A-Z_]+|NO_COLOR)$/;

/**
 * Runs rnn with the given arguments; NO_COLOR unless the caller's env says otherwise. Commands of
 * {@link IN_PROCESS} run through the CLI's `main` in this process (what `bin/rnn` runs after setting its
 * environment, src/cli/main.ts `processSettings`), one at a time, with their own stdout, stderr and stdin;
 * others, and any run given `spawn`, a `cwd`, a timeout or a variable only a starting process reads, any
 * run while this process has a child process, and all runs when RNN_TEST_SPAWN=1, as a child process. A test
 * that needs what only a process shows (the exit of bin/rnn, TensorFlow's own lines on stderr, signals)
 * passes `spawn: true`.
 */
export function runCli(args: string[], opts: RunCliOptions = {}): Promise<CliResult> {
  const inProcess =
    opts.spawn !== true &&
    process.env.RNN_TEST_SPAWN !== '1' &&
    IN_PROCESS.has(args[0] ?? '') &&
    Object.keys(opts.env ?? {}).every((k) => IN_PROCESS_VARIABLE.test(k)) &&
    opts.cwd === undefined &&
    opts.timeoutMs === undefined &&
    process.cwd() === ROOT;
  return inProcess ? runInProcess(args, opts) : spawnCli(args, opts);
}

/**
 * Whether this process has a child process, exited or not (Linux's /proc/self/task/<tid>/children; true when it
 * cannot tell). TensorFlow 2.21's oneDNN kernels corrupt the heap when a signal the process handles lands while
 * they run (src/cli/worker.ts): a child's exit is one (SIGCHLD), so no command runs TensorFlow in this process
 * while a child of it (a server a test stopped, still shutting down) may exit. Such a run is a process.
 */
function hasChildProcess(): boolean {
  try {
    const tasks = path.join('/proc', String(process.pid), 'task');
    return readdirSync(tasks).some((t) => readFileSync(path.join(tasks, t, 'children'), 'utf8').trim() !== '');
  } catch {
    return true;
  }
}

/** In-process runs one after another: commands share TensorFlow's engine and the process's signal listeners. */
let inProcessQueue: Promise<unknown> = Promise.resolve();

function runInProcess(args: string[], opts: RunCliOptions): Promise<CliResult> {
  const once = async (): Promise<CliResult> => {
    // Checked when the run starts (it may have waited for others), not when it was asked for.
    if (hasChildProcess()) return spawnCli(args, opts);
    const { main, processSettings } = await import('../src/cli/main.js');
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...opts.env };
    const { set, threading } = processSettings(args, env);
    Object.assign(env, set);
    let stdout = '';
    let stderr = '';
    const sink = (add: (s: string) => void) =>
      new Writable({
        write(chunk: Buffer | string, _enc, done) {
          add(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
          done();
        },
      });
    const out = sink((s) => (stdout += s));
    const err = sink((s) => (stderr += s));
    const code = await main(args, { out, err }, env, Readable.from([opts.input ?? '']), threading);
    return { code, stdout, stderr };
  };
  const result = inProcessQueue.then(once, once);
  inProcessQueue = result.catch(() => undefined);
  return result;
}

/** Runs `bin/rnn` as a child process. */
function spawnCli(args: string[], opts: RunCliOptions): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'rnn'), ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, NO_COLOR: '1', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 10 * 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

export function tempDir(prefix = 'rnn-test-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

/** True when CI (or the developer) demands the native backend. */
export const REQUIRE_NATIVE = /^(1|true)$/i.test(process.env.RNN_REQUIRE_NATIVE ?? '');
/** RNN_REQUIRE_ONEDNN=1 (CI, which installs libdnnl-dev): tests of the oneDNN kernels fail instead of skipping when the addon is missing. */
export const REQUIRE_ONEDNN = /^(1|true)$/i.test(process.env.RNN_REQUIRE_ONEDNN ?? '');

/** The Chromium the browser tests drive (Debian's package; RNN_CHROMIUM overrides), and whether CI demands it (RNN_REQUIRE_BROWSER=1). */
export const CHROMIUM = process.env.RNN_CHROMIUM || '/usr/bin/chromium';
export const REQUIRE_BROWSER = /^(1|true)$/i.test(process.env.RNN_REQUIRE_BROWSER ?? '');
/** Where tests write artifacts for people to look at (screenshots): RNN_TEST_ARTIFACTS, else a folder in the temp directory. */
export const TEST_ARTIFACTS = process.env.RNN_TEST_ARTIFACTS || path.join(os.tmpdir(), 'rnn-test-artifacts');

/** `s` as a literal inside a RegExp (paths and messages in expected output). */
export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** The `{"error": {code, message, fix}}` a `--json` command printed as its last line on stderr (checked to be exactly that shape). */
export function jsonErrorOf(stderr: string): { code: string; message: string; fix: string } {
  const last = stderr.trimEnd().split('\n').at(-1) ?? '';
  let parsed: { error?: { code: string; message: string; fix: string } };
  try {
    parsed = JSON.parse(last) as typeof parsed;
  } catch {
    throw new Error(`the last line of stderr is not JSON: ${JSON.stringify(stderr)}`);
  }
  if (Object.keys(parsed).join() !== 'error' || Object.keys(parsed.error ?? {}).join() !== 'code,message,fix') {
    throw new Error(`not {"error": {code, message, fix}}: ${last}`);
  }
  return parsed.error!;
}

/**
 * A temporary workspace for CLI tests on real IMDB (models and data dirs inside it, RNN_IMDB_URL at the
 * shared tarball) and whether the native backend, which training needs, is available.
 */
export async function imdbWorkspace(prefix: string): Promise<{ native: boolean; work: string; env: NodeJS.ProcessEnv }> {
  const { loadBackend } = await import('../src/backend/index.js');
  const native = (await loadBackend({ requireNative: REQUIRE_NATIVE })).native;
  const work = await tempDir(prefix);
  return {
    native,
    work,
    env: { RNN_IMDB_URL: IMDB_TARBALL, RNN_MODELS_DIR: path.join(work, 'models'), RNN_DATA_DIR: path.join(work, 'data') },
  };
}

/**
 * The Python with Keras 3 (JAX backend) that the Keras bridge's tests check rnn's exports against:
 * RNN_KERAS_PYTHON (.ci/run builds it from .ci/keras-requirements.txt), and whether CI demands it
 * (RNN_REQUIRE_KERAS=1: then the tests fail without it instead of being skipped).
 */
export const KERAS_PYTHON = process.env.RNN_KERAS_PYTHON;
export const REQUIRE_KERAS = /^(1|true)$/i.test(process.env.RNN_REQUIRE_KERAS ?? '');
/** Why the tests that run Keras are skipped (false: they run). */
export const skipKeras: string | false =
  KERAS_PYTHON || REQUIRE_KERAS
    ? false
    : 'no Python with Keras 3 (set RNN_KERAS_PYTHON; .ci/run builds one from .ci/keras-requirements.txt)';

/** Runs a script of test/fixtures/keras with Keras's NumPy backend, `input` as JSON on its stdin; its stdout parsed as JSON. */
async function runKeras<T>(script: string, args: string[], input: unknown, what: string): Promise<T> {
  if (!KERAS_PYTHON) throw new Error('RNN_KERAS_PYTHON is not set: the Keras bridge tests need a Python with Keras 3');
  const python = KERAS_PYTHON;
  const file = path.join(ROOT, 'test', 'fixtures', 'keras', script);
  return new Promise((resolve, reject) => {
    const child = spawn(python, [file, ...args], { env: { ...process.env, KERAS_BACKEND: 'numpy' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(JSON.parse(stdout) as T) : reject(new Error(`Keras failed on ${what} (exit ${code}): ${stderr.slice(-2000)}`)),
    );
    child.stdin.end(JSON.stringify(input));
  });
}

/**
 * Keras's own predictions (test/fixtures/keras/predict.py: stock `keras.saving.load_model`) of id rows, with its
 * version and backend: the NumPy backend, Keras's plain reference implementation of every layer. `predictions`
 * holds `classes` values per row, row after row: 1 for a Dense(1, sigmoid) model, k for Dense(k, softmax).
 */
export async function kerasPredict(
  file: string,
  ids: number[][],
): Promise<{ predictions: number[]; classes: number; keras: string; backend: string }> {
  const r = await runKeras<{ predictions: number[] | number[][]; keras: string; backend: string }>('predict.py', [file], { ids }, file);
  const rows = r.predictions.every(Array.isArray) ? (r.predictions as number[][]) : undefined;
  return { ...r, predictions: rows ? rows.flat() : (r.predictions as number[]), classes: rows ? (rows[0]?.length ?? 0) : 1 };
}

/**
 * The config.json stock Keras writes (`model.save()`, test/fixtures/keras/config.py) for each model described
 * (a KerasModelSpec: cell, sizes, topology, classes), without its `shared_object_id`s.
 */
export async function kerasConfigs(specs: readonly object[]): Promise<unknown[]> {
  return runKeras<unknown[]>('config.py', [], specs, `${specs.length} models' configs`);
}

/** A model directory's model.json and weights.bin as stock tfjs's `io.fromMemory` takes them (no rnn code reads them). */
export async function modelArtifacts(dir: string): Promise<{ modelTopology: object; weightSpecs: object[]; weightData: ArrayBuffer }> {
  const mj = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8'));
  const w = await readFile(path.join(dir, 'weights.bin'));
  return {
    modelTopology: mj.modelTopology,
    weightSpecs: mj.weightsManifest[0].weights,
    weightData: w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength),
  };
}

/** The JSON lines of a command's stdout (`--json`), other lines left out. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The one error line of a failed command: exit 1, `error: …` last on stderr, and (with --json) its code. */
export function oneError(r: CliResult): string {
  if (r.code !== 1) throw new Error(`exit ${r.code}, not 1: ${r.stderr}`);
  return jsonErrorOf(r.stderr).code;
}

/** Runs `rnn ARGS` and sends it SIGINT `delayMs` after its stdout first satisfies `when` (a Ctrl-C at a chosen point). */
export function runAndInterrupt(
  args: string[],
  env: NodeJS.ProcessEnv,
  when: (stdout: string) => boolean,
  delayMs = 0,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'rnn'), ...args], { env: { ...process.env, NO_COLOR: '1', ...env } });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.on('data', (d) => {
      stdout += d;
      if (!sent && when(stdout)) {
        sent = true;
        setTimeout(() => child.kill('SIGINT'), delayMs);
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/**
 * `rnn ARGS(dir)` writing `dir()`, run once, when a test first asks for it: the tests of a file that share a
 * trained model share its run (the directories and environment are read then, after `before` set them).
 */
export function runOnce(
  dir: () => string,
  args: (dir: string) => string[],
  env: () => NodeJS.ProcessEnv,
): () => Promise<{ dir: string; p: CliResult }> {
  let run: Promise<{ dir: string; p: CliResult }> | undefined;
  return () =>
    (run ??= (async () => {
      const d = dir();
      return { dir: d, p: await runCli(args(d), { env: env() }) };
    })());
}
