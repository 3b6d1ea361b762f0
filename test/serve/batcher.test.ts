/**
 * MicroBatcher: the rows of concurrent submits are coalesced into forwards of at most batchSize rows (at
 * once when batchSize rows wait, else after the window), each job gets exactly its own rows' results back
 * in order, only jobs of one model share a forward, and the bounded queue, the deadlines and a throwing
 * forward reject with the right errors and leave the batcher working.
 *
 * The model is a fake {@link Forward}: row r of a job is [tag, -tag, 7] and its probability is tag + 0.5,
 * so a result says which row it was computed from; every forward is logged with its model and row tags.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick, setTimeout as sleep } from 'node:timers/promises';
import {
  DeadlineError,
  MicroBatcher,
  RefusedError,
  type BatchReport,
  type BatcherOptions,
  type Refusal,
  type Forward,
} from '../../src/serve/batcher.js';

const MAXLEN = 3;
/** The deadline of submits not meant to time out: a job the batcher forgets fails its test with a DeadlineError after 5 s rather than hanging it. */
const NO_TIMEOUT = 5_000;

interface Call {
  model: string;
  rows: number;
  tags: number[];
}

class FakeModel implements Forward {
  readonly maxlen = MAXLEN;
  private calls = 0;
  constructor(
    readonly name: string,
    readonly log: Call[],
    /** Throws instead of answering when this says so (given the 0-based index of the call on this model). */
    private readonly fails: (call: number) => Error | undefined = () => undefined,
    /** Probabilities per row: a k-class model gives k, row after row (here tag + 0.5, tag + 0.25, …). */
    readonly perRow = 1,
  ) {}

  forward(ids: Int32Array, rows: number): Float32Array {
    assert.equal(ids.length, rows * MAXLEN, `${this.name}: ids for ${rows} rows`);
    const tags: number[] = [];
    for (let r = 0; r < rows; r++) {
      const [tag, neg, seven] = ids.subarray(r * MAXLEN, (r + 1) * MAXLEN);
      assert.ok(tag! > 0 && neg === -tag! && seven === 7, `${this.name}: row ${r} is whole ([${tag}, ${neg}, ${seven}])`);
      tags.push(tag!);
    }
    this.log.push({ model: this.name, rows, tags });
    const error = this.fails(this.calls++);
    if (error) throw error;
    return Float32Array.from(tags.flatMap((t) => Array.from({ length: this.perRow }, (_, c) => prob(t) - c / 4)));
  }
}

const prob = (tag: number): number => tag + 0.5;

/** The row tags of job `j` of `rows` rows: 100j + 1, 100j + 2, … */
const tagsOf = (j: number, rows: number): number[] => Array.from({ length: rows }, (_, i) => 100 * j + i + 1);

function idsOf(tags: number[]): Int32Array {
  return Int32Array.from(tags.flatMap((t) => [t, -t, 7]));
}

function batcher(o: Partial<BatcherOptions>, onBatch?: (r: BatchReport) => void): MicroBatcher {
  return new MicroBatcher({ batchSize: 4, windowMs: 5, maxQueue: 64, maxWaitMs: Infinity, ...o }, onBatch);
}

/** Submits job `j` (tagsOf(j, rows)) and checks that it resolves with exactly its rows' probabilities, in order. */
async function expectOwn(
  b: MicroBatcher,
  model: Forward & { name: string },
  j: number,
  rows: number,
  timeoutMs = NO_TIMEOUT,
): Promise<void> {
  const tags = tagsOf(j, rows);
  const got = await b.submit(model, idsOf(tags), rows, timeoutMs);
  assert.ok(got instanceof Float32Array);
  assert.deepEqual(Array.from(got), tags.map(prob), `job ${j} (${rows} rows) on ${model.name}`);
}

/** A rejection with the batcher's own error of `type`, carrying `fields`, its message saying nothing of HTTP or of the CLI. */
/** A {@link RefusedError} with this refusal and message. */
function isRefused(refusal: Refusal, message: string): (e: unknown) => boolean {
  return (e) => isBatcherError(RefusedError, {}, message)(e) && (assert.deepEqual((e as RefusedError).refusal, refusal), true);
}

