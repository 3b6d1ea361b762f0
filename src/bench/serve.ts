/**
 * Load benchmark of `rnn serve`: latency of one review at a time (a short and a long real IMDB test review,
 * one connection), throughput under 64 connections against `rnn predict --file` on the same reviews in this
 * process (alternated, so both sides see the same machine), optionally a soak that watches the server's
 * resident memory, and optionally an overload: a second server offered 4× the throughput measured, then half of
 * it, counting what it admits, refuses, answers late or never, and how soon it admits everything again. The server is started and stopped through a function the caller passes in, so this core
 * knows nothing of how `rnn serve` is launched. Returns figures; prints nothing (progress through a callback).
 */
import type { IncomingHttpHeaders } from 'node:http';
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
  /** Seconds of the overload (0: none), and of the half-capacity load after it. */
  overloadSeconds: 0,
  recoverySeconds: 5,
  /** The overload offers this many times the median reviews/s of the throughput rounds. */
  overloadFactor: 4,
  /**
   * Connections of the overload: a closed-loop generator offers at most connections ÷ latency, so enough for
   * 4× at the latencies of admitted requests (512 reached 1.2× of a server answering 3,300 reviews/s).
   */
  overloadConnections: 2048,
  /** --timeout of the server under overload (it admits what it expects to answer within half of it). */
  overloadTimeoutMs: 500,
  /** How long a request may go without an answer before it counts as unanswered (seconds). */
  unansweredSeconds: 10,
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
  overloadSeconds: number;
  recoverySeconds: number;
  overloadFactor: number;
  overloadConnections: number;
  overloadTimeoutMs: number;
  unansweredSeconds: number;
}

/**
 * One answer of an overload or recovery run: when it came (ms since the run began), its status, code and
 * latency, and the server's own time for it (its `Server-Timing` header: from the moment it read the request).
 */
export interface Answered {
  at: number;
  status: number;
  code?: string;
  ms: number;
  serverMs?: number;
}

/** Latency of a class of answers. */
export interface AnswerClass {
  count: number;
  p50Ms: number;
  p99Ms: number;
}

/** What a server under more load than it serves did with it. */
export interface OverloadSummary {
  /** 2xx answers. */
  admitted: AnswerClass;
  /** 503 refusals other than SERVE_TIMEOUT, by code. */
  refused: AnswerClass & { codes: Record<string, number> };
  /** Admitted and answered past the server's --timeout by the client's clock: 2xx slower than it, and SERVE_TIMEOUT. */
  late: number;
  /**
   * The same by the server's clock (`Server-Timing`, from the moment it read the request): 2xx it answered
   * later than --timeout, and SERVE_TIMEOUT. The rest of `late` waited unread or unsent, in sockets and event
   * loops (the client's own included).
   */
  lateAtServer: number;
  /** Any other status. */
  other: number;
}

/** Sorts answers into admitted, refused, late and other (`timeoutMs`: the server's --timeout). */
export function summarizeOverload(answers: readonly Answered[], timeoutMs: number): OverloadSummary {
  const ok: number[] = [];
  const refused: number[] = [];
  const codes: Record<string, number> = {};
  let late = 0;
  let lateAtServer = 0;
  let other = 0;
  for (const a of answers) {
    if (a.status >= 200 && a.status < 300) {
      ok.push(a.ms);
      if (a.ms > timeoutMs) late++;
      // Without the server's own figure (a server without Server-Timing), its clock is taken as the client's.
      if ((a.serverMs ?? a.ms) > timeoutMs) lateAtServer++;
    } else if (a.status === 503 && a.code === 'SERVE_TIMEOUT') {
      late++;
      lateAtServer++;
    } else if (a.status === 503) {
      refused.push(a.ms);
      const c = a.code ?? '?';
      codes[c] = (codes[c] ?? 0) + 1;
    } else other++;
  }
  const cls = (v: number[]): AnswerClass => {
    const sorted = Float64Array.from(v).sort();
    return { count: v.length, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) };
  };
  return { admitted: cls(ok), refused: { ...cls(refused), codes }, late, lateAtServer, other };
}

/**
 * How long after a run began the server still refused or answered late: the end of the last answer that was
 * not a timely 2xx (0 when every answer was one).
 */
export function recoverySeconds(answers: readonly Answered[], timeoutMs: number): number {
  let last = 0;
  for (const a of answers) if (!(a.status >= 200 && a.status < 300 && a.ms <= timeoutMs)) last = Math.max(last, a.at);
  return last / 1000;
}

/** The overload and the recovery after it, against a server started with `--timeout timeoutMs`. */
export interface Overload {
  timeoutMs: number;
  /** Reviews/s the throughput rounds measured (the median), and the rate offered: factor × that. */
  capacityPerSec: number;
  factor: number;
  targetPerSec: number;
  connections: number;
  seconds: number;
  /** Requests sent per second (what the generator managed to offer). */
  offeredPerSec: number;
  summary: OverloadSummary;
  /** No answer within {@link SERVE_BENCH_DEFAULTS}.unansweredSeconds, or the connection failed. */
  unanswered: number;
  recovery: {
    connections: number;
    seconds: number;
    targetPerSec: number;
    summary: OverloadSummary;
    unanswered: number;
    /** Seconds from the end of the overload to the last refused or late answer. */
    recoverySeconds: number;
  };
  /** The overload server's exit code after SIGTERM. */
  serverExitCode: number;
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
  /** Requests sent. */
  sent?: number;
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
  overload?: Overload;
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
  /** Requests per second over all connections (autocannon's overallRate); unset: as fast as answers come. */
  rate?: number;
  /** Seconds a request may wait for its answer before it counts as an error (autocannon's default: 10). */
  timeoutSeconds?: number;
  /** Receives every answer: its time since the run began, status, code (of an error body), latency and server time. */
  onAnswer?: (a: Answered) => void;
}

