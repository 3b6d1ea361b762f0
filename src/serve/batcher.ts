/**
 * Micro-batching: the forward rows of concurrent requests are coalesced into one forward pass, up to a
 * batch size, or when the first row has waited a short window. Forwards run one at a time on the event
 * loop (they are synchronous); requests that arrive during one are queued and go together into the next.
 * A row's result does not depend on its neighbours: each row of a forward is computed on its own.
 *
 * The queue is bounded in rows: a request that does not fit is refused at once ({@link QueueFullError}, or
 * {@link TooManyRowsError} when it could never fit), so memory never grows with load. It is also bounded in
 * time: the batcher measures how fast the queue drains while rows wait (milliseconds per row, a moving
 * average over forwards run with a backlog), and a request whose rows would wait longer than `maxWaitMs`
 * behind a non-empty queue is refused at once ({@link OverloadedError}) rather than admitted to miss its deadline.
 * Each request also has a deadline; a request still queued at its deadline is dropped ({@link DeadlineError}:
 * only when the drain slowed down after it was admitted). The batcher knows nothing of HTTP: the server maps
 * these errors to statuses and advice.
 */

/** The queue has no room for a request's rows now (it may have later). */
export class QueueFullError extends Error {
  constructor(
    /** Rows waiting when the request came. */
    readonly queuedRows: number,
    readonly maxQueue: number,
  ) {
    super(`${queuedRows} rows are queued and the queue holds ${maxQueue}`);
    this.name = 'QueueFullError';
  }
}

/** A request needs more rows than the whole queue holds: it can never be queued. */
export class TooManyRowsError extends Error {
  constructor(
    readonly rows: number,
    readonly maxQueue: number,
  ) {
    super(`the request needs ${rows} forward rows and the queue holds at most ${maxQueue}`);
    this.name = 'TooManyRowsError';
  }
}

/** The rows queued now would take longer to drain than a request may wait: it is refused rather than answered late. */
export class OverloadedError extends Error {
  constructor(
    /** How long the queue ahead (and the request's own rows) should take, in milliseconds. */
    readonly expectedMs: number,
    readonly maxWaitMs: number,
  ) {
    super(`the queue ahead would take about ${Math.round(expectedMs)} ms and a request may wait ${maxWaitMs} ms`);
    this.name = 'OverloadedError';
  }
}

/** A request's rows were not all computed by its deadline. */
export class DeadlineError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`the prediction did not finish within ${timeoutMs} ms`);
    this.name = 'DeadlineError';
  }
}

/** What a batch runs on: each queued job names its model, and a forward only mixes jobs of one model. */
export interface Forward {
  readonly maxlen: number;
  /** Probabilities a row gives: 1 for a binary model, k for k classes. */
  readonly perRow: number;
  /**
   * The probabilities of `rows` rows: at once, or a promise when the forward runs off the event loop (the
   * batcher then starts no other forward until it settles).
   */
  forward(ids: Int32Array, rows: number): Float32Array | Promise<Float32Array>;
}

/** Options of a {@link MicroBatcher}. */
export interface BatcherOptions {
  /** Most rows in one forward. */
  batchSize: number;
  /** How long the first queued row waits for others (milliseconds; 0: the next turn of the event loop). */
  windowMs: number;
  /** Most rows waiting. */
  maxQueue: number;
  /** Longest a request's rows may be expected to wait behind the queue to be admitted (milliseconds; Infinity: no bound). */
  maxWaitMs: number;
}

/** Weight of the newest forward in the drain-rate average (about the last 10 forwards count). */
const DRAIN_EWMA = 0.2;

/** What the batcher reports after each forward (for metrics). */
export interface BatchReport {
  rows: number;
  seconds: number;
}

interface Job {
  model: Forward;
  ids: Int32Array;
  rows: number;
  /** Rows handed to a forward so far. */
  taken: number;
  /** Rows with results so far. */
  done: number;
  out: Float32Array;
  resolve: (p: Float32Array) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  settled: boolean;
  /** When it was queued (performance.now()). */
  at: number;
}

export class MicroBatcher {
  private readonly queue: Job[] = [];
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;
  private scheduled = false;
  /** A forward off the event loop is running: the next one waits for it, and the batcher is not idle. */
  private inFlight = false;
  private idleWaiters: (() => void)[] = [];
  /** Milliseconds per row while rows were waiting (a moving average); undefined until a forward ran with a backlog. */
  private msPerRow: number | undefined;
  /** When the last forward ended, and whether rows were still waiting then. */
  private lastEnd = 0;
  private backlog = false;

  constructor(
    private readonly o: BatcherOptions,
    private readonly onBatch: (r: BatchReport) => void = () => {},
  ) {}

  /** Rows waiting for a forward. */
  get queuedRows(): number {
    return this.queued;
  }

  /** How long `rows` more rows are expected to wait for their results (milliseconds; 0 before any backlog was measured). */
  expectedWaitMs(rows: number): number {
    return (this.queued + rows) * (this.msPerRow ?? 0);
  }

  /**
   * Why a request of `rows` rows would be refused now ({@link TooManyRowsError}, {@link QueueFullError},
   * {@link OverloadedError}), or undefined when it would be admitted. The server asks with one row before it
   * reads a request's body, so that refusing costs next to nothing under overload.
   */
  refusal(rows: number): Error | undefined {
    if (rows > this.o.maxQueue) return new TooManyRowsError(rows, this.o.maxQueue);
    if (this.queued + rows > this.o.maxQueue) return new QueueFullError(this.queued, this.o.maxQueue);
    // On an empty queue a request waits for its own forward only: it is never refused for time (and so
    // admission resumes as soon as an overload's queue has drained, whatever the last measured rate).
    const expected = this.expectedWaitMs(rows);
    if (this.queued > 0 && expected > this.o.maxWaitMs) return new OverloadedError(expected, this.o.maxWaitMs);
    return undefined;
  }