function isBatcherError<T extends Error>(
  type: abstract new (...args: never[]) => T,
  fields: Partial<T>,
  message: string,
): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof type, `a ${type.name}, not ${String(e)}`);
    for (const [key, value] of Object.entries(fields)) assert.equal(e[key as keyof T], value, key);
    assert.equal(e.message, message);
    assert.ok(!('statusCode' in e) && !('headers' in e) && !('code' in e), 'no HTTP status, headers or error code');
    return true;
  };
}

const timeouts = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

test('a single submit waits for the window, then resolves with its own results from one forward', async () => {
  const log: Call[] = [];
  const m = new FakeModel('a', log);
  const b = batcher({ batchSize: 8, windowMs: 100 });
  const p = expectOwn(b, m, 1, 3);
  await tick();
  assert.equal(log.length, 0, 'no forward before the window');
  assert.equal(b.queuedRows, 3);
  await p;
  assert.deepEqual(log, [{ model: 'a', rows: 3, tags: tagsOf(1, 3) }]);
  assert.equal(b.queuedRows, 0);
});

for (const sizes of [[1], [1, 1, 1], [2, 3, 1], [8], [1, 7], [5, 2]]) {
  test(`concurrent submits of ${sizes.join(' + ')} rows (≤ batchSize 8) go in one forward, each getting its own rows back`, async () => {
    const log: Call[] = [];
    const m = new FakeModel('a', log);
    const reports: BatchReport[] = [];
    const b = batcher({ batchSize: 8, windowMs: 10 }, (r) => reports.push(r));
    await Promise.all(sizes.map((n, j) => expectOwn(b, m, j, n)));
    const total = sizes.reduce((s, n) => s + n, 0);
    assert.deepEqual(log, [{ model: 'a', rows: total, tags: sizes.flatMap((n, j) => tagsOf(j, n)) }], 'one forward, rows in submit order');
    assert.deepEqual(
      reports.map((r) => r.rows),
      [total],
    );
    assert.ok(reports[0]!.seconds >= 0);
  });
}

// batchSize 4: the forwards take the queue's rows in order, batchSize at a time; a job bigger than a batch
// is split over forwards and put back together.
const SPLITS: Array<{ sizes: number[]; forwards: number[] }> = [
  { sizes: [3, 3], forwards: [4, 2] },
  { sizes: [5], forwards: [4, 1] },
  { sizes: [10], forwards: [4, 4, 2] },
  { sizes: [12], forwards: [4, 4, 4] },
  { sizes: [1, 9, 2], forwards: [4, 4, 4] },
  { sizes: [2, 6, 1, 1], forwards: [4, 4, 2] },
  { sizes: [5, 5, 5], forwards: [4, 4, 4, 3] },
];
for (const { sizes, forwards } of SPLITS) {
  test(`submits of ${sizes.join(' + ')} rows with batchSize 4 run as forwards of ${forwards.join(', ')} rows and are reassembled in order`, async () => {
    const log: Call[] = [];
    const m = new FakeModel('a', log);
    const b = batcher({ batchSize: 4, windowMs: 5 });
    await Promise.all(sizes.map((n, j) => expectOwn(b, m, j, n)));
    assert.deepEqual(
      log.map((c) => c.rows),
      forwards,
    );
    assert.deepEqual(
      log.flatMap((c) => c.tags),
      sizes.flatMap((n, j) => tagsOf(j, n)),
      'every row forwarded once, in submit order',
    );
    assert.equal(b.queuedRows, 0);
  });
}

