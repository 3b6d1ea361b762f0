/**
 * The HTTP API on fastify: schema-validated routes, one JSON error shape, bearer-token authentication,
 * optional CORS, one log line per request, and the metrics of every answer.
 *
 *   POST /v1/predict  {"texts": ["…"], "explain": false} → {"predictions": [...], "model": {...}}
 *   GET  /v1/model    the model's metadata, its last evaluation, and the last failed reload
 *   GET  /healthz     the process is alive
 *   GET  /readyz      a model is loaded and warmed up (503 before, and while shutting down)
 *   GET  /metrics     Prometheus text format
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import cors from '@fastify/cors';
import fastifyStatic from '@fastify/static';
import { encodeTexts, predictionsOf } from '../predict/encode.js';
import { explanationJson, planExplanation } from '../explain/occlusion.js';
import type { MicroBatcher } from './batcher.js';
import type { ModelHost } from './host.js';
import type { ServeMetrics } from './metrics.js';
import type { ServeOptions } from './options.js';
import { answerOf, ServeError, USAGE, type ErrorAnswer, type ServeErrorCode } from './errors.js';

/** What the routes work with. */
export interface AppParts {
  options: ServeOptions;
  host: ModelHost;
  batcher: MicroBatcher;
  metrics: ServeMetrics;
  /** Where the request log goes (stderr in the CLI). */
  logStream: NodeJS.WritableStream;
  /** True once shutdown began: /readyz answers 503. */
  closing: () => boolean;
}

/** The body of POST /v1/predict. */
interface PredictBody {
  texts: string[];
  explain?: boolean;
}

/** Paths served, with their methods (for 405 and its Allow header). */
const ROUTES: Record<string, string[]> = {
  '/v1/predict': ['POST'],
  '/v1/model': ['GET', 'HEAD'],
  '/healthz': ['GET', 'HEAD'],
  '/readyz': ['GET', 'HEAD'],
  '/metrics': ['GET', 'HEAD'],
};

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route needs the bearer token (when the server has one). */
    auth?: boolean;
  }
  interface FastifyRequest {
    /** How many texts the request asked about (0 when it asked about none). */
    textCount: number;
  }
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Compares a presented bearer token with the server's in constant time (equal-length digests). */
export function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m !== null && timingSafeEqual(digest(m[1]!), digest(token));
}

