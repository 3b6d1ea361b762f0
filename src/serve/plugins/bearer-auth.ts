/**
 * The bearer token (`--token`): registered inside the plugins whose routes need it (/v1, /metrics), it adds
 * its check to their context only; the probes stay open. Compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import fp from 'fastify-plugin';
import { ServeError } from '../errors.js';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Compares a presented bearer token with the server's in constant time (equal-length digests). */
export function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m !== null && timingSafeEqual(digest(m[1]!), digest(token));
}

export const bearerAuth = fp(
  async (app) => {
    const token = app.serveOptions.token;
    if (!token) return;
    app.addHook('onRequest', async (req, reply) => {
      if (tokenMatches(req.headers.authorization, token)) return;
      reply.header('www-authenticate', 'Bearer');
      throw new ServeError(
        'SERVE_UNAUTHORIZED',
        401,
        'missing or wrong bearer token',
        'Send the header `Authorization: Bearer <token>` with the token rnn serve was started with',
      );
    });
  },
  { name: 'rnn-bearer-auth', dependencies: ['rnn-core'] },
);