  /**
   * Probabilities of `rows` rows of `ids` on `model`; rejects at once with {@link refusal}'s error when the
   * rows are not admitted, with {@link DeadlineError} when the result is not ready within `timeoutMs` of the
   * request's start (`elapsedMs` before this submit), and with the forward's own error when it throws.
   */
  submit(model: Forward, ids: Int32Array, rows: number, timeoutMs: number, elapsedMs = 0): Promise<Float32Array> {
    if (rows === 0) return Promise.resolve(new Float32Array(0));
    const refused = this.refusal(rows);
    if (refused) return Promise.reject(refused);
    return new Promise((resolve, reject) => {
      const job: Job = {
        model,
        ids,
        rows,
        taken: 0,
        done: 0,
        out: new Float32Array(rows * model.perRow),
        resolve,
        reject,
        settled: false,
        at: performance.now(),
        timer: setTimeout(() => this.settle(job, new DeadlineError(timeoutMs)), Math.max(1, timeoutMs - elapsedMs)),
      };
      this.queue.push(job);
      this.queued += rows;
      this.schedule();
    });
  }

  /** Nothing queued and no forward running. */
  private get isIdle(): boolean {
    return this.queue.length === 0 && !this.inFlight;
  }

  /** Resolves when nothing is queued and no forward runs (graceful shutdown). */
  idle(): Promise<void> {
    if (this.isIdle) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Runs a forward on the next turn of the event loop when a batch is full or the oldest row has waited its window, else when it will have. */
  private schedule(): void {
    if (this.scheduled || this.inFlight || this.queue.length === 0) return;
    const waited = performance.now() - this.queue[0]!.at;
    if (this.queued >= this.o.batchSize || waited >= this.o.windowMs) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.scheduled = true;
      setImmediate(() => this.forwardHead());
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.scheduled = true;
        this.forwardHead();
      }, this.o.windowMs - waited);
    }
  }

  /** One forward over the rows at the head of the queue that share the head's model. */
  private forwardHead(): void {
    this.scheduled = false;
    const head = this.queue[0];
    if (!head) return this.notifyIdle();
    const model = head.model;
    const maxlen = model.maxlen;
    const parts: { job: Job; from: number; rows: number }[] = [];
    let rows = 0;
    for (const job of this.queue) {
      if (rows >= this.o.batchSize) break;
      if (job.model !== model) continue;
      const take = Math.min(job.rows - job.taken, this.o.batchSize - rows);
      parts.push({ job, from: job.taken, rows: take });
      job.taken += take;
      rows += take;
    }
    this.removeTaken();
    const ids = new Int32Array(rows * maxlen);
    let at = 0;
    for (const p of parts) {
      ids.set(p.job.ids.subarray(p.from * maxlen, (p.from + p.rows) * maxlen), at * maxlen);
      at += p.rows;
    }
    const t0 = performance.now();
    const fail = (e: unknown): void => parts.forEach((p) => this.settle(p.job, e as Error));
    let out: Float32Array | Promise<Float32Array>;
    try {
      out = model.forward(ids, rows);
    } catch (e) {
      fail(e);
      return this.next();
    }
    if (!(out instanceof Promise)) {
      this.finish(parts, rows, model.perRow, t0, out);
      return this.next();
    }
    this.inFlight = true;
    out
      .then((probs) => this.finish(parts, rows, model.perRow, t0, probs))
      .catch(fail)
      .finally(() => {
        this.inFlight = false;
        this.next();
      });
  }

  /** Hands a forward's probabilities to its jobs, settling those it completes. */
  private finish(parts: { job: Job; from: number; rows: number }[], rows: number, k: number, t0: number, probs: Float32Array): void {
    const end = performance.now();
    this.onBatch({ rows, seconds: (end - t0) / 1000 });
    this.measureDrain(rows, end);
    let at = 0;
    for (const p of parts) {
      p.job.out.set(probs.subarray(at * k, (at + p.rows) * k), p.from * k);
      p.job.done += p.rows;
      at += p.rows;
      if (p.job.done === p.job.rows) this.settle(p.job);
    }
  }

  /**
   * The drain rate: when rows were already waiting as the last forward ended, the time from then to the end of
   * this one (the forward, the window, and the event loop's other work in between) over its rows.
   */
  private measureDrain(rows: number, end: number): void {
    if (this.backlog) {
      const sample = (end - this.lastEnd) / rows;
      this.msPerRow = this.msPerRow === undefined ? sample : this.msPerRow + DRAIN_EWMA * (sample - this.msPerRow);
    }
    this.lastEnd = end;
    this.backlog = this.queued > 0;
  }

  private next(): void {
    if (this.isIdle) this.notifyIdle();
    else this.schedule();
  }

  /** Jobs whose rows are all handed to forwards leave the queue (their results come from those forwards). */
  private removeTaken(): void {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const job = this.queue[i]!;
      if (job.taken === job.rows) this.queue.splice(i, 1);
    }
    this.queued = this.queue.reduce((s, j) => s + j.rows - j.taken, 0);
  }

  private settle(job: Job, error?: Error): void {
    if (job.settled) return;
    job.settled = true;
    clearTimeout(job.timer);
    const i = this.queue.indexOf(job);
    if (i >= 0) {
      this.queue.splice(i, 1);
      this.queued -= job.rows - job.taken;
    }
    if (error) job.reject(error);
    else job.resolve(job.out);
    if (this.isIdle) this.notifyIdle();
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    waiters.forEach((w) => w());
  }
}
