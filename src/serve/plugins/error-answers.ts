/** Every error answered as one JSON line with its code ({@link answerOf}); a 500 is a bug, and logged. */
import type { IncomingMessage } from 'node:http';
import type { FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { answerOf, type ErrorAnswer } from '../errors.js';

/** Sends an error's answer: its status, headers and `{"error": "<line>", "code": "<code>"}`. */
export function sendAnswer(reply: FastifyReply, a: ErrorAnswer): FastifyReply {
  return reply.code(a.status).headers(a.headers).send({ error: a.line, code: a.code });
}

/**
 * How much of a refused body (413: past --body-limit) is read and dropped before the answer, and for how long
 * at most. Answering while the client still sends, and then closing, makes the client's kernel reset the
 * connection, and the answer is lost (a finding of the fuzz campaign, test/fuzz); reading the rest first (a
 * "lingering close", as nginx does) lets it through.
 */
const LINGER_BYTES = 16 * 2 ** 20;
const LINGER_MS = 2000;

/** Reads and drops what is left of `raw`'s body, up to `maxBytes` and `ms`; whether it all arrived. */
function discardBody(raw: IncomingMessage, maxBytes: number, ms: number): Promise<boolean> {
  if (raw.complete || raw.destroyed) return Promise.resolve(raw.complete);
  return new Promise((resolve) => {
    let seen = 0;
    const done = () => {
      clearTimeout(timer);
      raw.off('data', onData).off('end', done).off('close', done).off('error', done);
      raw.pause();
      resolve(raw.complete);
    };
    const onData = (c: Buffer) => {
      seen += c.length;
      if (seen > maxBytes) done();
    };
    const timer = setTimeout(done, ms);
    raw.on('data', onData).once('end', done).once('close', done).once('error', done);
    raw.resume();
  });
}

export const errorAnswers = fp(
  async (app) => {
    app.setErrorHandler(async (err, req, reply) => {
      const a = answerOf(err, app.serveOptions);
      if (a.bug) req.log.error({ err }, 'internal error');
      if (a.status === 413 && !(await discardBody(req.raw, LINGER_BYTES, LINGER_MS))) reply.header('connection', 'close');
      return sendAnswer(reply, a);
    });
  },
  { name: 'rnn-error-answers', dependencies: ['rnn-core'] },
);
