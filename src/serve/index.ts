/**
 * `rnn serve`'s core: a saved model behind an HTTP API ({@link buildApp}), micro-batched
 * ({@link MicroBatcher}), hot-reloaded ({@link ModelHost}) and measured ({@link ServeMetrics}). It listens
 * first (so /healthz answers and /readyz says 503), then loads and warms up the model. It never reads
 * argv or the environment and prints nothing: its log goes to the stream it is given. `app.close()` is the
 * only way down; the drain plugin orders it.
 */
import type { Runtime } from '../backend/index.js';
import { UserError } from '../errors.js';
import { buildApp } from './app.js';
import type { ReloadResult } from './host.js';
import type { ServeOptions } from './options.js';
import { ServedModel } from './served-model.js';

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
  const app = buildApp(options, {
    resolveDir: sources.resolveDir,
    load: (dir) => ServedModel.load(runtime, dir, options.batchSize, options.layers),
    logStream: sources.logStream,
  });
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (e) {
    await app.close();
    throw listenError(e, options);
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : options.port;
  const shownHost = options.host.includes(':') ? `[${options.host}]` : options.host;
  const host = app.modelHost;

  const ready = (async () => {
    const first = await host.reload('start');
    if (!first.ok) {
      await app.close();
      throw first.cause;
    }
    host.watch(options.watchMs);
    return first.model;
  })();
  ready.catch(() => undefined); // the caller awaits it; an unobserved rejection must not end the process

  return { url: `http://${shownHost}:${port}`, port, ready, reload: (reason) => host.reload(reason), close: () => app.close() };
}

/** Why listening failed, as the user can fix it (other errors as they are). */
function listenError(e: unknown, options: ServeOptions): unknown {
  const code = (e as { code?: string }).code;
  const where = `${options.host}:${options.port}`;
  if (code === 'EADDRINUSE')
    return new UserError('SERVE_PORT_IN_USE', `${where} is already in use`, 'Stop the program listening there, or pass another --port');
  if (code === 'EACCES') return new UserError('SERVE_PORT_DENIED', `no permission to listen on ${where}`, 'Pass a --port above 1023');
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
    return new UserError(
      'SERVE_HOST_INVALID',
      `${options.host} is not an address of this machine`,
      'Pass --host 127.0.0.1, 0.0.0.0 or an address of one of its interfaces',
    );
  return e;
}
