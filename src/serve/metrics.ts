/**
 * The server's Prometheus metrics (prom-client), in a registry of its own per server (no global state):
 * requests by route and status, request latency, forward batch sizes and times, queue depth, reviews
 * predicted (a counter, and a gauge of reviews/s over the last 10 s), model loads, and prom-client's
 * process metrics (resident memory, CPU, event-loop lag).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { batchBuckets } from './served-model.js';

/** Seconds over which the reviews/s gauge averages. */
const RATE_WINDOW_SECONDS = 10;

export class ServeMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'route' | 'method' | 'status'>;
  readonly latency: Histogram<'route'>;
  readonly batchRows: Histogram;
  readonly batchSeconds: Histogram;
  readonly reviews: Counter;
  readonly modelLoadSeconds: Gauge;
  readonly modelLoads: Counter<'result'>;
  private readonly recent: { at: number; n: number }[] = [];

  constructor(queueDepth: () => number, batchSize: number) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'rnn_serve_' });
    this.requests = new Counter({
      name: 'rnn_serve_requests_total',
      help: 'HTTP requests answered, by route, method and status',
      labelNames: ['route', 'method', 'status'],
      registers,
    });
    this.latency = new Histogram({
      name: 'rnn_serve_request_duration_seconds',
      help: 'Time from request to response, by route',
      labelNames: ['route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.batchRows = new Histogram({
      name: 'rnn_serve_batch_rows',
      help: 'Rows (reviews, or rows of an explanation) per forward pass',
      buckets: batchBuckets(batchSize), // the batch sizes forwards run at
      registers,
    });
    this.batchSeconds = new Histogram({
      name: 'rnn_serve_batch_duration_seconds',
      help: 'Time of one forward pass',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    new Gauge({
      name: 'rnn_serve_queue_rows',
      help: 'Rows waiting for a forward pass',
      registers,
      collect() {
        this.set(queueDepth());
      },
    });
    this.reviews = new Counter({ name: 'rnn_serve_reviews_total', help: 'Reviews predicted', registers });
    const recent = this.recent;
    new Gauge({
      name: 'rnn_serve_reviews_per_second',
      help: `Reviews predicted per second over the last ${RATE_WINDOW_SECONDS} s`,
      registers,
      collect() {
        const now = Date.now();
        while (recent.length && recent[0]!.at < now - RATE_WINDOW_SECONDS * 1000) recent.shift();
        this.set(recent.reduce((s, r) => s + r.n, 0) / RATE_WINDOW_SECONDS);
      },
    });
    this.modelLoadSeconds = new Gauge({
      name: 'rnn_serve_model_load_seconds',
      help: 'Seconds the last model load and warm-up took',
      registers,
    });
    this.modelLoads = new Counter({
      name: 'rnn_serve_model_loads_total',
      help: 'Model loads (start and hot reloads), by result',
      labelNames: ['result'],
      registers,
    });
  }

  /** `n` reviews were predicted now. */
  predicted(n: number): void {
    this.reviews.inc(n);
    const now = Date.now();
    const last = this.recent[this.recent.length - 1];
    if (last && now - last.at < 100) last.n += n;
    else this.recent.push({ at: now, n });
    while (this.recent.length > RATE_WINDOW_SECONDS * 10 + 10) this.recent.shift();
  }
}
