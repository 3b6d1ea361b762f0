/** GET /v1/model: the model being served, its last evaluation, and the last reload that failed. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ERROR_REPLIES, ModelReply } from '../schemas.js';

export const modelRoute: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/model', { schema: { response: { 200: ModelReply, ...ERROR_REPLIES } } }, async () => {
    const served = app.modelHost.active();
    const md = served.modelDir.metadata;
    const ev = served.evaluation;
    return {
      dir: served.dir,
      ...served.stamp,
      loadedAt: served.loadedAt,
      loadSeconds: Number(served.loadSeconds.toFixed(3)),
      kernels: served.kernels,
      labels: [...served.labels],
      hyperParameters: md.hyperParameters,
      preprocessing: md.preprocessing,
      dataset: md.dataset ?? null,
      imported: md.imported ?? null,
      params: md.params,
      weights: md.weights ?? null,
      evaluation: ev ? { evaluatedAt: ev.evaluatedAt, data: ev.data, metrics: ev.metrics } : null,
      lastFailedReload: app.modelHost.lastFailure ?? null,
    };
  });
};
