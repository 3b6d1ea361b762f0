/**
 * `rnn bench serve` as Markdown: the machine line, then three tables, each followed by its targets: latency at one
 * connection, throughput against `rnn predict` (alternated rounds and their medians), the soak and the overload when
 * they ran.
 */
import {
  SERVE_BENCH_TARGETS,
  type LoadRun,
  type Overload,
  type OverloadSummary,
  type ServeBenchResult,
  type Soak,
} from '../bench/serve.js';
import { count, decimal, megabytes, MISSING, percent } from './format.js';
import { col, markdownTable } from './table.js';

const T = SERVE_BENCH_TARGETS;

/** ✓ when a figure meets its target, ✗ when not. */
function mark(ok: boolean): string {
  return ok ? '✓' : '✗';
}

const ms = (v: number): string => decimal(v, 2);
const mb = (v: number): string => (Number.isFinite(v) ? megabytes(v) : MISSING);
const batchRows = (v: number | undefined): string => (v === undefined ? '?' : decimal(v, 1));

/** The whole report; a server that did not exit cleanly after SIGTERM is noted at the end. */
export function renderServeBench(r: ServeBenchResult, machine: string): string {
  return (
    `${machine}\n` +
    latency(r) +
    throughput(r) +
    (r.soak ? soak(r, r.soak) : '') +
    (r.overload ? overload(r.overload) : '') +
    (r.serverExitCode !== 0 ? `\nnote: rnn serve exited with code ${r.serverExitCode} after SIGTERM (0 expected)\n` : '')
  );
}

/** One review per request at one connection: a short and a long review; the long one has targets. */
function latency(r: ServeBenchResult): string {
  const table = markdownTable(
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
  );
  const long = r.latency.at(-1);
  const targets = long
    ? `\ntargets, ${long.words}-word review: p50 ≤ ${T.latencyP50Ms} ms (${ms(long.p50Ms)} ${mark(long.p50Ms <= T.latencyP50Ms)}), ` +
      `p99 ≤ ${T.latencyP99Ms} ms (${ms(long.p99Ms)} ${mark(long.p99Ms <= T.latencyP99Ms)})\n`
    : '';
  return `\nLatency: one review per request, 1 connection, ${r.settings.durationSeconds} s each\n\n${table}${targets}`;
}

/** rnn predict and rnn serve alternated, round by round, with the medians and the ratio. */
function throughput(r: ServeBenchResult): string {
  const t = r.throughput;
  const c = r.settings.connections;
  const sum = (f: (s: LoadRun) => number): number => t.rounds.reduce((a, x) => a + f(x.serve), 0);
  const table = markdownTable(
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
        ms(x.serve.p50Ms),
        ms(x.serve.p99Ms),
        count(x.serve.non2xx),
        count(x.serve.errors),
        batchRows(x.serve.meanBatchRows),
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
  );
  const worstP99 = Math.max(...t.rounds.map((x) => x.serve.p99Ms));
  const non2xx = sum((s) => s.non2xx);
  return (
    `\nThroughput: rnn predict (in process, batches of ${r.settings.predictBatchSize}) and rnn serve (${c} connections, one review per request), alternated\n\n` +
    table +
    `\ntargets, ${c} connections: serve ≥ ${percent(T.throughputRatio, 0)} of predict (${percent(t.ratio, 0)} ${mark(t.ratio >= T.throughputRatio)}), ` +
    `p99 ≤ ${T.throughputP99Ms} ms (worst round ${ms(worstP99)} ${mark(worstP99 <= T.throughputP99Ms)}), ` +
    `no non-2xx (${count(non2xx)} ${mark(non2xx === 0)})\n`
  );
}

/** The soak: requests and latency under load, and the server's RSS after the warm-up and at the end. */
function soak(r: ServeBenchResult, s: Soak): string {
  const table = markdownTable(
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
        batchRows(s.meanBatchRows),
        mb(s.rssStartBytes),
        mb(s.rssEndBytes),
        percent(s.rssGrowth, 1),
      ],
    ],
  );
  return (
    `\nSoak: ${r.settings.connections} connections for ${r.settings.soakSeconds} s; RSS of the server from /metrics after ${s.warmupSeconds} s and at the end\n\n` +
    table +
    `\ntarget: RSS growth ≤ ${percent(T.rssGrowth, 0)} (${percent(s.rssGrowth, 1)} ${mark(s.rssGrowth <= T.rssGrowth)})\n`
  );
}

/** One row of the overload table: a run's answers sorted into admitted, refused, late, unanswered. */
function overloadRow(name: string, rate: string, sum: OverloadSummary, unanswered: number): string[] {
  const codes = Object.entries(sum.refused.codes)
    .map(([c, n]) => `${c} ${count(n)}`)
    .join(', ');
  return [
    name,
    rate,
    count(sum.admitted.count),
    ms(sum.admitted.p50Ms),
    ms(sum.admitted.p99Ms),
    count(sum.refused.count),
    ms(sum.refused.p50Ms),
    ms(sum.refused.p99Ms),
    count(sum.late),
    count(sum.lateAtServer),
    count(unanswered),
    codes || '–',
  ];
}

/** The overload and the recovery after it; the targets: nothing late or unanswered, refusals fast. */
function overload(o: Overload): string {
  const table = markdownTable(
    [
      col('run'),
      col('offered/s', 'right'),
      col('admitted', 'right'),
      col('p50 ms', 'right'),
      col('p99 ms', 'right'),
      col('refused', 'right'),
      col('p50 ms', 'right'),
      col('p99 ms', 'right'),
      col('late', 'right'),
      col('at server', 'right'),
      col('unanswered', 'right'),
      col('refusals'),
    ],
    [
      overloadRow(`overload, ${o.connections} connections, ${o.seconds} s`, decimal(o.offeredPerSec, 0), o.summary, o.unanswered),
      overloadRow(
        `after, ${o.recovery.connections} connections, ${o.recovery.seconds} s`,
        decimal(o.recovery.targetPerSec, 0),
        o.recovery.summary,
        o.recovery.unanswered,
      ),
    ],
  );
  const late = o.summary.late + o.recovery.summary.late;
  const lateAtServer = o.summary.lateAtServer + o.recovery.summary.lateAtServer;
  const unanswered = o.unanswered + o.recovery.unanswered;
  return (
    `\nOverload: rnn serve --timeout ${o.timeoutMs} offered ${o.factor}× the median reviews/s above (${decimal(o.capacityPerSec, 0)}: ` +
    `${decimal(o.targetPerSec, 0)} requests/s asked for), then half of it; late: admitted and answered after ${o.timeoutMs} ms ` +
    `by the client's clock (at server: by the server's, from the moment it read the request)\n\n` +
    table +
    `\ntargets: none late (${count(late)} ${mark(late === 0)}; at the server ${count(lateAtServer)} ${mark(lateAtServer === 0)}), ` +
    `none unanswered (${count(unanswered)} ${mark(unanswered === 0)}); ` +
    `every request admitted again ${decimal(o.recovery.recoverySeconds, 2)} s after the overload ended\n` +
    (o.serverExitCode !== 0 ? `note: the overloaded rnn serve exited with code ${o.serverExitCode} after SIGTERM (0 expected)\n` : '')
  );
}