// With a 10 s window, finishing well within it means the forward did not wait for the window.
const FULL: Array<{ name: string; run: (b: MicroBatcher, m: FakeModel) => Promise<void> }> = [
  { name: 'one submit of batchSize rows', run: (b, m) => expectOwn(b, m, 1, 4) },
  { name: 'submits of 1 + 3 rows in one turn', run: (b, m) => Promise.all([expectOwn(b, m, 1, 1), expectOwn(b, m, 2, 3)]).then(() => {}) },
  {
    name: 'a 1-row submit waiting for its window, then a 3-row submit',
    run: async (b, m) => {
      const first = expectOwn(b, m, 1, 1);
      await sleep(20);
      await Promise.all([first, expectOwn(b, m, 2, 3)]);
    },
  },
];
for (const { name, run } of FULL) {
  test(`reaching batchSize runs the forward without waiting for the window: ${name}`, async () => {
    const log: Call[] = [];
    const m = new FakeModel('a', log);
    const b = batcher({ batchSize: 4, windowMs: 10_000 });
    const t0 = performance.now();
    await run(b, m);
    assert.ok(performance.now() - t0 < 5_000, 'did not wait for the 10 s window');
    assert.deepEqual(
      log.map((c) => c.rows),
      [4],
    );
  });
}

test('jobs of two models are never mixed in one forward, and all of them resolve', async () => {
  const log: Call[] = [];
  const x = new FakeModel('x', log);
  const y = new FakeModel('y', log);
  const b = batcher({ batchSize: 4, windowMs: 5 });
  // x: 1 + 1 + 1 rows, y: 1 + 1: five rows in all reach batchSize, but a forward takes only x's three.
  const jobs: Array<[FakeModel, number]> = [
    [x, 1],
    [y, 1],
    [x, 1],
    [y, 1],
    [x, 1],
  ];
  await Promise.all(jobs.map(([m, n], j) => expectOwn(b, m, j, n)));
  assert.deepEqual(log, [
    { model: 'x', rows: 3, tags: [...tagsOf(0, 1), ...tagsOf(2, 1), ...tagsOf(4, 1)] },
    { model: 'y', rows: 2, tags: [...tagsOf(1, 1), ...tagsOf(3, 1)] },
  ]);
});

test('jobs of two models, several bigger than a batch: every forward holds rows of one model only', async () => {
  const log: Call[] = [];
  const x = new FakeModel('x', log);
  const y = new FakeModel('y', log);
  const b = batcher({ batchSize: 4, windowMs: 2 });
  const jobs: Array<[FakeModel, number]> = [
    [x, 3],
    [y, 6],
    [x, 2],
    [y, 1],
    [x, 7],
    [y, 2],
    [x, 1],
  ];
  await Promise.all(jobs.map(([m, n], j) => expectOwn(b, m, j, n)));
  const owner = new Map(jobs.flatMap(([m, n], j) => tagsOf(j, n).map((t) => [t, m.name] as const)));
  for (const c of log) {
    assert.ok(c.rows <= 4, `a forward of ${c.rows} rows`);
    assert.ok(
      c.tags.every((t) => owner.get(t) === c.model),
      `a forward on ${c.model} with rows of ${c.tags.map((t) => owner.get(t)).join(', ')}`,
    );
  }
  for (const name of ['x', 'y']) {
    assert.deepEqual(
      log.filter((c) => c.model === name).flatMap((c) => c.tags),
      jobs.flatMap(([m, n], j) => (m.name === name ? tagsOf(j, n) : [])),
      `${name}'s rows forwarded once each, in submit order`,
    );
  }
});

test('a full queue rejects at once (queue-full, with the numbers); the queue recovers', async () => {
  const log: Call[] = [];
  const m = new FakeModel('a', log);
  const b = batcher({ batchSize: 8, windowMs: 10, maxQueue: 4 });
  const first = expectOwn(b, m, 1, 3);
  assert.equal(b.queuedRows, 3);
  await assert.rejects(
    b.submit(m, idsOf(tagsOf(2, 2)), 2, NO_TIMEOUT),
    isRefused({ kind: 'queue-full', queuedRows: 3, maxQueue: 4 }, '3 rows are queued and the queue holds 4'),
  );
  assert.equal(b.queuedRows, 3, 'the refused rows are not queued');
  const fits = expectOwn(b, m, 3, 1); // exactly fills the queue
  assert.equal(b.queuedRows, 4);
  await assert.rejects(
    b.submit(m, idsOf(tagsOf(4, 1)), 1, NO_TIMEOUT),
    isRefused({ kind: 'queue-full', queuedRows: 4, maxQueue: 4 }, '4 rows are queued and the queue holds 4'),
  );
  await Promise.all([first, fits]);
  assert.equal(b.queuedRows, 0);
  await expectOwn(b, m, 5, 4);
  assert.deepEqual(
    log.map((c) => c.tags),
    [[...tagsOf(1, 3), ...tagsOf(3, 1)], tagsOf(5, 4)],
    'the refused rows are never forwarded',
  );
});