/** The `total` duration of a `Server-Timing` header (ms; a repeated header is one list), if it has one. */
export function serverTiming(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header.join(',') : header;
  const m = value === undefined ? null : /(?:^|,)\s*total;(?:[^,]*;)?\s*dur=([\d.]+)/.exec(value);
  return m ? Number(m[1]) : undefined;
}

/** One autocannon run of POST /v1/predict; latencies are collected from each 2xx response. */
async function load(o: Load): Promise<LoadRun> {
  const latencies: number[] = [];
  let next = 0;
  const headers = { 'content-type': 'application/json', ...o.server.headers };
  // The code and server time of the answer just parsed: autocannon calls onResponse, then emits 'response', for each answer in turn.
  let code: string | undefined;
  let serverMs: number | undefined;
  const options: autocannon.Options = {
    url: `${o.server.url}/v1/predict`,
    method: 'POST',
    headers,
    connections: o.connections,
    pipelining: 1,
    duration: o.seconds,
    ...(o.rate ? { overallRate: o.rate } : {}),
    ...(o.timeoutSeconds ? { timeout: o.timeoutSeconds } : {}),
    ...(o.bodies.length === 1 && !o.onAnswer
      ? { body: o.bodies[0] }
      : {
          requests: [
            {
              method: 'POST',
              setupRequest: (req) => ({ ...req, body: o.bodies[next++ % o.bodies.length] }),
              ...(o.onAnswer
                ? {
                    onResponse: (status: number, body: string, _context: object, headers?: IncomingHttpHeaders) => {
                      code = status >= 300 ? errorCode(body) : undefined;
                      serverMs = serverTiming(headers?.['server-timing']);
                    },
                  }
                : {}),
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
    const t0 = performance.now();
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status >= 200 && status < 300) latencies.push(ms);
      o.onAnswer?.({ at: performance.now() - t0, status, code, ms, serverMs });
    });
  });
  await pending;
  const sorted = Float64Array.from(latencies).sort();
  const ok = result['2xx'];
  return {
    sent: result.requests.sent,
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

/** The `code` of an error answer's JSON body, if it has one. */
function errorCode(body: string): string | undefined {
  try {
    const c = (JSON.parse(body) as { code?: unknown }).code;
    return typeof c === 'string' ? c : undefined;
  } catch {
    return undefined;
  }
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
  startServer: (flags?: string[]) => Promise<ServerHandle>,
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
    const overload = o.overloadSeconds > 0 ? await runOverload(startServer, poolBodies, medianServe, o, ticking) : undefined;
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
      ...(overload ? { overload } : {}),
      serverExitCode,
    };
  } finally {
    await server?.stop().catch(() => undefined);
    m.model.dispose();
  }
}

/**
 * The overload: a server of its own, started with `--timeout overloadTimeoutMs`, warmed up, offered
 * `overloadFactor` × `capacity` requests/s over `overloadConnections` connections, then half of `capacity` over
 * the usual connections at once after; every answer is sorted by {@link summarizeOverload}.
 */
async function runOverload(
  startServer: (flags?: string[]) => Promise<ServerHandle>,
  bodies: Buffer[],
  capacity: number,
  o: ServeBenchOptions,
  ticking: (what: string, seconds: number) => (second: number) => void,
): Promise<Overload> {
  const timeoutMs = o.overloadTimeoutMs;
  const server = await startServer(['--timeout', String(timeoutMs)]);
  try {
    await load({
      server,
      connections: o.connections,
      seconds: o.warmupSeconds,
      bodies,
      onTick: ticking('overload server warm-up', o.warmupSeconds),
    });
    const target = Math.ceil(o.overloadFactor * capacity);
    // autocannon spreads the rate over the connections, and a connection whose share rounds to 0 is not limited.
    const connections = Math.min(o.overloadConnections, target);
    const over: Answered[] = [];
    const run = await load({
      server,
      connections,
      seconds: o.overloadSeconds,
      bodies,
      rate: target,
      timeoutSeconds: o.unansweredSeconds,
      onAnswer: (a) => over.push(a),
      onTick: ticking(`overload: ${o.overloadFactor}× ${Math.round(capacity)} requests/s, ${connections} connections`, o.overloadSeconds),
    });
    const half = Math.max(1, Math.round(capacity / 2));
    const after: Answered[] = [];
    const recoveryConnections = Math.min(o.connections, half);
    const rec = await load({
      server,
      connections: recoveryConnections,
      seconds: o.recoverySeconds,
      bodies,
      rate: half,
      timeoutSeconds: o.unansweredSeconds,
      onAnswer: (a) => after.push(a),
      onTick: ticking(`recovery: ${half} requests/s`, o.recoverySeconds),
    });
    return {
      timeoutMs,
      capacityPerSec: capacity,
      factor: o.overloadFactor,
      targetPerSec: target,
      connections,
      seconds: run.seconds,
      offeredPerSec: (run.sent ?? 0) / run.seconds,
      summary: summarizeOverload(over, timeoutMs),
      unanswered: run.errors,
      recovery: {
        connections: recoveryConnections,
        seconds: rec.seconds,
        targetPerSec: half,
        summary: summarizeOverload(after, timeoutMs),
        unanswered: rec.errors,
        recoverySeconds: recoverySeconds(after, timeoutMs),
      },
      serverExitCode: await server.stop(),
    };
  } finally {
    await server.stop().catch(() => undefined);
  }
}
