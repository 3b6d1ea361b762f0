/**
 * Micro-batching: the forward rows of concurrent requests are coalesced into one forward pass, up to a
 * batch size, or when the first row has waited a short window. Forwards run one at a time (on the event loop,
 * or off it when the model's forward returns a promise); requests that arrive during one are queued and go
 * together into the next. A row's result does not depend on its neighbours: each row of a forward is computed
 * on its own.
 *
 * Admission. The queue is bounded in rows: a request that does not fit is refused at once (queue full, or too
 * many rows when it could never fit), so memory never grows with load. It is also bounded in time: a request
 * is refused at once (overloaded) when the time it is expected to take exceeds `maxWaitMs`, rather than
 * admitted to miss its deadline. That time counts whole forwards, since a row's result comes when its
 * forward ends: what is left of the forward running, then one forward per batch of the rows queued ahead of
 * it and its own, each as long as a full forward is expected to take while the queue drains (the time from
 * one forward's end to the next's, over full forwards run with a backlog: the forward and the event loop's
 * other work in between; smoothed with its deviation as TCP smooths round trips; a partial forward is not
 * scaled up, since its fixed costs would inflate the estimate and shrink the next batches further), and at
 * least as long as the forward running has taken so far. Rows that fit in the next forward are always
 * admitted, so the forward time keeps being measured and admission resumes as soon as an overload has drained,
 * and so is a request on an empty queue, whatever its size (--max-queue bounds that).
 * {@link MicroBatcher.refusal} says why as a value (refusing thousands of requests a second costs no Error and
 * no stack trace); {@link RefusedError} carries it when a submit is refused. Each request also has a deadline:
 * one whose rows are not done by then is dropped ({@link DeadlineError}: only when the drain slowed down
 * after it was admitted). The batcher knows nothing of HTTP: the server maps refusals and errors to statuses
 * and advice.
 */

/** Why a request is not admitted now. */
export type Refusal =
  /** The queue has no room for its rows now (it may have later). */
  | { readonly kind: 'queue-full'; readonly queuedRows: number; readonly maxQueue: number }
  /** It needs more rows than the whole queue holds: it can never be queued. */
  | { readonly kind: 'too-many-rows'; readonly rows: number; readonly maxQueue: number }
  /** It would take longer than a request may wait (`expectedMs`: how long it is expected to take). */
  | { readonly kind: 'overloaded'; readonly expectedMs: number; readonly maxWaitMs: number };

/** What a refusal says, in words. */
function refusalMessage(r: Refusal): string {
  switch (r.kind) {
    case 'queue-full':
      return `${r.queuedRows} rows are queued and the queue holds ${r.maxQueue}`;
    case 'too-many-rows':
      return `the request needs ${r.rows} forward rows and the queue holds at most ${r.maxQueue}`;
    case 'overloaded':
      return `the request would take about ${Math.round(r.expectedMs)} ms and one may wait ${r.maxWaitMs} ms`;
  }
}