/** A model whose every forward takes at least `ms` of wall time (a busy wait, as a real forward blocks the event loop). */
class SlowModel extends FakeModel {
  constructor(
    name: string,
    log: Call[],
    protected ms: number,
  ) {
    super(name, log);
  }

  override forward(ids: Int32Array, rows: number): Float32Array {
    const until = performance.now() + this.ms;
    while (performance.now() < until);
    return super.forward(ids, rows);
  }
}

test('a request expected to take longer than maxWaitMs is refused at once (overloaded); the estimate counts whole forwards; rows that fit in the next forward are admitted', async () => {
  const log: Call[] = [];
  // 4 rows a forward, each forward at least 8 ms: a backlog drains at 2 ms a row or slower. A lone row waits
  // for the 300 ms window, so that it stays queued while the test looks.
  const m = new SlowModel('a', log, 8);
  const b = batcher({ batchSize: 4, windowMs: 300, maxQueue: 64, maxWaitMs: 1 });
  assert.equal(b.expectedWaitMs(1), 0.5, 'before a full forward was measured, one takes half of maxWaitMs');
  assert.equal(b.expectedWaitMs(9), 1.5, 'nine rows: three forwards');
  // Eight rows at once (two forwards: 1 ms, admitted); the second, with rows waiting as the first ended, measures.
  const measuring = [0, 1].map((j) => expectOwn(b, m, j, 4));
  await assert.rejects(
    b.submit(m, idsOf(tagsOf(2, 8)), 8, NO_TIMEOUT),
    (e) => e instanceof RefusedError,
    'two forwards more would take 2 ms',
  );
  await Promise.all(measuring);
  const forward = b.expectedWaitMs(1);
  assert.ok(forward >= 8, `one row waits for a whole forward of 4 rows (${forward} ms)`);
  assert.equal(b.expectedWaitMs(4), forward, 'four rows: the same one forward');
  assert.equal(b.expectedWaitMs(5), 2 * forward, 'five rows: two forwards');
  assert.equal(b.refusal(4), undefined, 'rows that fit in the next forward are admitted, whatever the estimate');
  assert.equal(b.refusal(9), undefined, 'an empty queue admits a request of any size (--max-queue bounds it), whatever the estimate');
  const queued = expectOwn(b, m, 3, 1); // waits for the window
  assert.equal(b.queuedRows, 1);
  assert.equal(b.expectedWaitMs(3), forward, 'the queued row and three more: one forward');
  assert.equal(b.refusal(3), undefined, 'they fit in the next forward');
  const refused = b.refusal(4);
  assert.deepEqual(
    refused,
    { kind: 'overloaded', expectedMs: 2 * forward, maxWaitMs: 1 },
    'four rows behind one queued row need two forwards: longer than 1 ms',
  );
  await assert.rejects(
    b.submit(m, idsOf(tagsOf(4, 4)), 4, NO_TIMEOUT),
    isRefused(refused!, `the request would take about ${Math.round(2 * forward)} ms and one may wait 1 ms`),
  );
  assert.equal(b.queuedRows, 1, 'the refused row is not queued');
  await queued;
  await b.idle();
  assert.equal(b.refusal(1), undefined, 'the queue drained: admitted again');
  await expectOwn(b, m, 5, 4);
  assert.deepEqual(
    log.flatMap((c) => c.tags),
    [0, 1, 3, 5].flatMap((j) => tagsOf(j, j === 3 ? 1 : 4)),
    'the refused rows are never forwarded',
  );
  // With room for the measured drain, the same queue admits.
  const roomy = batcher({ batchSize: 4, windowMs: 300, maxQueue: 64, maxWaitMs: 10_000 });
  await Promise.all([0, 1].map((j) => expectOwn(roomy, m, 10 + j, 4)));
  const waiting = expectOwn(roomy, m, 13, 1);
  assert.equal(roomy.refusal(4), undefined);
  await Promise.all([waiting, expectOwn(roomy, m, 14, 3)]);
});

