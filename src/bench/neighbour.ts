/**
 * `rnn bench neighbour`: training speed on a machine that is not idle. Each cell is trained as a new user
 * trains it (`rnn train --limit N --epochs 1 --validation-split 0`, samples/s as metadata.json records it),
 * in a process of its own, idle and beside a busy neighbour (a shell loop that keeps one core busy), with
 * rnn's threading and with OpenMP's default wait, and the Keras reference (bench/keras_fit_reference.py)
 * beside the same neighbour. The runs alternate: a round measures every column of every cell, the next round
 * in the reverse order, so that drift falls on all alike; figures are medians over the rounds.
 * Returns figures; prints nothing.
 */
import { execFile, spawn } from 'node:child_process';
import { UserError } from '../errors.js';
import type { CellType } from '../cells.js';
import { CELLS } from '../cells.js';
import { OPENMP_DEFAULT_SPINCOUNT, THREADING_VARIABLES } from '../kernels/threading.js';
import { median } from './serve.js';

/** Defaults of `rnn bench neighbour`, read by its option parser and its help text. */
export const NEIGHBOUR_BENCH_DEFAULTS = Object.freeze({
  cells: CELLS,
  /** Training reviews (`rnn train --limit`). */
  reviews: 2048,
  batchSize: 64,
  epochs: 1,
  /** Rounds: each column of each cell once per round (figures are medians over them). */
  rounds: 3,
  seed: 1,
});

/**
 * The columns: rnn idle; rnn beside the neighbour; the same with OpenMP's default wait (spinning, what rnn
 * ran with before it chose its own); Keras beside the neighbour.
 */
export const NEIGHBOUR_COLUMNS = ['rnnIdle', 'rnnNeighbour', 'rnnNeighbourSpin', 'kerasNeighbour'] as const;
export type NeighbourColumn = (typeof NEIGHBOUR_COLUMNS)[number];

/** One training run to make. */
export interface NeighbourRun {
  cell: CellType;
  column: NeighbourColumn;
  /** 1-based. */
  round: number;
}

/** A run and its training samples/s. */
export interface NeighbourMeasurement extends NeighbourRun {
  samplesPerSec: number;
}

/** Medians and ranges per column of one cell, and rnn's lead over Keras beside the neighbour. */
export interface NeighbourRow {
  cell: CellType;
  columns: Partial<Record<NeighbourColumn, { median: number; min: number; max: number }>>;
  /** rnn's median samples/s beside the neighbour over Keras's (undefined without Keras). */
  kerasRatio?: number;
  /** rnn's median beside the neighbour as a share of its idle median. */
  kept?: number;
}

/**
 * The order of the runs: round by round, every cell's columns, the order of the round's runs reversed in
 * every other round (idle and busy, rnn and Keras, early and late swap places). Without Keras, its column is
 * left out.
 */
export function neighbourPlan(cells: readonly CellType[], rounds: number, keras: boolean): NeighbourRun[] {
  const columns = NEIGHBOUR_COLUMNS.filter((c) => keras || c !== 'kerasNeighbour');
  const plan: NeighbourRun[] = [];
  for (let round = 1; round <= rounds; round++) {
    const runs = cells.flatMap((cell) => columns.map((column) => ({ cell, column, round })));
    plan.push(...(round % 2 === 0 ? runs.reverse() : runs));
  }
  return plan;
}

/** The table's rows, in the order of `cells`. */
export function summarizeNeighbour(cells: readonly CellType[], ms: readonly NeighbourMeasurement[]): NeighbourRow[] {
  return cells.map((cell) => {
    const columns: NeighbourRow['columns'] = {};
    for (const column of NEIGHBOUR_COLUMNS) {
      const v = ms.filter((m) => m.cell === cell && m.column === column).map((m) => m.samplesPerSec);
      if (v.length) columns[column] = { median: median(v), min: Math.min(...v), max: Math.max(...v) };
    }
    const busy = columns.rnnNeighbour?.median;
    const keras = columns.kerasNeighbour?.median;
    const idle = columns.rnnIdle?.median;
    return {
      cell,
      columns,
      ...(busy !== undefined && keras ? { kerasRatio: busy / keras } : {}),
      ...(busy !== undefined && idle ? { kept: busy / idle } : {}),
    };
  });
}

/**
 * The environment of a run: rnn's columns get `env` as it is (rnn's threading, or the user's variables); the
 * spinning column gets OpenMP's default wait (the variables removed, GOMP_SPINCOUNT at libgomp's default so that
 * rnn adds none of its own); Keras gets `userEnv`, the environment as the user gave it.
 */
export function runEnv(column: NeighbourColumn, env: NodeJS.ProcessEnv, userEnv: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (column === 'kerasNeighbour') return { ...userEnv };
  if (column !== 'rnnNeighbourSpin') return { ...env };
  const e = { ...env };
  for (const v of THREADING_VARIABLES) delete e[v];
  return { ...e, GOMP_SPINCOUNT: String(OPENMP_DEFAULT_SPINCOUNT) };
}

