import { Option, type Command } from 'commander';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { packageRoot } from '../env.js';
import { UserError } from '../../errors.js';
import { runBench, type BenchRow } from '../../bench/index.js';
import {
  runServeBench,
  SERVE_BENCH_DEFAULTS,
  SERVE_BENCH_TARGETS,
  type LoadRun,
  type ServeBenchResult,
  type ServerHandle,
} from '../../bench/serve.js';
import { resolveModelDir } from '../../io/model-dir.js';
import { PRESET_NAMES, resolveTrainOptions, type PresetName } from '../../train/options.js';
import { describePresets } from '../training.js';
import { CELLS, type CellType } from '../../cells.js';
import type { LoadedBackend } from '../../backend/index.js';
import { globalFlags, loadRuntime, type CliContext } from '../context.js';
import { cellList, positiveInt, nonNegativeInt } from '../options.js';
import { addDataOptions, loadDataForCli, type DataFlags } from '../data-options.js';
import { StatusLine } from '../progress.js';
import { count, decimal, megabytes, MISSING, percent } from '../format.js';
import { col, markdownTable } from '../table.js';

interface BenchFlags extends DataFlags {
  cells: CellType[];
  preset: PresetName;
  batchSize: number;
  trainBatches: number;
  predictBatches: number;
  warmup: number;
  kerasPython?: string;
  json?: boolean;
  serve?: boolean;
  model?: string;
  duration: number;
  rounds: number;
  soak: number;
}

/** Flags of the training/prediction benchmark, and those of `--serve`: each set is refused with the other. */
const LAYER_FLAGS = ['cells', 'preset', 'batchSize', 'trainBatches', 'predictBatches', 'warmup', 'kerasPython'] as const;
const SERVE_FLAGS = ['model', 'duration', 'rounds', 'soak'] as const;
const SB = SERVE_BENCH_DEFAULTS;