test("a model's own measure of a full forward (taken idle) is the first estimate, with a deviation as large as itself (five times it), until forwards here measure", async () => {
  const log: Call[] = [];
  const m = Object.assign(new FakeModel('a', log), { forwardMs: 10 });
  const b = batcher({ batchSize: 4, windowMs: 300, maxQueue: 64, maxWaitMs: 1000 });
  assert.equal(b.expectedWaitMs(5), 1000, 'nothing known: half of maxWaitMs a forward');
  const queued = expectOwn(b, m, 1, 1); // waits for the window
  assert.equal(b.expectedWaitMs(3), 50, "the queued row and three more: one forward, the model's 10 ms counted as 10 + 4 × 10");
  assert.equal(b.expectedWaitMs(4), 100, 'and four more: two forwards');
  await queued;
});

test('only full forwards run with a backlog measure the forward time: a partial one (its fixed costs over fewer rows) leaves it as it was', async () => {
  const log: Call[] = [];
  // A full forward of 4 rows takes 8 ms; the 1-row forward below takes 40 ms. Scaled up to a batch, that one
  // would say 160 ms a forward and raise the estimate by about 30 ms.
  let ms = 8;
  const m = new (class extends SlowModel {
    override forward(ids: Int32Array, rows: number): Float32Array {
      this.ms = rows === 1 ? 40 : ms;
      return super.forward(ids, rows);
    }
  })('a', log, ms);
  const b = batcher({ batchSize: 4, windowMs: 0, maxQueue: 64, maxWaitMs: Infinity });
  // Two full forwards: the second ran with a backlog and measured the forward time.
  await Promise.all([expectOwn(b, m, 0, 4), expectOwn(b, m, 1, 4)]);
  const forward = b.expectedWaitMs(1);
  assert.ok(forward >= 3 * 8, `a first measure m (8 ms or more) is expected as m + 4 × m/2, as TCP's first timeout (${forward} ms)`);
  // A full forward, then one of 1 row that waited for it (a backlog): the full one counts, the partial one not.
  ms = 0;
  await Promise.all([expectOwn(b, m, 2, 4), expectOwn(b, m, 3, 1)]);
  assert.deepEqual(
    log.map((c) => c.rows),
    [4, 4, 4, 1],
  );
  const after = b.expectedWaitMs(1);
  assert.ok(after <= forward + 15, `about one full forward still (${after} ms; ${forward} before)`);
});

test('a request of more rows than the queue holds is refused at once (too-many-rows), even on an empty queue', async () => {
  const log: Call[] = [];
  const m = new FakeModel('a', log);
  const b = batcher({ batchSize: 4, windowMs: 5, maxQueue: 6 });
  await assert.rejects(
    b.submit(m, idsOf(tagsOf(1, 7)), 7, NO_TIMEOUT),
    isRefused({ kind: 'too-many-rows', rows: 7, maxQueue: 6 }, 'the request needs 7 forward rows and the queue holds at most 6'),
  );
  assert.equal(b.queuedRows, 0);
  await expectOwn(b, m, 2, 6); // maxQueue rows fit
  assert.deepEqual(
    log.flatMap((c) => c.tags),
    tagsOf(2, 6),
  );
});

test('a queued request past its deadline rejects with DeadlineError and its rows are never forwarded', async () => {
  const log: Call[] = [];
  const m = new FakeModel('a', log);
  const b = batcher({ batchSize: 4, windowMs: 10_000 });
  const late = b.submit(m, idsOf(tagsOf(1, 2)), 2, 30);
  assert.equal(b.queuedRows, 2);
  await assert.rejects(late, isBatcherError(DeadlineError, { timeoutMs: 30 }, 'the prediction did not finish within 30 ms'));
  assert.equal(b.queuedRows, 0, 'its rows left the queue');
  await b.idle();
  // A full batch runs at once (and clears the 10 s window): it holds only its own rows.
  await expectOwn(b, m, 2, 4);
  assert.deepEqual(log, [{ model: 'a', rows: 4, tags: tagsOf(2, 4) }]);
});

