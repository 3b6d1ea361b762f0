/**
 * The orchestrator's probes, open without the token: GET /healthz (the process answers) and GET /readyz (a
 * model is loaded and warm: 503 `SERVE_NOT_READY` before, 503 `SERVE_SHUTTING_DOWN` while draining).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AliveReply, ERROR_REPLIES, ReadyReply } from '../schemas.js';

export const probes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/healthz', { schema: { response: { 200: AliveReply, ...ERROR_REPLIES } } }, async () => ({ status: 'alive' as const }));
  app.get('/readyz', { schema: { response: { 200: ReadyReply, ...ERROR_REPLIES } } }, async () => ({
    status: 'ready' as const,
    model: app.modelHost.active().stamp,
  }));
};
