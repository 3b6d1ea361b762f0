/** The versioned API, registered under the `/v1` prefix: the bearer token (when set), then its routes. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { bearerAuth } from '../plugins/bearer-auth.js';
import { modelRoute } from './model.js';
import { predictRoute } from './predict.js';

export const v1: FastifyPluginAsyncTypebox = async (api) => {
  await api.register(bearerAuth);
  await api.register(predictRoute);
  await api.register(modelRoute);
};