test('a request split over forwards that passes its deadline rejects with DeadlineError; its remaining rows are not forwarded', async () => {
  const log: Call[] = [];
  const m = new FakeModel('a', log);
  const b = batcher({ batchSize: 2, windowMs: 10_000 });
  // Two of its three rows reach batchSize and run at once; the third waits for the 10 s window.
  const late = b.submit(m, idsOf(tagsOf(1, 3)), 3, 50);
  await tick();
  assert.deepEqual(
    log.map((c) => c.tags),
    [tagsOf(1, 2)],
  );
  assert.equal(b.queuedRows, 1);
  await assert.rejects(late, isBatcherError(DeadlineError, { timeoutMs: 50 }, 'the prediction did not finish within 50 ms'));
  assert.equal(b.queuedRows, 0);
  await expectOwn(b, m, 2, 2);
  assert.deepEqual(
    log.map((c) => c.tags),
    [tagsOf(1, 2), tagsOf(2, 2)],
  );
});

test('a forward that throws rejects the jobs of its batch with its error; other batches and later jobs still work', async () => {
  const log: Call[] = [];
  const boom = new Error('forward failed');
  // x's second forward throws.
  const x = new FakeModel('x', log, (call) => (call === 1 ? boom : undefined));
  const y = new FakeModel('y', log);
  const b = batcher({ batchSize: 4, windowMs: 5 });
  // x: forward 1 = job 0 (2 rows) + job 1's first 2 rows; forward 2 = job 1's last 2 rows + job 2: throws.
  const x0 = expectOwn(b, x, 0, 2);
  const x1 = b.submit(x, idsOf(tagsOf(1, 4)), 4, NO_TIMEOUT);
  const x2 = b.submit(x, idsOf(tagsOf(2, 1)), 1, NO_TIMEOUT);
  const y3 = expectOwn(b, y, 3, 2);
  await x0;
  await assert.rejects(x1, (e) => e === boom);
  await assert.rejects(x2, (e) => e === boom);
  await y3;
  assert.equal(b.queuedRows, 0);
  await Promise.all([expectOwn(b, x, 4, 3), expectOwn(b, y, 5, 1)]);
  assert.deepEqual(log, [
    { model: 'x', rows: 4, tags: [...tagsOf(0, 2), ...tagsOf(1, 2)] },
    { model: 'x', rows: 3, tags: [...tagsOf(1, 4).slice(2), ...tagsOf(2, 1)] },
    { model: 'y', rows: 2, tags: tagsOf(3, 2) },
    { model: 'x', rows: 3, tags: tagsOf(4, 3) },
    { model: 'y', rows: 1, tags: tagsOf(5, 1) },
  ]);
});

test('queuedRows counts the rows waiting for a forward', async () => {
  const log: Call[] = [];
  const m = new FakeModel('a', log);
  const b = batcher({ batchSize: 4, windowMs: 20 });
  assert.equal(b.queuedRows, 0);
  const jobs = [expectOwn(b, m, 1, 2)];
  assert.equal(b.queuedRows, 2);
  jobs.push(expectOwn(b, m, 2, 1));
  assert.equal(b.queuedRows, 3);
  jobs.push(expectOwn(b, m, 3, 3));
  assert.equal(b.queuedRows, 6);
  await tick(); // batchSize reached: one forward of 4 rows; 2 rows of job 3 wait for the window
  assert.deepEqual(
    log.map((c) => c.rows),
    [4],
  );
  assert.equal(b.queuedRows, 2);
  await Promise.all(jobs);
  assert.equal(b.queuedRows, 0);
});

test('idle() resolves at once on an empty batcher, and otherwise once every job has settled', async () => {
  const log: Call[] = [];
  const m = new FakeModel('a', log);
  const n = new FakeModel('n', log);
  const b = batcher({ batchSize: 4, windowMs: 10 });
  await b.idle();
  const settled: string[] = [];
  const track = (name: string, p: Promise<unknown>): Promise<void> =>
    p.then(
      () => void settled.push(`${name} ok`),
      () => void settled.push(`${name} failed`),
    );
  const jobs = [
    track('a0', b.submit(m, idsOf(tagsOf(0, 6)), 6, NO_TIMEOUT)),
    track('n1', b.submit(n, idsOf(tagsOf(1, 1)), 1, NO_TIMEOUT)),
    track('n2', b.submit(n, idsOf(tagsOf(2, 1)), 1, 1)), // times out before n's window
  ];
  await b.idle();
  assert.equal(b.queuedRows, 0);
  assert.deepEqual(settled.sort(), ['a0 ok', 'n1 ok', 'n2 failed']);
  await Promise.all(jobs);
  await b.idle();
});

