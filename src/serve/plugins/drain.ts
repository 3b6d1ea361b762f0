/**
 * Shutdown, through fastify's own: `app.close()` is the only way down, and this plugin's hooks order it.
 * preClose (fastify has stopped routing as usual): stop watching the model directory, and from now on
 * answer every new request 503 `SERVE_SHUTTING_DOWN` (fastify's own drain answer has no code) and every
 * answer with `Connection: close`, so that no keep-alive client holds the server open. fastify then stops
 * accepting connections and waits for the requests in flight. onClose (they are all answered): wait for the
 * batcher to be idle, then dispose the model.
 */
import fp from 'fastify-plugin';
import { ServeError } from '../errors.js';

export const drain = fp(
  async (app) => {
    let draining = false;
    app.addHook('preClose', async () => {
      draining = true;
      app.modelHost.stop();
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
