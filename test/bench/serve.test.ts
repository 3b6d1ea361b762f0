/** `rnn bench serve`, the parts that need no server: review selection, the statistics, /metrics parsing, the tables. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  closestByWords,
  median,
  metricValue,
  percentile,
  recoverySeconds,
  serverTiming,
  summarizeOverload,
  wordCount,
  type Answered,
  type LoadRun,
  type Overload,
  type ServeBenchResult,
} from '../../src/bench/serve.js';
import { renderServeBench } from '../../src/cli/render-serve-bench.js';
import type { Review } from '../../src/data/index.js';

const review = (id: string, text: string): Review => ({ id, text, label: 1 });

test('wordCount splits on any run of whitespace and ignores it at the ends', () => {
  const cases: Array<[string, number]> = [
    ['', 0],
    ['   \n\t ', 0],
    ['one', 1],
    ['two words', 2],
    ['  leading and trailing  ', 3],
    ['tabs\tand\nnewlines  and   runs', 5],
    ["don't count punctuation-joined words twice.", 5],
  ];
  for (const [text, want] of cases) assert.equal(wordCount(text), want, JSON.stringify(text));
});

test('closestByWords picks the review nearest the target word count, the first of equals, with its count', () => {
  const words = (n: number): string => Array.from({ length: n }, (_, i) => `w${i}`).join(' ');
  const reviews = [review('a', words(3)), review('b', words(8)), review('c', words(12)), review('d', words(12)), review('e', words(240))];
  const cases: Array<[target: number, id: string, count: number]> = [
    [10, 'b', 8], // 8 and 12 are both 2 away: the first wins
    [11, 'c', 12], // and of the two 12s, the first
    [12, 'c', 12],
    [0, 'a', 3],
    [230, 'e', 240],
    [100000, 'e', 240],
    [5, 'a', 3], // 3 is 2 away, 8 is 3 away
  ];
  for (const [target, id, count] of cases) {
    const got = closestByWords(reviews, target);
    assert.deepEqual([got.review.id, got.words], [id, count], `target ${target}`);
  }
  assert.throws(() => closestByWords([], 10), /no reviews/);
});

test('percentile is the nearest rank of ascending values; NaN for none', () => {
  const ten = Float64Array.from({ length: 10 }, (_, i) => i + 1);
  const cases: Array<[values: ArrayLike<number>, p: number, want: number]> = [
    [ten, 50, 5],
    [ten, 90, 9],
    [ten, 91, 10],
    [ten, 99, 10],
    [ten, 100, 10],
    [ten, 0, 1],
    [ten, 10, 1],
    [ten, 11, 2],
    [[7], 99, 7],
    [[1, 2], 50, 1],
    [[1, 2], 51, 2],
    [Array.from({ length: 1000 }, (_, i) => i / 10), 99, 98.9],
  ];
  for (const [values, p, want] of cases) assert.equal(percentile(values, p), want, `p${p} of ${values.length} values`);
  assert.ok(Number.isNaN(percentile([], 50)));
});

test('median is the middle value, the mean of the middle two for an even count; the input is left as it was', () => {
  const cases: Array<[number[], number]> = [
    [[3], 3],
    [[3, 1], 2],
    [[5, 1, 3], 3],
    [[4, 1, 3, 2], 2.5],
    [[1200, 900, 1000], 1000],
  ];
  for (const [values, want] of cases) {
    const copy = [...values];
    assert.equal(median(values), want, JSON.stringify(values));
    assert.deepEqual(values, copy);
  }
  assert.ok(Number.isNaN(median([])));
});

test('metricValue reads one metric out of Prometheus text: exact name, every label set summed, absent → undefined', () => {
  const text = [
    '# HELP rnn_serve_process_resident_memory_bytes Resident memory size in bytes.',
    '# TYPE rnn_serve_process_resident_memory_bytes gauge',
    'rnn_serve_process_resident_memory_bytes 498810880',
    'rnn_serve_batch_rows_bucket{le="1"} 3',
    'rnn_serve_batch_rows_bucket{le="+Inf"} 40',
    'rnn_serve_batch_rows_sum 1234',
    'rnn_serve_batch_rows_count 40',
    'rnn_serve_requests_total{route="/v1/predict",status="200"} 30',
    'rnn_serve_requests_total{route="/v1/predict",status="503"} 2',
    'rnn_serve_heap_bytes 4.9e+8',
    '',
  ].join('\n');
  const cases: Array<[string, number | undefined]> = [
    ['rnn_serve_process_resident_memory_bytes', 498810880],
    ['rnn_serve_batch_rows_sum', 1234],
    ['rnn_serve_batch_rows_count', 40],
    ['rnn_serve_batch_rows', undefined], // only a prefix of the histogram's series
    ['rnn_serve_requests_total', 32],
    ['rnn_serve_heap_bytes', 4.9e8],
    ['rnn_serve_missing', undefined],
  ];
  for (const [name, want] of cases) assert.equal(metricValue(text, name), want, name);
});

const run = (o: Partial<LoadRun>): LoadRun => ({
  connections: 64,
  seconds: 10,
  requests: 10000,
  requestsPerSec: 1000,
  p50Ms: 30,
  p90Ms: 50,
  p99Ms: 80,
  non2xx: 0,
  errors: 0,
  meanBatchRows: 48,
  ...o,
});

const result = (o: Partial<ServeBenchResult> = {}): ServeBenchResult => ({
  model: { dir: '/m/lstm', cell: 'lstm', kernels: 'K' },
  settings: { durationSeconds: 10, rounds: 2, soakSeconds: 0, connections: 64, poolSize: 2000, predictBatchSize: 256, warmupSeconds: 2 },
  latency: [
    {
      ...run({ connections: 1, requestsPerSec: 250, p50Ms: 3.5, p90Ms: 4, p99Ms: 9.25, meanBatchRows: 1 }),
      review: 'test/pos/1_8.txt',
      words: 10,
      targetWords: 10,
    },
    {
      ...run({ connections: 1, requestsPerSec: 200, p50Ms: 4.5, p90Ms: 6, p99Ms: 12, meanBatchRows: 1 }),
      review: 'test/neg/2_1.txt',
      words: 231,
      targetWords: 230,
    },
  ],
  throughput: {
    rounds: [
      { round: 1, predict: { reviews: 2000, seconds: 1, reviewsPerSec: 2000 }, serve: run({ requestsPerSec: 1800, p99Ms: 70 }) },
      {
        round: 2,
        predict: { reviews: 2000, seconds: 1.25, reviewsPerSec: 1600 },
        serve: run({ requestsPerSec: 1500, p99Ms: 90, meanBatchRows: undefined }),
      },
    ],
    medianPredictReviewsPerSec: 1800,
    medianServeReviewsPerSec: 1650,
    ratio: 1650 / 1800,
  },
  serverExitCode: 0,
  ...o,
});

const LATENCY =
  'M\n\nLatency: one review per request, 1 connection, 10 s each\n\n' +
  '| review | words | requests/s | p50 ms | p90 ms | p99 ms | non-2xx | errors |\n' +
  '|---|---:|---:|---:|---:|---:|---:|---:|\n' +
  '| test/pos/1_8.txt | 10 | 250.0 | 3.50 | 4.00 | 9.25 | 0 | 0 |\n' +
  '| test/neg/2_1.txt | 231 | 200.0 | 4.50 | 6.00 | 12.00 | 0 | 0 |\n';
const THROUGHPUT_HEAD =
  '\nThroughput: rnn predict (in process, batches of 256) and rnn serve (64 connections, one review per request), alternated\n\n' +
  '| round | predict reviews/s | serve reviews/s | serve/predict | serve p50 ms | serve p99 ms | non-2xx | errors | batch rows |\n' +
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|\n';

test('the serve benchmark as Markdown: latency, throughput rounds with medians and the ratio, each with its targets', () => {
  assert.equal(
    renderServeBench(result(), 'M'),
    LATENCY +
      '\ntargets, 231-word review: p50 ≤ 5 ms (4.50 ✓), p99 ≤ 20 ms (12.00 ✓)\n' +
      THROUGHPUT_HEAD +
      '| 1 | 2000.0 | 1800.0 | 90% | 30.00 | 70.00 | 0 | 0 | 48.0 |\n' +
      '| 2 | 1600.0 | 1500.0 | 94% | 30.00 | 90.00 | 0 | 0 | ? |\n' +
      '| median | 1800.0 | 1650.0 | 92% |  |  | 0 | 0 |  |\n' +
      '\ntargets, 64 connections: serve ≥ 80% of predict (92% ✓), p99 ≤ 250 ms (worst round 90.00 ✓), no non-2xx (0 ✓)\n',
  );
});

test('targets missed are marked ✗; the soak table and a non-zero exit of the server are shown', () => {
  const r = result({
    latency: [
      {
        ...run({ connections: 1, requestsPerSec: 100, p50Ms: 6, p90Ms: 15, p99Ms: 25 }),
        review: 'test/neg/2_1.txt',
        words: 230,
        targetWords: 230,
      },
    ],
    throughput: {
      rounds: [
        {
          round: 1,
          predict: { reviews: 2000, seconds: 1, reviewsPerSec: 2000 },
          serve: run({ requestsPerSec: 1000, p99Ms: 300, non2xx: 3, errors: 1 }),
        },
      ],
      medianPredictReviewsPerSec: 2000,
      medianServeReviewsPerSec: 1000,
      ratio: 0.5,
    },
    settings: { ...result().settings, rounds: 1, soakSeconds: 60 },
    soak: {
      ...run({ requests: 60000, requestsPerSec: 1000, p99Ms: 100 }),
      warmupSeconds: 5,
      rssStartBytes: 500e6,
      rssEndBytes: 530e6,
      rssGrowth: 0.06,
    },
    serverExitCode: 1,
  });
  const out = renderServeBench(r, 'M');
  const tail = out.slice(out.indexOf('\ntargets, 230-word'));
  assert.equal(
    tail,
    '\ntargets, 230-word review: p50 ≤ 5 ms (6.00 ✗), p99 ≤ 20 ms (25.00 ✗)\n' +
      THROUGHPUT_HEAD +
      '| 1 | 2000.0 | 1000.0 | 50% | 30.00 | 300.00 | 3 | 1 | 48.0 |\n' +
      '| median | 2000.0 | 1000.0 | 50% |  |  | 3 | 1 |  |\n' +
      '\ntargets, 64 connections: serve ≥ 80% of predict (50% ✗), p99 ≤ 250 ms (worst round 300.00 ✗), no non-2xx (3 ✗)\n' +
      '\nSoak: 64 connections for 60 s; RSS of the server from /metrics after 5 s and at the end\n\n' +
      '| requests | reviews/s | p99 ms | non-2xx | errors | batch rows | RSS start | RSS end | growth |\n' +
      '|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n' +
      '| 60,000 | 1000.0 | 100.00 | 0 | 0 | 48.0 | 500.0 MB | 530.0 MB | 6.0% |\n' +
      '\ntarget: RSS growth ≤ 5% (6.0% ✗)\n' +
      '\nnote: rnn serve exited with code 1 after SIGTERM (0 expected)\n',
  );
  const unread = renderServeBench({ ...r, soak: { ...r.soak!, rssStartBytes: NaN, rssGrowth: NaN } }, 'M');
  assert.ok(unread.includes('| – | 530.0 MB | – |'), 'an RSS /metrics did not give is shown as missing');
  assert.ok(unread.includes('target: RSS growth ≤ 5% (– ✗)'));
});

test("an overload run sorted: 2xx admitted (late past --timeout by the client's clock, and by the server's), 503 refused by code, SERVE_TIMEOUT late on both; recovery ends at the last answer that was not a timely 2xx", () => {
  const answers: Answered[] = [
    { at: 10, status: 200, ms: 40 },
    { at: 20, status: 200, ms: 60, serverMs: 501 }, // late at the server (a client nearer to it than this one)
    { at: 30, status: 200, ms: 510, serverMs: 300 }, // admitted, answered late: it waited unread or unsent
    { at: 35, status: 200, ms: 520 }, // late, and no Server-Timing: late at the server too, for all anyone knows
    { at: 40, status: 503, code: 'SERVE_OVERLOADED', ms: 2 },
    { at: 50, status: 503, code: 'SERVE_OVERLOADED', ms: 4 },
    { at: 60, status: 503, code: 'SERVE_QUEUE_FULL', ms: 3 },
    { at: 1500, status: 503, code: 'SERVE_TIMEOUT', ms: 500 }, // admitted, dropped at its deadline
    { at: 2000, status: 400, code: 'SERVE_BODY_NOT_JSON', ms: 1 },
    { at: 2500, status: 200, ms: 30 },
  ];
  const s = summarizeOverload(answers, 500);
  assert.deepEqual(s, {
    admitted: { count: 5, p50Ms: 60, p99Ms: 520 },
    refused: { count: 3, p50Ms: 3, p99Ms: 4, codes: { SERVE_OVERLOADED: 2, SERVE_QUEUE_FULL: 1 } },
    late: 3,
    lateAtServer: 3,
    other: 1,
  });
  assert.equal(recoverySeconds(answers, 500), 2);
  assert.equal(recoverySeconds(answers.slice(0, 2), 500), 0, 'every answer a timely 2xx');
  const none = summarizeOverload([], 500);
  assert.equal(none.admitted.count, 0);
  assert.ok(Number.isNaN(none.admitted.p50Ms));
});

test('the overload as Markdown: both runs, the refusal codes, and the targets (none late, none unanswered) with the recovery time', () => {
  const summary = summarizeOverload(
    [
      { at: 10, status: 200, ms: 40, serverMs: 30 },
      { at: 20, status: 503, code: 'SERVE_OVERLOADED', ms: 2, serverMs: 0.1 },
      { at: 30, status: 200, ms: 700, serverMs: 450 },
    ],
    500,
  );
  const overload: Overload = {
    timeoutMs: 500,
    capacityPerSec: 1650,
    factor: 4,
    targetPerSec: 6600,
    connections: 512,
    seconds: 10,
    offeredPerSec: 6012.4,
    summary,
    unanswered: 0,
    recovery: {
      connections: 64,
      seconds: 5,
      targetPerSec: 825,
      summary: summarizeOverload([{ at: 5, status: 200, ms: 9 }], 500),
      unanswered: 1,
      recoverySeconds: 0.25,
    },
    serverExitCode: 0,
  };
  const text = renderServeBench(result({ overload }), 'M');
  assert.ok(
    text.endsWith(
      '\nOverload: rnn serve --timeout 500 offered 4× the median reviews/s above (1650: 6600 requests/s asked for), then half of it; late: admitted and answered after 500 ms ' +
        "by the client's clock (at server: by the server's, from the moment it read the request)\n\n" +
        '| run | offered/s | admitted | p50 ms | p99 ms | refused | p50 ms | p99 ms | late | at server | unanswered | refusals |\n' +
        '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n' +
        '| overload, 512 connections, 10 s | 6012 | 2 | 40.00 | 700.00 | 1 | 2.00 | 2.00 | 1 | 0 | 0 | SERVE_OVERLOADED 1 |\n' +
        '| after, 64 connections, 5 s | 825 | 1 | 9.00 | 9.00 | 0 | – | – | 0 | 0 | 1 | – |\n' +
        '\ntargets: none late (1 ✗; at the server 0 ✓), none unanswered (1 ✗); every request admitted again 0.25 s after the overload ended\n',
    ),
    text,
  );
});

test('serverTiming: the total of a Server-Timing header, whatever else it holds', () => {
  assert.equal(serverTiming('total;dur=12.5'), 12.5);
  assert.equal(serverTiming('db;dur=3, total;desc="all";dur=7'), 7);
  assert.equal(serverTiming(['db;dur=3', 'total;dur=4']), 4);
  assert.equal(serverTiming('subtotal;dur=3'), undefined);
  assert.equal(serverTiming(undefined), undefined);
});
