/**
 * The page `rnn export --web DIR` wrote, hosted at / (its own files only: no directory listing, no dotfiles),
 * cross-origin isolated (COOP same-origin, COEP require-corp: the page loads nothing from elsewhere), so that
 * its wasm backend may use threads.
 */
import * as path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import fastifyStatic from '@fastify/static';
import { UserError } from '../../errors.js';
import { exists } from '../../util/fs.js';

export const webPage: FastifyPluginAsync<{ root: string }> = async (app, { root }) => {
  if (!(await exists(path.join(root, 'index.html')))) {
    throw new UserError(
      'SERVE_WEB_INVALID',
      `${path.resolve(root)} is not a web export (no index.html)`,
      'Create one with `rnn export --web DIR`, then pass that DIR',
    );
  }
  app.addHook('onRequest', async (_req, reply) => {
    reply.header('cross-origin-opener-policy', 'same-origin').header('cross-origin-embedder-policy', 'require-corp');
  });
  await app.register(fastifyStatic, { root, prefix: '/', index: 'index.html', dotfiles: 'deny', list: false });
};
