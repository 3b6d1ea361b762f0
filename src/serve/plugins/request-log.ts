/**
 * What every answer leaves behind: one JSON log line (method, url, status, ms, texts) and its count and
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