test('a submit of 0 rows resolves with an empty array without a forward', async () => {
  const log: Call[] = [];
  const m = new FakeModel('a', log);
  const b = batcher({ batchSize: 4, windowMs: 5, maxQueue: 1 });
  const got = await b.submit(m, new Int32Array(0), 0, NO_TIMEOUT);
  assert.ok(got instanceof Float32Array);
  assert.equal(got.length, 0);
  assert.equal(b.queuedRows, 0);
  await b.idle();
  await sleep(20); // past the window
  assert.deepEqual(log, []);
});

test('no timer is left behind once every submit has settled', async () => {
  const log: Call[] = [];
  const m = new FakeModel('a', log, (call) => (call === 2 ? new Error('boom') : undefined));
  const b = batcher({ batchSize: 4, windowMs: 5, maxQueue: 8 });
  const before = timeouts();
  const results = await Promise.allSettled([
    b.submit(m, idsOf(tagsOf(0, 5)), 5, NO_TIMEOUT),
    b.submit(m, idsOf(tagsOf(1, 2)), 2, NO_TIMEOUT),
    b.submit(m, idsOf(tagsOf(2, 2)), 2, NO_TIMEOUT), // queue full
  ]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'fulfilled', 'rejected'],
  );
  await Promise.allSettled([b.submit(m, idsOf(tagsOf(3, 1)), 1, NO_TIMEOUT)]); // the throwing forward
  await b.idle();
  assert.equal(timeouts(), before, 'every deadline and window timer is cleared or has fired');
});

test("a k-class model: each row's k probabilities reach its request, whatever the batch mixed", async () => {
  const log: Call[] = [];
  const model = new FakeModel('k3', log, undefined, 3);
  const b = new MicroBatcher({ batchSize: 4, windowMs: 5, maxQueue: 100, maxWaitMs: Infinity });
  const jobs = [3, 1, 5, 2].map((rows, j) => ({ rows, tags: tagsOf(j, rows) }));
  const results = await Promise.all(jobs.map((j) => b.submit(model, idsOf(j.tags), j.rows, NO_TIMEOUT)));
  results.forEach((r, j) => {
    assert.deepEqual(
      [...r],
      jobs[j]!.tags.flatMap((t) => [prob(t), prob(t) - 0.25, prob(t) - 0.5]),
    );
  });
  assert.ok(log.length >= 3, 'rows of several requests shared forwards');
});

/** A model whose forwards run off the event loop: each is a promise this test settles when it likes. */
class AsyncModel implements Forward {
  readonly maxlen = MAXLEN;
  readonly perRow = 1;
  readonly offLoop = true;
  readonly running: { rows: number; finish: () => void; fail: (e: Error) => void }[] = [];
  private readonly inner: FakeModel;
  readonly name: string;

  constructor(name: string, log: Call[]) {
    this.name = name;
    this.inner = new FakeModel(name, log);
  }

  forward(ids: Int32Array, rows: number): Promise<Float32Array> {
    return new Promise((resolve, reject) =>
      this.running.push({ rows, finish: () => resolve(this.inner.forward(ids, rows)), fail: reject }),
    );
  }
}

/** Turns of the event loop until `done` holds (at most 20): how many a promise chain takes is not the test's business. */
async function turnsUntil(done: () => boolean): Promise<void> {
  for (let i = 0; i < 20 && !done(); i++) await tick();
}

