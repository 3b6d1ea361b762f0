/**
 * The parts every plugin and route shares, decorated onto the app (typed below by declaration merging): the
 * options, the model host (hot reload), the micro-batcher and the metrics. Wrapped with fastify-plugin, so
 * the decorations belong to the app itself and every plugin registered after this one sees them.
 */
import fp from 'fastify-plugin';
import { MicroBatcher } from '../batcher.js';
import { ModelHost, type HostEvent } from '../host.js';
import { ServeMetrics } from '../metrics.js';
import type { ServeOptions } from '../options.js';
import type { ServedModel } from '../served-model.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** What `rnn serve` was started with. */
    serveOptions: ServeOptions;
    /** The model answering now, and its reloads. */
    modelHost: ModelHost;
    /** Coalesces the forward rows of concurrent requests. */
    batcher: MicroBatcher;
    /** The Prometheus metrics of this server. */
    metrics: ServeMetrics;
  }
}

/** Options of {@link core}. */
export interface CoreOptions {
  options: ServeOptions;
  /** The model directory now (`models/latest` is re-resolved at each check). */
  resolveDir: () => Promise<string>;
  /** Loads and warms up a model directory. */
  load: (dir: string) => Promise<ServedModel>;
}

/**
 * A request is admitted when it is expected to take at most half of its --timeout (the forward running and
 * the forwards ahead of it and its own): the other half is the margin for the estimate (a forward's time is
 * a smoothed measure and the load changes) and for the time the request spends outside the queue (read,
 * encoded, answered).
 */
export function admissionWaitMs(timeoutMs: number): number {
  return timeoutMs / 2;
}

export const core = fp<CoreOptions>(
  async (app, { options, resolveDir, load }) => {
    const batcher = new MicroBatcher(
      {
        batchSize: options.batchSize,
        windowMs: options.batchWindowMs,
        maxQueue: options.maxQueue,
        maxWaitMs: admissionWaitMs(options.timeoutMs),
      },
      (r) => {
        metrics.batchRows.observe(r.rows);
        metrics.batchSeconds.observe(r.seconds);
      },
    );
    const metrics = new ServeMetrics(() => batcher.queuedRows, options.batchSize);
    const report = (e: HostEvent): void => {
      metrics.modelLoads.inc({ result: e.event === 'model-loaded' ? 'ok' : 'failed' });
      const fields = { ...e, seconds: Number(e.seconds.toFixed(3)) };
      if (e.event === 'model-loaded') {
        metrics.modelLoadSeconds.set(e.seconds);
        app.log.info(fields, e.replaced ? 'model reloaded' : 'model loaded');
      } else {
        app.log.error(fields, e.stillServing ? 'reload failed; the old model keeps serving' : 'model load failed');
      }
    };
    app
      .decorate('serveOptions', options)
      .decorate('modelHost', new ModelHost({ resolveDir, load, report }))
      .decorate('batcher', batcher)
      .decorate('metrics', metrics);
  },
  { name: 'rnn-core' },
);