/** A submit the batcher refused; `refusal` says why. */
export class RefusedError extends Error {
  constructor(readonly refusal: Refusal) {
    super(refusalMessage(refusal));
    this.name = 'RefusedError';
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
  /** Its forwards return promises (they run off the event loop). */
  readonly offLoop?: boolean;
  /** How long a full forward took when the model was loaded, on an idle server (ms): the first estimate, until one is measured here. */
  readonly forwardMs?: number;
}

/** Options of a {@link MicroBatcher}. */
export interface BatcherOptions {
  /** Most rows in one forward. */
  batchSize: number;
  /** How long the first queued row waits for others (milliseconds; 0: the next turn of the event loop). */
  windowMs: number;
  /** Most rows waiting. */
  maxQueue: number;
  /** Longest a request may be expected to take to be admitted (milliseconds; Infinity: no bound). */
  maxWaitMs: number;
}

/** A first measure of a forward's time here, as RFC 6298 takes a first round trip: mean m, deviation m/2. */
function firstMeasure(ms: number): { mean: number; deviation: number } {
  return { mean: ms, deviation: ms / 2 };
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
  /** A forward off the event loop is running: the next one waits for it, and the batcher is not idle. */
  private inFlight = false;
  private idleWaiters: (() => void)[] = [];
  /**
   * How long a full forward takes while the queue drains (ms): a smoothed mean and mean deviation of the
   * measured ones, as TCP smooths round-trip times (RFC 6298); undefined until one ran with a backlog.
   */
  private forwardTime: { mean: number; deviation: number } | undefined;
  /** When the forward running began (performance.now()). */
  private forwardStart = 0;
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

  /**
   * How long a request of `rows` rows is expected to take now (milliseconds): what is left of the forward
   * running, then one forward per batch of the rows queued and its own.
   */
  expectedWaitMs(rows: number): number {
    // The forward running has taken `elapsed` so far: a forward takes at least that long now. This is what
    // the estimate knows first when the load jumps (the first forwards of an overload run longer than the
    // ones measured before it, and every request read meanwhile asks).
    const elapsed = this.inFlight ? performance.now() - this.forwardStart : 0;
    const forwardMs = Math.max(this.expectedForwardMs, elapsed);
    const running = this.inFlight ? forwardMs - elapsed : 0;
    const forwards = Math.ceil((this.queued + rows) / this.o.batchSize);
    return running + forwards * forwardMs;
  }

  /**
   * Why a request of `rows` rows would be refused now, or undefined when it would be admitted. The server asks
   * with one row before it reads a request's body, so that refusing costs next to nothing under overload.
   */
  refusal(rows: number): Refusal | undefined {
    if (rows > this.o.maxQueue) return { kind: 'too-many-rows', rows, maxQueue: this.o.maxQueue };
    if (this.queued + rows > this.o.maxQueue) return { kind: 'queue-full', queuedRows: this.queued, maxQueue: this.o.maxQueue };
    // Never refused for time: rows that fit in the next forward (they wait for the forward running and their
    // own at most, and the next forward is full, so the forward time is measured anew whatever it was: admission
    // never stalls on an estimate that is out of date), and a request on an empty queue (it waits for its own
    // forwards only: refusing it would refuse it however often it came; --max-queue bounds its size).
    if (this.queued === 0 || this.queued + rows <= this.o.batchSize) return undefined;
    const expectedMs = this.expectedWaitMs(rows);
    if (expectedMs > this.o.maxWaitMs) return { kind: 'overloaded', expectedMs, maxWaitMs: this.o.maxWaitMs };
    return undefined;
  }

  /**
   * Probabilities of `rows` rows of `ids` on `model`; rejects at once with a {@link RefusedError} when the rows
   * are not admitted, with {@link DeadlineError} when the result is not ready within `timeoutMs` of the
   * request's start (`elapsedMs` before this submit), and with the forward's own error when it throws.
   */
  submit(model: Forward, ids: Int32Array, rows: number, timeoutMs: number, elapsedMs = 0): Promise<Float32Array> {
    if (rows === 0) return Promise.resolve(new Float32Array(0));
    const refused = this.refusal(rows);
    if (refused) return Promise.reject(new RefusedError(refused));
    // The model's own measure of a full forward (the next ones here smooth it away). It was taken on an idle
    // server, not under the load a queue means, so its deviation is taken as large as itself (RFC 6298 takes
    // half of a first measure): a forward is expected to take five times it until one is measured here.
    if (this.forwardTime === undefined && model.forwardMs !== undefined)
      this.forwardTime = { mean: model.forwardMs, deviation: model.forwardMs };
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
      this.schedule('submit');
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

  /**
   * Runs a forward when a batch is full or the oldest row has waited its window, else when it will have. A
   * forward that runs off the event loop starts at once when it is due (after a submit with a window of 0,
   * on the next turn, so that the requests read in the same turn join it): under load a turn of the event
   * loop is the longest wait there is (it reads and answers every request that came meanwhile, hundreds of
   * milliseconds under overload). One on the loop starts on the next turn, so that the loop reads requests
   * between forwards.
   */
  private schedule(after: 'submit' | 'forward on the loop' | 'forward off the loop'): void {
    if (this.scheduled || this.inFlight || this.queue.length === 0) return;
    const waited = performance.now() - this.queue[0]!.at;
    const full = this.queued >= this.o.batchSize;
    if (full || waited >= this.o.windowMs) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.scheduled = true;
      const offLoop = this.queue[0]!.model.offLoop === true;
      const now = offLoop && (after === 'forward off the loop' || (after === 'submit' && (full || this.o.windowMs > 0)));
      if (now) this.forwardHead();
      else setImmediate(() => this.forwardHead());
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
    this.forwardStart = t0;
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
        this.next(true);
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
   * What a full forward is expected to take (ms): its smoothed time plus four mean deviations, as TCP's
   * retransmission timeout is (RFC 6298). Under overload a forward's time varies threefold from one to the
   * next (how long its end waits for the event loop varies), so a mean alone admits requests that then miss
   * their deadline. Its first value is the model's own (a full forward at load, five times it: see submit)
   * or the first full forward with a backlog (three times it, as RFC 6298 takes a first round trip); before
   * either, half of `maxWaitMs`.
   */
  private get expectedForwardMs(): number {
    const t = this.forwardTime;
    return t ? t.mean + 4 * t.deviation : this.o.maxWaitMs / 2;
  }

  /**
   * A full forward's time: when rows were already waiting as the last forward ended and this one was full,
   * the time from then to its end (the forward, and the event loop's other work in between).
   */
  private measureDrain(rows: number, end: number): void {
    if (this.backlog && rows === this.o.batchSize) {
      const sample = end - this.lastEnd;
      const t = this.forwardTime;
      this.forwardTime = t
        ? { deviation: 0.75 * t.deviation + 0.25 * Math.abs(t.mean - sample), mean: 0.875 * t.mean + 0.125 * sample }
        : firstMeasure(sample);
    }
    this.lastEnd = end;
    this.backlog = this.queued > 0;
  }

  /** After a forward: `offLoop` when it ran off the event loop. */
  private next(offLoop = false): void {
    if (this.isIdle) this.notifyIdle();
    else this.schedule(offLoop ? 'forward off the loop' : 'forward on the loop');
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