/** What the runs need: how to start rnn and Keras, and the data. */
export interface NeighbourBenchOptions {
  cells: CellType[];
  rounds: number;
  reviews: number;
  batchSize: number;
  epochs: number;
  seed: number;
  /** The aclImdb tarball or directory both sides train on (Keras: a tarball). */
  data: string;
  /** `[node, bin/rnn]`. */
  rnn: string[];
  /** Where each run's model goes (replaced run after run). */
  modelDir: string;
  /** Python with Keras and the script's path; none: no Keras column. */
  keras?: { python: string; script: string };
  /** The CPU to pin the neighbour to (taskset); none: the scheduler places it. */
  pin?: number;
  /** The environment of rnn's runs (with rnn's threading) and the user's own (Keras's). */
  env: NodeJS.ProcessEnv;
  userEnv: NodeJS.ProcessEnv;
}

/** A busy loop in a shell, one core's worth, until stopped; pinned to CPU `pin` with taskset when given. */
export async function startNeighbour(pin?: number): Promise<{ pid: number; stop(): Promise<void> }> {
  const loop = ['sh', '-c', 'while :; do :; done'];
  const [cmd, ...args] = pin === undefined ? loop : ['taskset', '-c', String(pin), ...loop];
  const child = spawn(cmd!, args, { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (e) =>
      reject(
        new UserError(
          'BENCH_RUN_FAILED',
          `the busy neighbour could not start: ${cmd} ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'is not installed' : e.message}`,
          pin === undefined ? 'Run rnn bench neighbour where `sh` is on PATH' : 'Install taskset (util-linux) or leave out --pin',
        ),
      ),
    );
  });
  return {
    pid: child.pid!,
    async stop() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Runs a command and returns its stdout; a failure is a UserError with its last stderr line. */
function output(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  code: 'BENCH_RUN_FAILED' | 'BENCH_KERAS_FAILED',
  what: string,
  fix: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const why = (stderr || err.message).trim().split('\n').at(-1);
        reject(new UserError(code, `${what} failed: ${why}`, fix));
        return;
      }
      resolve(stdout);
    });
  });
}

/** The samples/s of the last JSON line of `stdout` that has them (rnn train --json's summary; the Keras script's line). */
export function samplesPerSecOf(stdout: string): number | undefined {
  for (const line of stdout.trim().split('\n').reverse()) {
    try {
      const v = (JSON.parse(line) as { samplesPerSec?: unknown }).samplesPerSec;
      if (typeof v === 'number' && Number.isFinite(v)) return v;
    } catch {
      // not a JSON line
    }
  }
  return undefined;
}

/** The arguments of a run: `rnn train`'s after `o.rnn`, or the Keras script and its own. */
export function argsOf(o: NeighbourBenchOptions, r: NeighbourRun): string[] {
  if (r.column === 'kerasNeighbour') return [o.keras!.script, o.data, r.cell, o.reviews, o.epochs, o.batchSize, o.seed].map(String);
  return [
    'train',
    `--cell=${r.cell}`,
    `--data=${o.data}`,
    `--limit=${o.reviews}`,
    `--epochs=${o.epochs}`,
    `--batch-size=${o.batchSize}`,
    '--validation-split=0',
    `--seed=${o.seed}`,
    `--out=${o.modelDir}`,
    '--json',
  ];
}

/** One run: the neighbour started first when the column has one, stopped after. */
export async function measureRun(o: NeighbourBenchOptions, r: NeighbourRun): Promise<number> {
  const neighbour = r.column === 'rnnIdle' ? undefined : await startNeighbour(o.pin);
  try {
    const env = runEnv(r.column, o.env, o.userEnv);
    let stdout: string;
    if (r.column === 'kerasNeighbour') {
      const k = o.keras!;
      stdout = await output(
        k.python,
        argsOf(o, r),
        env,
        'BENCH_KERAS_FAILED',
        `the Keras reference (${r.cell})`,
        'Pass --keras-python a Python with tensorflow-cpu installed',
      );
    } else {
      const [node, ...pre] = o.rnn;
      stdout = await output(
        node!,
        [...pre, ...argsOf(o, r)],
        env,
        'BENCH_RUN_FAILED',
        `rnn train (${r.cell})`,
        'Run the same `rnn train` by hand to see why',
      );
    }
    const sps = samplesPerSecOf(stdout);
    if (sps === undefined) throw new UserError('BENCH_RUN_FAILED', `a ${r.cell} run printed no samples/s`, 'Run it by hand to see why');
    return sps;
  } finally {
    await neighbour?.stop();
  }
}

/** Every run of the plan, in its order, by `measure` (default {@link measureRun}). */
export async function runNeighbourBench(
  o: NeighbourBenchOptions,
  onProgress?: (m: string) => void,
  measure: (r: NeighbourRun) => Promise<number> = (r) => measureRun(o, r),
): Promise<{ rows: NeighbourRow[]; runs: NeighbourMeasurement[] }> {
  const plan = neighbourPlan(o.cells, o.rounds, o.keras !== undefined);
  const runs: NeighbourMeasurement[] = [];
  for (const [i, r] of plan.entries()) {
    onProgress?.(`run ${i + 1} of ${plan.length}: ${r.cell}, ${r.column}, round ${r.round}`);
    runs.push({ ...r, samplesPerSec: await measure(r) });
  }
  return { rows: summarizeNeighbour(o.cells, runs), runs };
}
