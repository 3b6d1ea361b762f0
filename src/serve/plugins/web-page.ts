/** The page `rnn export --web DIR` wrote, hosted at / (its own files only: no directory listing, no dotfiles). */
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
  await app.register(fastifyStatic, { root, prefix: '/', index: 'index.html', dotfiles: 'deny', list: false });
};