export function registerBench(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('bench')
    .description(
      "benchmark: train and predict samples/s of stock tfjs-layers vs the fused layers (tfjs ops, and rnn's oneDNN kernels when built), lesson model, real IMDB batches; with --serve: load-test rnn serve",
    )
    .option('--cells <list>', `cells to measure, comma-separated (default ${CELLS.join(',')})`, cellList, [...CELLS])
    .addOption(
      new Option('--preset <name>', `the architecture of this preset of rnn train: ${describePresets()}`)
        .choices(PRESET_NAMES)
        .default('lesson'),
    )
    .option('--batch-size <n>', 'reviews per batch', positiveInt, 64)
    .option('--train-batches <n>', 'timed training batches per implementation', positiveInt, 10)
    .option('--predict-batches <n>', 'timed prediction batches per implementation', positiveInt, 20)
    .option('--warmup <n>', 'untimed batches first', nonNegativeInt, 2)
    .option(
      '--keras-python <python>',
      'also run src/bench/keras_reference.py with this Python (with tensorflow-cpu installed) for Keras columns',
    )
    .option('--json', 'print the rows (with --serve: every figure) as JSON')
    .option(
      '--serve',
      `instead: load-test \`rnn serve\` on real IMDB test reviews (latency at 1 connection, reviews/s at ${SB.connections} connections against \`rnn predict --file\`)`,
    )
    .option('--model <dir>', 'with --serve: model directory (default models/latest)')
    .option('--duration <s>', 'with --serve: seconds of each measured run', positiveInt, SB.durationSeconds)
    .option('--rounds <n>', 'with --serve: throughput rounds, predict and serve alternated', positiveInt, SB.rounds)
    .option(
      '--soak <s>',
      `with --serve: then ${SB.connections} connections for this many seconds, watching the server's memory (0: no soak)`,
      nonNegativeInt,
      SB.soakSeconds,
    );
  addDataOptions(cmd).action(async (flags: BenchFlags, command: Command) => {
    const given = (names: readonly string[]): string[] =>
      names.filter((n) => command.getOptionValueSource(n) === 'cli').map((n) => `--${n.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
    const wrong = flags.serve ? given(LAYER_FLAGS) : given(SERVE_FLAGS);
    if (wrong.length > 0) {
      throw new UserError(
        'OPTION_NOT_APPLICABLE',
        `${wrong.join(', ')} ${wrong.length === 1 ? 'does' : 'do'} not apply ${flags.serve ? 'to rnn bench --serve' : 'without --serve'}`,
        flags.serve ? 'Leave them out, or run rnn bench without --serve' : 'Add --serve to benchmark rnn serve, or leave them out',
      );
    }
    if (flags.serve) return serveBench(ctx, command, flags);
    const status = new StatusLine(ctx.io.err);
    const backend = await loadRuntime(ctx, command);
    const data = await loadDataForCli(ctx, flags, ['train'], status);
    const { vocabSize, embeddingDim, maxlen, units, bidirectional, pooling } = resolveTrainOptions({ cell: 'lstm', preset: flags.preset });
    const model = { vocabSize, embeddingDim, maxlen, units, bidirectional, pooling };
    const rows = await runBench(
      backend.tf,
      data.train,
      {
        cells: flags.cells,
        batchSize: flags.batchSize,
        trainBatches: flags.trainBatches,
        predictBatches: flags.predictBatches,
        warmup: flags.warmup,
        model,
        kernels: backend.kernels,
      },
      (m) => status.update(m, true),
    );
    let keras: KerasRows | undefined;
    if (flags.kerasPython) {
      status.update('Keras reference: training and predicting (src/bench/keras_reference.py)', true);
      keras = await runKeras(flags.kerasPython, data.source.path, [
        flags.batchSize,
        flags.trainBatches,
        flags.predictBatches,
        flags.warmup,
        vocabSize,
        maxlen,
        bidirectional ? 1 : 0,
        pooling,
      ]);
    }
    status.clear();
    const k = backend.kernels;
    const machine =
      `${os.cpus()[0]?.model.trim()} × ${os.availableParallelism?.() ?? os.cpus().length}, backend ${backend.name}${backend.tfVersion ? ` (TensorFlow ${backend.tfVersion})` : ''}, ` +
      `oneDNN kernels: ${k.name === 'onednn' ? k.addon.onednnVersion : `no (${k.reason})`}, batch ${flags.batchSize}, maxlen ${maxlen}` +
      (flags.preset === 'lesson' ? '' : `, preset ${describePresets([flags.preset])}`);
    if (flags.json) {
      ctx.io.out.write(JSON.stringify({ machine, rows, keras }, null, 2) + '\n');
      return;
    }
    ctx.io.out.write(renderBench(rows, machine, keras));
  });
}

interface KerasRows {
  keras: string;
  rows: Record<string, { trainSamplesPerSec: number; predictSamplesPerSec: number }>;
}

/**
 * Runs the Keras reference script on the same batches and architecture (batch size, timed train and predict
 * batches, warm-up, vocabulary, maxlen, bidirectional 0/1, pooling); its figures come from the same machine in the same run.
 */
function runKeras(python: string, tarball: string, batches: Array<number | string>): Promise<KerasRows> {
  const script = path.join(packageRoot(), 'src', 'bench', 'keras_reference.py');
  return new Promise((resolve, reject) => {
    execFile(python, [script, tarball, ...batches.map(String)], { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) {
        reject(
          new UserError(
            'BENCH_KERAS_FAILED',
            `the Keras reference failed: ${(stderr || err.message).trim().split('\n').at(-1)}`,
            'Pass --keras-python a Python with tensorflow-cpu==2.21.0 installed (see src/bench/keras_reference.py)',
          ),
        );
        return;
      }
      resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as KerasRows);
    });
  });
}

/** The benchmark as a Markdown table: samples/s per implementation, the fastest against stock, Keras when run. */
export function renderBench(rows: BenchRow[], machine: string, keras?: KerasRows): string {
  const impls = (['stock', 'fused', 'onednn'] as const).filter((i) => rows.some((r) => r.impl === i));
  const names = impls.map((i) => (i === 'onednn' ? 'oneDNN' : i));
  const best = impls.at(-1)!;
  const half = (what: string) => [
    col(`${what} ${names[0]}`, 'right'),
    ...names.slice(1).map((n) => col(n, 'right')),
    col(`${names.at(-1)}/stock`, 'right'),
    ...(keras ? [col('Keras', 'right'), col(`${names.at(-1)}/Keras`, 'right')] : []),
  ];
  const times = (a: number, b: number | undefined): string => (b ? `${decimal(a / b, 2)}×` : '?');
  const part = (cell: string, key: 'trainSamplesPerSec' | 'predictSamplesPerSec'): string[] => {
    const get = (impl: string): BenchRow => rows.find((r) => r.cell === cell && r.impl === impl)!;
    const top = get(best)[key];
    const k = keras?.rows[cell]?.[key];
    return [
      ...impls.map((i) => decimal(get(i)[key], 1)),
      times(top, get('stock')[key]),
      ...(keras ? [k ? decimal(k, 1) : '?', times(top, k)] : []),
    ];
  };
  const cells = [...new Set(rows.map((r) => r.cell))];
  return (
    `${machine}${keras ? `, Keras ${keras.keras}` : ''}\n` +
    markdownTable(
      [col('cell'), ...half('train samples/s'), ...half('predict samples/s')],
      cells.map((cell) => [cell, ...part(cell, 'trainSamplesPerSec'), ...part(cell, 'predictSamplesPerSec')]),
    )
  );
}

/** `rnn bench --serve`: the test reviews, the model directory and a way to start `rnn serve`, into the core; its figures out. */
async function serveBench(ctx: CliContext, command: Command, flags: BenchFlags): Promise<void> {
  const status = new StatusLine(ctx.io.err);
  const modelDir = await resolveModelDir(ctx.env.modelsDir, flags.model);
  const backend = await loadRuntime(ctx, command);
  const data = await loadDataForCli(ctx, flags, ['test'], status);
  const result = await runServeBench(
    backend,
    data.test,
    () => startServe(ctx, command, modelDir),
    {
      modelDir,
      durationSeconds: flags.duration,
      rounds: flags.rounds,
      soakSeconds: flags.soak,
      poolSize: SB.poolSize,
      shortWords: SB.shortWords,
      longWords: SB.longWords,
      connections: SB.connections,
      warmupSeconds: SB.warmupSeconds,
      soakWarmupSeconds: SB.soakWarmupSeconds,
    },
    (m) => status.update(m, true),
  );
  status.clear();
  const machine = serveMachine(backend, result);
  if (flags.json) {
    ctx.io.out.write(JSON.stringify({ machine, ...result, targets: SERVE_BENCH_TARGETS }, null, 2) + '\n');
    return;
  }
  ctx.io.out.write(renderServeBench(result, machine));
}

function serveMachine(backend: LoadedBackend, r: ServeBenchResult): string {
  const s = r.settings;
  return (
    `${os.cpus()[0]?.model.trim()} × ${os.availableParallelism?.() ?? os.cpus().length}, backend ${backend.name}${backend.tfVersion ? ` (TensorFlow ${backend.tfVersion})` : ''}, ` +
    `model ${r.model.dir} (${r.model.cell}, ${r.model.kernels}), ${s.durationSeconds} s per run after ${s.warmupSeconds} s of warm-up, ` +
    `pool of ${count(s.poolSize)} IMDB test reviews, predict batch ${s.predictBatchSize}`
  );
}

/** How long `rnn serve` may take to print its startup line, and to exit after SIGTERM. */
const SERVE_START_MS = 180_000;
const SERVE_STOP_MS = 60_000;

/**
 * Starts `rnn serve --model DIR --port 0` as a child with this run's global flags and environment; resolves
 * once it prints its startup line. Its stderr is kept (the tail names the reason when it fails to start).
 */
function startServe(ctx: CliContext, command: Command, modelDir: string): Promise<ServerHandle> {
  const g = globalFlags(command);
  const args = [
    path.join(packageRoot(), 'bin', 'rnn'),
    '--backend',
    g.backend,
    '--kernels',
    g.kernels,
    ...(g.gpu ? ['--gpu'] : []),
    ...(g.debug ? ['--debug'] : []),
    'serve',
    '--model',
    modelDir,
    '--port',
    '0',
    '--log-level',
    'warn',
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: ctx.processEnv });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout = (stdout + d.toString()).slice(-4096)));
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8192)));
  const exited = new Promise<number>((resolve) =>
    child.on('close', (code, sig) => resolve(code ?? 128 + (sig ? os.constants.signals[sig] : 0))),
  );
  const stop = async (): Promise<number> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), SERVE_STOP_MS);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  const headers = ctx.env.serveToken ? { authorization: `Bearer ${ctx.env.serveToken}` } : undefined;
  return new Promise<ServerHandle>((resolve, reject) => {
    const fail = (why: string): void => {
      clearTimeout(timer);
      const lines = stderr.split('\n').filter((l) => l.trim() !== '' && !/^(WARNING: All log messages|I0000 )/.test(l));
      const reason = [...lines].reverse().find((l) => l.startsWith('error:')) ?? lines.at(-1);
      reject(
        new UserError(
          'BENCH_SERVE_FAILED',
          `rnn serve ${why}${reason ? `: ${reason.replace(/^error:\s*/, '')}` : ''}`,
          `Check that \`rnn serve --model ${modelDir}\` starts on its own`,
        ),
      );
    };
    const timer = setTimeout(() => {
      fail(`printed no startup line within ${SERVE_START_MS / 1000} s`);
      void stop();
    }, SERVE_START_MS);
    const onData = (): void => {
      const m = /^serving .* on (http:\/\/[^\s,]+)/m.exec(stdout);
      if (!m) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      resolve({ url: m[1]!, headers, stop });
    };
    child.stdout.on('data', onData);
    child.on('error', (e) => fail(`could not be started (${e.message})`));
    void exited.then((code) => fail(`exited with code ${code} before it was ready`));
  });
}

