/**
 * The HTTP API as fastify plugins, each owning one concern; this file only composes them.
 *
 *   POST /v1/predict  {"texts": ["…"], "explain": false} → {"predictions": [...], "model": {...}}
 *   GET  /v1/model    the model's metadata, its last evaluation, and the last failed reload
 *   GET  /healthz     the process is alive
 *   GET  /readyz      a model is loaded and warmed up (503 before, and while shutting down)
 *   GET  /metrics     Prometheus text format
 *   GET  /            the page of `rnn export --web`, with --web
 *
 * Order matters where hooks do: the shared parts first (decorations), then the drain (its onRequest refuses
 * new requests before anything else runs), the route index (its onRoute hook must see every route), and the
 * routes last.
 */
import Fastify, { LogController } from 'fastify';
import cors from '@fastify/cors';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { invalidRequest } from './errors.js';
import type { ServeOptions } from './options.js';
import { core, type CoreOptions } from './plugins/core.js';
import { drain } from './plugins/drain.js';
import { errorAnswers } from './plugins/error-answers.js';
import { jsonBody } from './plugins/json-body.js';
import { requestLog } from './plugins/request-log.js';
import { routeIndex } from './plugins/route-index.js';
import { webPage } from './plugins/web-page.js';
import { metricsRoute } from './routes/metrics.js';
import { probes } from './routes/probes.js';
import { v1 } from './routes/v1.js';

/** Where the model comes from and where the log goes. */
export interface AppSources extends Omit<CoreOptions, 'options'> {
  /** Where the request log goes (stderr in the CLI). */
  logStream: NodeJS.WritableStream;
}

export function buildApp(options: ServeOptions, sources: AppSources) {
  const app = Fastify({
    logger: { level: options.logLevel, stream: sources.logStream },
    // One line per request, written by the request-log plugin (fastify's own are two, without the texts).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimit,
    // The drain plugin answers requests that arrive while closing (fastify's own answer has no code).
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    schemaErrorFormatter: invalidRequest,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.register(core, { options, resolveDir: sources.resolveDir, load: sources.load });
  app.register(drain);
  app.register(routeIndex);
  app.register(errorAnswers);
  app.register(jsonBody);
  app.register(requestLog);
  if (options.cors)
    app.register(cors, { origin: options.cors, methods: ['GET', 'HEAD', 'POST'], allowedHeaders: ['content-type', 'authorization'] });
  app.register(v1, { prefix: '/v1' });
  app.register(probes);
  app.register(metricsRoute);
  if (options.web) app.register(webPage, { root: options.web });
  return app;
}

/** The app {@link buildApp} composes. */
export type ServeApp = ReturnType<typeof buildApp>;
