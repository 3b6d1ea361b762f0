/** Every error answered as one JSON line with its code ({@link answerOf}); a 500 is a bug, and logged. */
import fp from 'fastify-plugin';
import { answerOf } from '../errors.js';

export const errorAnswers = fp(
  async (app) => {
    app.setErrorHandler((err, req, reply) => {
      const a = answerOf(err, app.serveOptions);
      if (a.bug) req.log.error({ err }, 'internal error');
      return reply.code(a.status).headers(a.headers).send({ error: a.line, code: a.code });
    });
  },
  { name: 'rnn-error-answers', dependencies: ['rnn-core'] },
);
