/**
 * Load benchmark of `rnn serve`: latency of one review at a time (a short and a long real IMDB test review,
 * one connection), throughput under 64 connections against `rnn predict --file` on the same reviews in this
 * process (alternated, so both sides see the same machine), and optionally a soak that watches the server's
 * resident memory. The server is started and stopped through a function the caller passes in, so this core
 * knows nothing of how `rnn serve` is launched. Returns figures; prints nothing (progress through a callback).
 */
import type autocannon from 'autocannon';
import { describeKernels, type Runtime } from '../backend/index.js';
import type { Review } from '../data/index.js';
import { loadModelDir } from '../io/model-dir.js';
import { predictTexts, PREDICT_BATCH_SIZE, type InferenceModel } from '../predict/index.js';
import { testSubset } from '../predict/score.js';

/** Defaults of `rnn bench serve`, read by its option parser and by its help text. */
export const SERVE_BENCH_DEFAULTS = Object.freeze({
  /** Seconds of each measured load run. */
  durationSeconds: 10,
  /** Predict/serve throughput rounds, alternated. */
  rounds: 3,
  /** Seconds of the soak (0: none). */
  soakSeconds: 0,
  /** Test reviews the throughput runs cycle through. */
  poolSize: 2000,
  /** Word counts of the two latency reviews (the real review closest to each). */
  shortWords: 10,
  longWords: 230,
  /** Connections of the throughput runs and the soak. */
  connections: 64,
  /** Untimed load at the start, so the server's first batches (kernel set-up) are not measured. */
  warmupSeconds: 2,
  /** RSS is first read this long into the soak (at most a quarter of it). */
  soakWarmupSeconds: 5,
});

/** What `rnn serve` should reach (printed beside the figures; nothing fails on them). */
export const SERVE_BENCH_TARGETS = Object.freeze({
  /** The long review at one connection. */
  latencyP50Ms: 5,
  latencyP99Ms: 20,
  /** 64 connections: serve's reviews/s over predict's, at least. */
  throughputRatio: 0.8,
  throughputP99Ms: 250,
  /** Soak: RSS growth from after the warm-up to the end, at most. */
  rssGrowth: 0.05,
});

/** A running `rnn serve`, as the caller started it. */
export interface ServerHandle {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Headers every request needs (a bearer token when the server requires one). */
  headers?: Record<string, string>;
  /** SIGTERM: the server drains and exits; resolves with its exit code. */
  stop(): Promise<number>;
}

export interface ServeBenchOptions {
  /** The model directory the server serves and the in-process baseline loads. */
  modelDir: string;
  durationSeconds: number;
  rounds: number;
  soakSeconds: number;
  poolSize: number;
  shortWords: number;
  longWords: number;
  connections: number;
  warmupSeconds: number;
  soakWarmupSeconds: number;
}

/** One load run of autocannon. Latencies are of 2xx responses, measured to the microsecond (autocannon's own histogram keeps whole milliseconds). */
export interface LoadRun {
  connections: number;
  seconds: number;
  /** 2xx responses. */
  requests: number;
  /** 2xx responses per second: reviews/s, one review per request. */
  requestsPerSec: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  /** Mean rows per forward pass of the server over the run (rnn_serve_batch_rows), when /metrics answers. */
  meanBatchRows?: number;
}

/** One review at a time on one connection. */
export interface LatencyRun extends LoadRun {
  /** The review (its IMDB test file) and its whitespace-separated words. */
  review: string;
  words: number;
  /** The word count it was picked for (the closest to it). */
  targetWords: number;
}

/** `rnn predict --file` on the pool, in this process: chunks of {@link PREDICT_BATCH_SIZE}. */
export interface PredictPass {
  reviews: number;
  seconds: number;
  reviewsPerSec: number;
}

export interface ThroughputRound {
  round: number;
  predict: PredictPass;
  serve: LoadRun;
}

export interface Throughput {
  rounds: ThroughputRound[];
  medianPredictReviewsPerSec: number;
  medianServeReviewsPerSec: number;
  /** Serve's median over predict's. */
  ratio: number;
}

export interface Soak extends LoadRun {
  /** When the first RSS was read (seconds into the soak). */
  warmupSeconds: number;
  rssStartBytes: number;
  rssEndBytes: number;
  /** (end − start) / start. */
  rssGrowth: number;
}

export interface ServeBenchResult {
  model: { dir: string; cell: string; kernels: string };
  settings: {
    durationSeconds: number;
    rounds: number;
    soakSeconds: number;
    connections: number;
    poolSize: number;
    predictBatchSize: number;
    warmupSeconds: number;
  };
  latency: LatencyRun[];
  throughput: Throughput;
  soak?: Soak;
  /** The server's exit code after SIGTERM (0: drained cleanly). */
  serverExitCode: number;
}

