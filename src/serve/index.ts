/**
 * `rnn serve`'s core: a saved model behind an HTTP API ({@link buildApp}), micro-batched
 * ({@link MicroBatcher}), hot-reloaded ({@link ModelHost}) and measured ({@link ServeMetrics}). It listens
 * first (so /healthz answers and /readyz says 503), then loads and warms up the model. It never reads
 * argv or the environment and prints nothing: its log goes to the stream it is given.
 */
import type { Runtime } from '../backend/index.js';
import * as path from 'node:path';
import { UserError } from '../errors.js';
import { exists } from '../util/fs.js';
import { MicroBatcher } from './batcher.js';
import { ServedModel } from './served-model.js';
import { ModelHost, type ReloadResult } from './host.js';
import { ServeMetrics } from './metrics.js';
import { buildApp } from './app.js';
import type { ServeOptions } from './options.js';

export { SERVE_DEFAULTS, LOG_LEVELS, type ServeOptions, type LogLevel } from './options.js';
export type { ReloadResult } from './host.js';
export type { ServedModel } from './served-model.js';

/** Where the model comes from and where the log goes. */
export interface ServeSources {
  /** The model directory now (`models/latest` is re-resolved at each check). */
  resolveDir: () => Promise<string>;
  /** The request log: one JSON line per request (pino). */
  logStream: NodeJS.WritableStream;
}

/** A listening server. */
export interface RunningServer {
  /** `http://host:port`. */
  url: string;
  port: number;
  /** The first load: resolves with the model, or rejects with its error (then the server is closed). */
  ready: Promise<ServedModel>;
  /** Loads the model directory as it is now and swaps it in (SIGHUP). */
  reload(reason: string): Promise<ReloadResult>;
  /** Stops accepting requests, answers those in flight, frees the model. */
  close(): Promise<void>;
}

export async function startServer(runtime: Runtime, options: ServeOptions, sources: ServeSources): Promise<RunningServer> {
  if (options.web && !(await exists(path.join(options.web, 'index.html')))) {
    throw new UserError(
      'SERVE_WEB_INVALID',
      `${path.resolve(options.web)} is not a web export (no index.html)`,
      'Create one with `rnn export --web DIR`, then pass that DIR',
    );
  }
  let closing = false;
  const batcher = new MicroBatcher({ batchSize: options.batchSize, windowMs: options.batchWindowMs, maxQueue: options.maxQueue }, (r) => {
    metrics.batchRows.observe(r.rows);
    metrics.batchSeconds.observe(r.seconds);
  });
  const metrics = new ServeMetrics(() => batcher.queuedRows, options.batchSize);
  const host = new ModelHost({
    resolveDir: sources.resolveDir,
    load: (dir) => ServedModel.load(runtime, dir, options.batchSize, options.layers),
    // Runs at the first load, after the app (and its logger) exists.
    report: (e) => {
      metrics.modelLoads.inc({ result: e.event === 'model-loaded' ? 'ok' : 'failed' });
      const fields = { ...e, seconds: Number(e.seconds.toFixed(3)) };
      if (e.event === 'model-loaded') {
        metrics.modelLoadSeconds.set(e.seconds);
        app.log.info(fields, e.replaced ? 'model reloaded' : 'model loaded');
      } else {
        app.log.error(fields, e.stillServing ? 'reload failed; the old model keeps serving' : 'model load failed');
      }
    },
  });
  const app = await buildApp({ options, host, batcher, metrics, logStream: sources.logStream, closing: () => closing });
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (e) {
    await app.close();
    const code = (e as { code?: string }).code;
    const where = `${options.host}:${options.port}`;
    if (code === 'EADDRINUSE')
      throw new UserError('SERVE_PORT_IN_USE', `${where} is already in use`, 'Stop the program listening there, or pass another --port');
    if (code === 'EACCES') throw new UserError('SERVE_PORT_DENIED', `no permission to listen on ${where}`, 'Pass a --port above 1023');
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
      throw new UserError(
        'SERVE_HOST_INVALID',
        `${options.host} is not an address of this machine`,
        'Pass --host 127.0.0.1, 0.0.0.0 or an address of one of its interfaces',
      );
    throw e;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : options.port;
  const shownHost = options.host.includes(':') ? `[${options.host}]` : options.host;

  const close = async (): Promise<void> => {
    if (closing) return;
    closing = true;
    await host.close();
    await app.close();
    await batcher.idle();
  };

  const ready = (async () => {
    const first = await host.reload('start');
    if (!first.ok) {
      await close();
      throw first.cause;
    }
    host.watch(options.watchMs);
    return first.model;
  })();
  ready.catch(() => undefined); // the caller awaits it; an unobserved rejection must not end the process

  return { url: `http://${shownHost}:${port}`, port, ready, reload: (reason) => host.reload(reason), close };
}
