/** GET /metrics: the server's metrics in Prometheus's text format (behind the token, when set; a text body is sent as it is). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { bearerAuth } from '../plugins/bearer-auth.js';
import { ERROR_REPLIES } from '../schemas.js';

export const metricsRoute: FastifyPluginAsyncTypebox = async (app) => {
  await app.register(bearerAuth);
  app.get('/metrics', { schema: { response: { 200: Type.String(), ...ERROR_REPLIES } } }, async (_req, reply) => {
    reply.type(app.metrics.registry.contentType);
    return app.metrics.registry.metrics();
  });
};