/** Reviews split on whitespace. */
export function wordCount(text: string): number {
  const t = text.trim();
  return t === '' ? 0 : t.split(/\s+/).length;
}

/** The review whose word count is closest to `target` (the first of equals), with its count. */
export function closestByWords(reviews: readonly Review[], target: number): { review: Review; words: number } {
  let best: { review: Review; words: number } | undefined;
  for (const review of reviews) {
    const words = wordCount(review.text);
    if (!best || Math.abs(words - target) < Math.abs(best.words - target)) best = { review, words };
    if (words === target) break;
  }
  if (!best) throw new Error('closestByWords: no reviews');
  return best;
}

/** The p-th percentile (0–100) of ascending values, nearest rank: the smallest value with at least p% of them at or below it. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** The middle value (the mean of the two middle ones for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The sum of a metric's samples in Prometheus text (every label set), or undefined when it is absent. */
export function metricValue(text: string, name: string): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const v = Number(m[3]);
    if (Number.isFinite(v)) sum = (sum ?? 0) + v;
  }
  return sum;
}

/** The server's figures this benchmark reads from /metrics. */
interface ServerMetrics {
  rssBytes?: number;
  batchRowsSum?: number;
  batchRowsCount?: number;
}

async function readMetrics(server: ServerHandle): Promise<ServerMetrics> {
  try {
    const res = await fetch(`${server.url}/metrics`, { headers: server.headers });
    if (!res.ok) return {};
    const text = await res.text();
    return {
      rssBytes: metricValue(text, 'rnn_serve_process_resident_memory_bytes'),
      batchRowsSum: metricValue(text, 'rnn_serve_batch_rows_sum'),
      batchRowsCount: metricValue(text, 'rnn_serve_batch_rows_count'),
    };
  } catch {
    return {};
  }
}

/** Mean batch rows between two readings of /metrics. */
function meanBatchRows(before: ServerMetrics, after: ServerMetrics): number | undefined {
  if (before.batchRowsSum === undefined || after.batchRowsSum === undefined) return undefined;
  const n = (after.batchRowsCount ?? 0) - (before.batchRowsCount ?? 0);
  return n > 0 ? (after.batchRowsSum - before.batchRowsSum) / n : undefined;
}

/** The body of a request predicting these texts. */
function body(texts: string[]): Buffer {
  return Buffer.from(JSON.stringify({ texts }));
}

interface Load {
  server: ServerHandle;
  connections: number;
  seconds: number;
  /** Request bodies, sent in turn (one for all requests, or a pool the connections cycle through). */
  bodies: Buffer[];
  /** Each second of the run. */
  onTick?: (second: number) => void;
  /** Called once, this far into the run (seconds), while the load goes on. */
  at?: { seconds: number; run: () => Promise<void> };
}

