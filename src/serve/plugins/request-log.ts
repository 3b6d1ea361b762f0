/**
 * What every answer leaves behind: a `Server-Timing` header with the milliseconds from the request's arrival
 * to its answer (W3C Server-Timing, `total;dur=12.3`: what a client sees beyond it is time in sockets and in
 * event loops, its own included), one JSON log line (method, url, status, ms, texts), and its count and
 * latency in the metrics. fastify's own request logging is off (it writes two lines, without the texts).
 */
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyRequest {
    /** How many texts the request asked about (0 when it asked about none). */
    textCount: number;
  }
}

export const requestLog = fp(
  async (app) => {
    app.decorateRequest('textCount', 0);
    app.addHook('onSend', (_req, reply, payload, done) => {
      reply.header('server-timing', `total;dur=${reply.elapsedTime.toFixed(1)}`);
      done(null, payload);
    });
    app.addHook('onResponse', async (req, reply) => {
      const route = req.routeOptions.url ?? 'unmatched';
      const seconds = reply.elapsedTime / 1000;
      app.metrics.requests.inc({ route, method: req.method, status: String(reply.statusCode) });
      app.metrics.latency.observe({ route }, seconds);
      req.log.info(
        { method: req.method, url: req.url, status: reply.statusCode, ms: Number(reply.elapsedTime.toFixed(2)), texts: req.textCount },
        'request',
      );
    });
  },
  { name: 'rnn-request-log', dependencies: ['rnn-core'] },
);