export async function buildApp(p: AppParts): Promise<FastifyInstance> {
  const o = p.options;
  const app = Fastify({
    logger: { level: o.logLevel, stream: p.logStream },
    // One line per request, written by the onResponse hook below (fastify's own are two, without the texts).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: o.bodyLimit,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  });
  app.decorateRequest('textCount', 0);

  // JSON only, and only valid UTF-8 (Node would otherwise turn bad bytes into U+FFFD silently).
  const parseJson = app.getDefaultJsonParser('error', 'error');
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      return done(
        new ServeError('SERVE_BODY_NOT_UTF8', 400, 'the request body is not valid UTF-8', 'Encode the JSON body as UTF-8'),
        undefined,
      );
    }
    void parseJson(req, text, done); // calls done itself (its return type is loose)
  });

  if (o.web) {
    // The exported page at / (its own files only: no directory listing, no dotfiles).
    await app.register(fastifyStatic, { root: o.web, prefix: '/', index: 'index.html', dotfiles: 'deny', list: false });
  }

  if (o.cors) {
    await app.register(cors, { origin: o.cors, methods: ['GET', 'HEAD', 'POST'], allowedHeaders: ['content-type', 'authorization'] });
  }

  app.addHook('onRequest', async (req, reply) => {
    if (!o.token || !req.routeOptions.config.auth) return;
    if (!tokenMatches(req.headers.authorization, o.token)) {
      reply.header('www-authenticate', 'Bearer');
      throw new ServeError(
        'SERVE_UNAUTHORIZED',
        401,
        'missing or wrong bearer token',
        'Send the header `Authorization: Bearer <token>` with the token rnn serve was started with',
      );
    }
  });

  // While draining, each answer closes its connection, so that close() does not wait for idle keep-alive clients.
  app.addHook('onSend', async (_req, reply) => {
    if (p.closing()) reply.header('connection', 'close');
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    p.metrics.requests.inc({ route, method: req.method, status: String(reply.statusCode) });
    p.metrics.latency.observe({ route }, seconds);
    req.log.info(
      { method: req.method, url: req.url, status: reply.statusCode, ms: Number(reply.elapsedTime.toFixed(2)), texts: req.textCount },
      'request',
    );
  });

  app.setErrorHandler((err: FastifyError | ServeError, req: FastifyRequest, reply: FastifyReply) => {
    const { status, code, line, headers, bug } = err instanceof ServeError || !err.validation ? answerOf(err, o) : invalidRequest(err);
    if (bug) req.log.error({ err }, 'internal error');
    reply.code(status).headers(headers).send({ error: line, code });
  });

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]!;
    const methods = ROUTES[path];
    if (methods) {
      reply
        .code(405)
        .header('allow', methods.join(', '))
        .send({
          error: `${req.method} is not allowed on ${path}. Use ${methods.filter((m) => m !== 'HEAD').join(' or ')}`,
          code: 'SERVE_METHOD_NOT_ALLOWED' satisfies ServeErrorCode,
        });
    } else {
      const page = o.web ? ' (and the page at /)' : '';
      reply.code(404).send({
        error: `there is no ${path}. The API is POST /v1/predict, GET /v1/model, /healthz, /readyz and /metrics${page}`,
        code: 'SERVE_NOT_FOUND' satisfies ServeErrorCode,
      });
    }
  });

  app.post<{ Body: PredictBody }>(
    '/v1/predict',
    {
      config: { auth: true },
      schema: {
        body: {
          type: 'object',
          required: ['texts'],
          additionalProperties: false,
          properties: {
            texts: { type: 'array', minItems: 1, maxItems: o.maxTexts, items: { type: 'string', maxLength: o.maxChars } },
            explain: { type: 'boolean' },
          },
        },
      },
    },
    async (req) => {
      const { texts, explain = false } = req.body;
      req.textCount = texts.length;
      const m = p.host.acquire();
      try {
        const maxlen = m.maxlen;
        let predictions: object[];
        if (explain) {
          const plans = texts.map((t) => planExplanation(m.modelDir, t));
          const rows = plans.reduce((s, pl) => s + pl.rows, 0);
          const ids = new Int32Array(rows * maxlen);
          let at = 0;
          for (const pl of plans) {
            ids.set(pl.ids, at * maxlen);
            at += pl.rows;
          }
          const probs = await p.batcher.submit(m, ids, rows, o.timeoutMs);
          at = 0;
          predictions = plans.map((pl, i) => {
            const e = pl.finish(probs.subarray(at, at + pl.rows));
            at += pl.rows;
            return { text: texts[i], ...explanationJson(e) };
          });
        } else {
          const encoded = encodeTexts(m.modelDir, texts);
          const probs = await p.batcher.submit(m, encoded.x, texts.length, o.timeoutMs);
          predictions = predictionsOf(encoded, probs, maxlen).map((pr, i) => ({ text: texts[i], ...pr }));
        }
        p.metrics.predicted(texts.length);
        return { predictions, model: m.stamp };
      } finally {
        m.release();
      }
    },
  );

  app.get('/v1/model', { config: { auth: true } }, async () => {
    const m = p.host.active();
    const md = m.modelDir.metadata;
    const ev = m.evaluation;
    return {
      dir: m.dir,
      ...m.stamp,
      loadedAt: m.loadedAt,
      loadSeconds: Number(m.loadSeconds.toFixed(3)),
      kernels: m.kernels,
      hyperParameters: md.hyperParameters,
      preprocessing: md.preprocessing,
      dataset: md.dataset ?? null,
      imported: md.imported ?? null,
      params: md.params,
      weights: md.weights ?? null,
      evaluation: ev ? { evaluatedAt: ev.evaluatedAt, data: ev.data, metrics: ev.metrics } : null,
      lastFailedReload: p.host.lastFailure ?? null,
    };
  });

  app.get('/healthz', async () => ({ status: 'alive' }));

  app.get('/readyz', async () => {
    if (p.closing())
      throw new ServeError('SERVE_SHUTTING_DOWN', 503, 'the server is shutting down', 'Send requests to another instance', {
        'retry-after': '1',
      });
    const m = p.host.active();
    return { status: 'ready', model: m.stamp };
  });

  app.get('/metrics', { config: { auth: true } }, async (_req, reply) => {
    reply.type(p.metrics.registry.contentType);
    return p.metrics.registry.metrics();
  });

  return app;
}

/** A schema violation as an answer (400): the first one, in a sentence. */
function invalidRequest(e: FastifyError): ErrorAnswer {
  const v = e.validation![0]!;
  const where = `${e.validationContext ?? 'body'}${v.instancePath}`;
  let what = `${where} ${v.message ?? 'is invalid'}`;
  if (v.keyword === 'maxItems') what = `the request has more than ${String(v.params.limit)} texts`;
  if (v.keyword === 'maxLength') what = `${where} is longer than ${String(v.params.limit)} characters`;
  if (v.keyword === 'additionalProperties') what = `${where} has an unknown field "${String(v.params.additionalProperty)}"`;
  const fix =
    v.keyword === 'maxItems'
      ? 'Split the texts over several requests, or start rnn serve with a larger --max-texts'
      : v.keyword === 'maxLength'
        ? 'Shorten the text (the model reads its last words only), or start rnn serve with a larger --max-chars'
        : USAGE;
  return { status: 400, code: 'SERVE_REQUEST_INVALID', line: `invalid request: ${what}. ${fix}`, headers: {}, bug: false };
}