/** One autocannon run of POST /v1/predict; latencies are collected from each 2xx response. */
async function load(o: Load): Promise<LoadRun> {
  const latencies: number[] = [];
  let next = 0;
  const headers = { 'content-type': 'application/json', ...o.server.headers };
  const options: autocannon.Options = {
    url: `${o.server.url}/v1/predict`,
    method: 'POST',
    headers,
    connections: o.connections,
    pipelining: 1,
    duration: o.seconds,
    ...(o.bodies.length === 1
      ? { body: o.bodies[0] }
      : {
          requests: [
            {
              method: 'POST',
              setupRequest: (req) => ({ ...req, body: o.bodies[next++ % o.bodies.length] }),
            },
          ],
        }),
  };
  let pending: Promise<void> | undefined;
  // Loaded on first use, like every heavy module a command needs: rnn's start-up stays light.
  const run = (await import('autocannon')).default;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = run(options, (err, r) => (err ? reject(err) : resolve(r)));
    let second = 0;
    instance.on('tick', () => {
      second++;
      o.onTick?.(second);
      if (o.at && !pending && second >= o.at.seconds) pending = o.at.run();
    });
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status >= 200 && status < 300) latencies.push(ms);
    });
  });
  await pending;
  const sorted = Float64Array.from(latencies).sort();
  const ok = result['2xx'];
  return {
    connections: o.connections,
    seconds: result.duration,
    requests: ok,
    requestsPerSec: ok / result.duration,
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

/** A load run with the server's mean batch rows over it. */
async function measuredLoad(o: Load): Promise<LoadRun> {
  const before = await readMetrics(o.server);
  const run = await load(o);
  return { ...run, meanBatchRows: meanBatchRows(before, await readMetrics(o.server)) };
}

/** `rnn predict --file` after start-up: the pool through {@link predictTexts}, a chunk at a time. */
function predictPass(run: Runtime, model: InferenceModel, texts: readonly string[]): PredictPass {
  const t0 = performance.now();
  for (let i = 0; i < texts.length; i += PREDICT_BATCH_SIZE) predictTexts(run.tf, model, texts.slice(i, i + PREDICT_BATCH_SIZE));
  const seconds = (performance.now() - t0) / 1000;
  return { reviews: texts.length, seconds, reviewsPerSec: texts.length / seconds };
}

/**
 * Runs the benchmark on real test reviews: picks the latency reviews and the pool, loads the model here for
 * the predict baseline, starts the server, measures, and stops the server whatever happens.
 */
export async function runServeBench(
  run: Runtime,
  testReviews: readonly Review[],
  startServer: () => Promise<ServerHandle>,
  o: ServeBenchOptions,
  onProgress: (message: string) => void = () => {},
): Promise<ServeBenchResult> {
  const picks = [o.shortWords, o.longWords].map((target) => ({ target, ...closestByWords(testReviews, target) }));
  const pool = testSubset(testReviews, o.poolSize).map((r) => r.text);
  const poolBodies = pool.map((t) => body([t]));
  onProgress(`loading ${o.modelDir} for the predict baseline`);
  const m = await loadModelDir(run, o.modelDir);
  const model = { dir: m.dir, cell: m.metadata.cell, kernels: describeKernels(run.tf, m.kernels) };
  let server: ServerHandle | undefined;
  try {
    onProgress('starting rnn serve');
    server = await startServer();
    const s = server;
    const ticking = (what: string, seconds: number) => (second: number) => onProgress(`${what}: ${Math.min(second, seconds)}/${seconds} s`);

    // Warm-up, untimed: the server's kernels and batch shapes, and one predict chunk here.
    await load({
      server: s,
      connections: o.connections,
      seconds: o.warmupSeconds,
      bodies: poolBodies,
      onTick: ticking('warm-up', o.warmupSeconds),
    });
    predictTexts(run.tf, m, pool.slice(0, PREDICT_BATCH_SIZE));

    const latency: LatencyRun[] = [];
    for (const p of picks) {
      const r = await measuredLoad({
        server: s,
        connections: 1,
        seconds: o.durationSeconds,
        bodies: [body([p.review.text])],
        onTick: ticking(`latency, ${p.words}-word review, 1 connection`, o.durationSeconds),
      });
      latency.push({ ...r, review: p.review.id, words: p.words, targetWords: p.target });
    }

    const rounds: ThroughputRound[] = [];
    for (let round = 1; round <= o.rounds; round++) {
      onProgress(`round ${round}/${o.rounds}: rnn predict on ${pool.length} reviews`);
      const predict = predictPass(run, m, pool);
      const serve = await measuredLoad({
        server: s,
        connections: o.connections,
        seconds: o.durationSeconds,
        bodies: poolBodies,
        onTick: ticking(`round ${round}/${o.rounds}: rnn serve, ${o.connections} connections`, o.durationSeconds),
      });
      rounds.push({ round, predict, serve });
    }
    const medianPredict = median(rounds.map((r) => r.predict.reviewsPerSec));
    const medianServe = median(rounds.map((r) => r.serve.requestsPerSec));
    const throughput: Throughput = {
      rounds,
      medianPredictReviewsPerSec: medianPredict,
      medianServeReviewsPerSec: medianServe,
      ratio: medianServe / medianPredict,
    };

    let soak: Soak | undefined;
    if (o.soakSeconds > 0) {
      const warmupSeconds = Math.min(o.soakWarmupSeconds, Math.max(1, Math.floor(o.soakSeconds / 4)));
      let first: ServerMetrics = {};
      const before = await readMetrics(s);
      const r = await load({
        server: s,
        connections: o.connections,
        seconds: o.soakSeconds,
        bodies: poolBodies,
        onTick: ticking(`soak, ${o.connections} connections`, o.soakSeconds),
        at: { seconds: warmupSeconds, run: async () => void (first = await readMetrics(s)) },
      });
      const end = await readMetrics(s);
      const start = first.rssBytes ?? NaN;
      const last = end.rssBytes ?? NaN;
      soak = {
        ...r,
        meanBatchRows: meanBatchRows(before, end),
        warmupSeconds,
        rssStartBytes: start,
        rssEndBytes: last,
        rssGrowth: (last - start) / start,
      };
    }

    onProgress('stopping rnn serve');
    const handle = server;
    server = undefined;
    const serverExitCode = await handle.stop();
    return {
      model,
      settings: {
        durationSeconds: o.durationSeconds,
        rounds: o.rounds,
        soakSeconds: o.soakSeconds,
        connections: o.connections,
        poolSize: pool.length,
        predictBatchSize: PREDICT_BATCH_SIZE,
        warmupSeconds: o.warmupSeconds,
      },
      latency,
      throughput,
      ...(soak ? { soak } : {}),
      serverExitCode,
    };
  } finally {
    await server?.stop().catch(() => undefined);
    m.model.dispose();
  }
}