/** ✓ when a figure meets its target, ✗ when not. */
function mark(ok: boolean): string {
  return ok ? '✓' : '✗';
}

const ms = (v: number): string => decimal(v, 2);
const mb = (v: number): string => (Number.isFinite(v) ? megabytes(v) : MISSING);

/** `rnn bench --serve` as Markdown: latency, throughput against `rnn predict`, the soak; each with its targets. */
export function renderServeBench(r: ServeBenchResult, machine: string): string {
  const T = SERVE_BENCH_TARGETS;
  const out: string[] = [`${machine}\n`];

  out.push(`\nLatency: one review per request, 1 connection, ${r.settings.durationSeconds} s each\n\n`);
  out.push(
    markdownTable(
      [
        col('review'),
        col('words', 'right'),
        col('requests/s', 'right'),
        col('p50 ms', 'right'),
        col('p90 ms', 'right'),
        col('p99 ms', 'right'),
        col('non-2xx', 'right'),
        col('errors', 'right'),
      ],
      r.latency.map((l) => [
        l.review,
        String(l.words),
        decimal(l.requestsPerSec, 1),
        ms(l.p50Ms),
        ms(l.p90Ms),
        ms(l.p99Ms),
        count(l.non2xx),
        count(l.errors),
      ]),
    ),
  );
  const long = r.latency.at(-1);
  if (long) {
    out.push(
      `\ntargets, ${long.words}-word review: p50 ≤ ${T.latencyP50Ms} ms (${ms(long.p50Ms)} ${mark(long.p50Ms <= T.latencyP50Ms)}), ` +
        `p99 ≤ ${T.latencyP99Ms} ms (${ms(long.p99Ms)} ${mark(long.p99Ms <= T.latencyP99Ms)})\n`,
    );
  }

  const t = r.throughput;
  const c = r.settings.connections;
  out.push(
    `\nThroughput: rnn predict (in process, batches of ${r.settings.predictBatchSize}) and rnn serve (${c} connections, one review per request), alternated\n\n`,
  );
  const serveCells = (s: LoadRun): string[] => [
    ms(s.p50Ms),
    ms(s.p99Ms),
    count(s.non2xx),
    count(s.errors),
    s.meanBatchRows === undefined ? '?' : decimal(s.meanBatchRows, 1),
  ];
  const sum = (f: (s: LoadRun) => number): number => t.rounds.reduce((a, x) => a + f(x.serve), 0);
  out.push(
    markdownTable(
      [
        col('round'),
        col('predict reviews/s', 'right'),
        col('serve reviews/s', 'right'),
        col('serve/predict', 'right'),
        col('serve p50 ms', 'right'),
        col('serve p99 ms', 'right'),
        col('non-2xx', 'right'),
        col('errors', 'right'),
        col('batch rows', 'right'),
      ],
      [
        ...t.rounds.map((x) => [
          String(x.round),
          decimal(x.predict.reviewsPerSec, 1),
          decimal(x.serve.requestsPerSec, 1),
          percent(x.serve.requestsPerSec / x.predict.reviewsPerSec, 0),
          ...serveCells(x.serve),
        ]),
        [
          'median',
          decimal(t.medianPredictReviewsPerSec, 1),
          decimal(t.medianServeReviewsPerSec, 1),
          percent(t.ratio, 0),
          '',
          '',
          count(sum((s) => s.non2xx)),
          count(sum((s) => s.errors)),
          '',
        ],
      ],
    ),
  );
  const worstP99 = Math.max(...t.rounds.map((x) => x.serve.p99Ms));
  const non2xx = sum((s) => s.non2xx);
  out.push(
    `\ntargets, ${c} connections: serve ≥ ${percent(T.throughputRatio, 0)} of predict (${percent(t.ratio, 0)} ${mark(t.ratio >= T.throughputRatio)}), ` +
      `p99 ≤ ${T.throughputP99Ms} ms (worst round ${ms(worstP99)} ${mark(worstP99 <= T.throughputP99Ms)}), ` +
      `no non-2xx (${count(non2xx)} ${mark(non2xx === 0)})\n`,
  );

  const s = r.soak;
  if (s) {
    out.push(
      `\nSoak: ${c} connections for ${r.settings.soakSeconds} s; RSS of the server from /metrics after ${s.warmupSeconds} s and at the end\n\n`,
    );
    out.push(
      markdownTable(
        [
          col('requests', 'right'),
          col('reviews/s', 'right'),
          col('p99 ms', 'right'),
          col('non-2xx', 'right'),
          col('errors', 'right'),
          col('batch rows', 'right'),
          col('RSS start', 'right'),
          col('RSS end', 'right'),
          col('growth', 'right'),
        ],
        [
          [
            count(s.requests),
            decimal(s.requestsPerSec, 1),
            ms(s.p99Ms),
            count(s.non2xx),
            count(s.errors),
            s.meanBatchRows === undefined ? '?' : decimal(s.meanBatchRows, 1),
            mb(s.rssStartBytes),
            mb(s.rssEndBytes),
            percent(s.rssGrowth, 1),
          ],
        ],
      ),
    );
    out.push(`\ntarget: RSS growth ≤ ${percent(T.rssGrowth, 0)} (${percent(s.rssGrowth, 1)} ${mark(s.rssGrowth <= T.rssGrowth)})\n`);
  }
  if (r.serverExitCode !== 0) out.push(`\nnote: rnn serve exited with code ${r.serverExitCode} after SIGTERM (0 expected)\n`);
  return out.join('');
}