test('a forward off the event loop starts without waiting for a turn of the loop: when a submit fills a batch, and when the forward before it ends', async () => {
  const log: Call[] = [];
  const m = new AsyncModel('a', log);
  const b = batcher({ batchSize: 4, windowMs: 50, maxQueue: 64 });
  let turned = false;
  setImmediate(() => (turned = true));
  const first = expectOwn(b, m, 1, 4);
  assert.equal(m.running.length, 1, 'a full batch starts within the submit');
  const second = expectOwn(b, m, 2, 4);
  m.running[0]!.finish();
  await first;
  for (let i = 0; i < 10 && m.running.length < 2; i++) await Promise.resolve();
  assert.equal(m.running.length, 2, 'the queued batch starts as the forward before it settles');
  assert.equal(turned, false, 'no turn of the event loop in between');
  m.running[1]!.finish();
  await second;
});

test('while a forward runs off the event loop, a request is expected to wait for what is left of it too', async () => {
  const log: Call[] = [];
  const m = new AsyncModel('a', log);
  const b = batcher({ batchSize: 4, windowMs: 0, maxQueue: 64 });
  // Three forwards of 4 rows, each finished 20 ms after it starts: the two with a backlog measure the drain.
  const measured = [0, 1, 2].map((j) => expectOwn(b, m, j, 4));
  for (let i = 0; i < 3; i++) {
    await turnsUntil(() => m.running.length > i);
    await sleep(20);
    m.running[i]!.finish();
  }
  await Promise.all(measured);
  const forward = b.expectedWaitMs(1);
  assert.ok(forward >= 20, `a forward takes 20 ms or more (${forward} ms)`);
  const running = expectOwn(b, m, 3, 4);
  await turnsUntil(() => m.running.length > 3);
  const queued = expectOwn(b, m, 4, 1);
  const expected = b.expectedWaitMs(1);
  assert.ok(
    expected > forward && expected <= 2 * forward,
    `what is left of the forward running, then its own (${expected} ms of ${forward})`,
  );
  await sleep(forward + 10); // a timer may fire a millisecond early by performance.now()
  assert.ok(b.expectedWaitMs(1) >= forward + 5, 'past its expected end, the forward running says how long a forward takes now');
  m.running[3]!.finish();
  await turnsUntil(() => m.running.length > 4);
  m.running[4]!.finish();
  await Promise.all([running, queued]);
});

test('a forward off the event loop (a promise): requests are admitted and refused while it runs, the next forward waits for it, idle() too', async () => {
  const log: Call[] = [];
  const m = new AsyncModel('a', log);
  const b = batcher({ batchSize: 4, windowMs: 0, maxQueue: 8 });
  const first = expectOwn(b, m, 1, 4);
  await tick();
  assert.equal(m.running.length, 1, 'the first forward runs');
  // While it runs the event loop is free: more requests queue, a full queue refuses at once.
  const second = expectOwn(b, m, 2, 4);
  const third = expectOwn(b, m, 3, 4);
  await assert.rejects(
    b.submit(m, idsOf(tagsOf(4, 1)), 1, NO_TIMEOUT),
    isRefused({ kind: 'queue-full', queuedRows: 8, maxQueue: 8 }, '8 rows are queued and the queue holds 8'),
  );
  await turnsUntil(() => m.running.length > 1);
  assert.equal(m.running.length, 1, 'no second forward while the first runs');
  m.running[0]!.finish();
  await first;
  await turnsUntil(() => m.running.length === 2);
  assert.equal(m.running.length, 2, 'the next forward starts once the first has settled');
  m.running[1]!.finish();
  await second;
  await turnsUntil(() => m.running.length === 3);
  assert.equal(m.running.length, 3);
  assert.equal(b.queuedRows, 0, 'the last forward took the last rows');
  let idle = false;
  void b.idle().then(() => (idle = true));
  await turnsUntil(() => idle);
  assert.equal(idle, false, 'not idle while a forward runs');
  m.running[2]!.fail(new Error('boom'));
  await assert.rejects(third, /boom/);
  await turnsUntil(() => idle);
  assert.equal(idle, true, 'idle once the last forward settled');
  assert.deepEqual(
    m.running.map((r) => r.rows),
    [4, 4, 4],
    'three forwards, one after another',
  );
  assert.deepEqual(
    log.map((c) => c.tags),
    [tagsOf(1, 4), tagsOf(2, 4)],
    'the first two answered',
  );
});
