/**
 * Shutdown, through fastify's own: `app.close()` is the only way down, and this plugin's hooks order it.
 *
 * preClose (fastify has stopped routing as usual): stop watching the model directory; from now on answer
 * every new request 503 `SERVE_SHUTTING_DOWN` (fastify's own drain answer has no code) and every answer with
 * `Connection: close`. Then stop accepting connections, but keep the open ones: each is closed right after
 * its next answer, so a keep-alive client that sends a request during the drain gets that answer (its request
 * in flight, or the 503) instead of a reset. Node's own `server.close()` would also close every connection
 * idle at that instant, and a client that had just written a request on one (under load there are always
 * some) would see its request reset. A connection that stays idle through {@link IDLE_GRACE_MS} is closed
 * then; the requests in flight are answered before the server is closed. onClose (everything answered): wait
 * for the batcher to be idle, then dispose the model.
 */
import * as net from 'node:net';
import fp from 'fastify-plugin';
import { ServeError } from '../errors.js';

/** How long a keep-alive connection that sends nothing during the drain is kept open (milliseconds). */
export const IDLE_GRACE_MS = 2000;

export const drain = fp(
  async (app) => {
    let draining = false;
    app.addHook('preClose', async () => {
      draining = true;
      app.modelHost.stop();
      const server = app.server;
      if (!server.listening) return;
      // net.Server's close, not http.Server's: stop listening without closing the idle keep-alive connections.
      // Its callback runs once every open connection has closed.
      const closed = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()));
      const grace = setTimeout(() => server.closeIdleConnections(), IDLE_GRACE_MS);
      try {
        await closed;
      } finally {
        clearTimeout(grace);
      }
    });
    app.addHook('onRequest', async () => {
      if (draining) {
        throw new ServeError('SERVE_SHUTTING_DOWN', 503, 'the server is shutting down', 'Send requests to another instance', {
          'retry-after': '1',
        });
      }
    });
    app.addHook('onSend', async (_req, reply) => {
      if (draining) reply.header('connection', 'close');
    });
    app.addHook('onClose', async () => {
      await app.batcher.idle();
      await app.modelHost.close();
    });
  },
  { name: 'rnn-drain', dependencies: ['rnn-core'] },
);
