/**
 * Micro-batching: the forward rows of concurrent requests are coalesced into one forward pass, up to a
 * batch size, or when the first row has waited a short window. Forwards run one at a time on the event
 * loop (they are synchronous); requests that arrive during one are queued and go together into the next.
 * A row's result does not depend on its neighbours: each row of a forward is computed on its own.
 *
 * The queue is bounded in rows: a request that does not fit is refused at once ({@link QueueFullError}, or
 * {@link TooManyRowsError} when it could never fit), so memory never grows with load. Each request also has a
 * deadline; a request still queued at its deadline is dropped ({@link DeadlineError}). The batcher knows
 * nothing of HTTP: the server maps these errors to statuses and advice.
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
  forward(ids: Int32Array, rows: number): Float32Array;
}

/** Options of a {@link MicroBatcher}. */
export interface BatcherOptions {
  /** Most rows in one forward. */
  batchSize: number;
  /** How long the first queued row waits for others (milliseconds; 0: the next turn of the event loop). */
  windowMs: number;
  /** Most rows waiting. */
  maxQueue: number;
}

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
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly o: BatcherOptions,
    private readonly onBatch: (r: BatchReport) => void = () => {},
  ) {}

  /** Rows waiting for a forward. */
  get queuedRows(): number {
    return this.queued;
  }

  /**
   * Probabilities of `rows` rows of `ids` on `model`; rejects with {@link TooManyRowsError} or
   * {@link QueueFullError} when the rows do not fit in the queue, with {@link DeadlineError} when the result is
   * not ready within `timeoutMs`, and with the forward's own error when it throws.
   */
  submit(model: Forward, ids: Int32Array, rows: number, timeoutMs: number): Promise<Float32Array> {
    if (rows === 0) return Promise.resolve(new Float32Array(0));
    if (rows > this.o.maxQueue) return Promise.reject(new TooManyRowsError(rows, this.o.maxQueue));
    if (this.queued + rows > this.o.maxQueue) return Promise.reject(new QueueFullError(this.queued, this.o.maxQueue));
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
        timer: setTimeout(() => this.settle(job, new DeadlineError(timeoutMs)), timeoutMs),
      };
      this.queue.push(job);
      this.queued += rows;
      this.schedule();
    });
  }

  /** Resolves when nothing is queued (graceful shutdown). */
  idle(): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Runs a forward on the next turn of the event loop when a batch is full or the oldest row has waited its window, else when it will have. */
  private schedule(): void {
    if (this.scheduled || this.queue.length === 0) return;
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
    let probs: Float32Array;
    try {
      probs = model.forward(ids, rows);
    } catch (e) {
      for (const p of parts) this.settle(p.job, e as Error);
      return this.next();
    }
    this.onBatch({ rows, seconds: (performance.now() - t0) / 1000 });
    at = 0;
    const k = model.perRow;
    for (const p of parts) {
      p.job.out.set(probs.subarray(at * k, (at + p.rows) * k), p.from * k);
      p.job.done += p.rows;
      at += p.rows;
      if (p.job.done === p.job.rows) this.settle(p.job);
    }
    this.next();
  }

  private next(): void {
    if (this.queue.length === 0) this.notifyIdle();
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
    if (this.queue.length === 0) this.notifyIdle();
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    waiters.forEach((w) => w());
  }
}
