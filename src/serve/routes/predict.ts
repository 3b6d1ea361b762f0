/**
 * POST /v1/predict: each text's prediction, or with `"explain": true` its explanation, as `rnn predict --json`
 * (`--explain --json`) prints it. The texts are encoded here, their forward rows go through the batcher,
 * and the answer names the model that produced it (a reload mid-request does not change it).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Static } from 'typebox';
import { encodeTexts, predictionsOf } from '../../predict/encode.js';
import { explanationJson, planExplanation } from '../../explain/occlusion.js';
import type { MicroBatcher } from '../batcher.js';
import type { ServedModel } from '../served-model.js';
import { ERROR_REPLIES, Explanation, predictBody, PredictReply, Prediction } from '../schemas.js';

export const predictRoute: FastifyPluginAsyncTypebox = async (app) => {
  const o = app.serveOptions;
  const schema = { body: predictBody(o), response: { 200: PredictReply, ...ERROR_REPLIES } };
  app.post('/predict', { schema }, async (req) => {
    const { texts, explain = false } = req.body;
    req.textCount = texts.length;
    const served = app.modelHost.acquire();
    try {
      const predictions = explain
        ? await explainTexts(app.batcher, served, texts, o.timeoutMs)
        : await predictTexts(app.batcher, served, texts, o.timeoutMs);
      app.metrics.predicted(texts.length);
      return { predictions, model: served.stamp };
    } finally {
      served.release();
    }
  });
};

/** One forward row per text. */
async function predictTexts(
  batcher: MicroBatcher,
  served: ServedModel,
  texts: string[],
  timeoutMs: number,
): Promise<Static<typeof Prediction>[]> {
  const encoded = encodeTexts(served.modelDir, texts);
  const probs = await batcher.submit(served, encoded.x, texts.length, timeoutMs);
  return predictionsOf(encoded, probs, served.maxlen, served.labels).map((p, i) => ({ text: texts[i]!, ...p }));
}

/** The rows of every text's occlusion plan (the text, then the text without each word), in one submit. */
async function explainTexts(
  batcher: MicroBatcher,
  served: ServedModel,
  texts: string[],
  timeoutMs: number,
): Promise<Static<typeof Explanation>[]> {
  const maxlen = served.maxlen;
  const plans = texts.map((t) => planExplanation(served.modelDir, t, { labels: served.labels }));
  const rows = plans.reduce((s, p) => s + p.rows, 0);
  const ids = new Int32Array(rows * maxlen);
  let at = 0;
  for (const p of plans) {
    ids.set(p.ids, at * maxlen);
    at += p.rows;
  }
  const probs = await batcher.submit(served, ids, rows, timeoutMs);
  at = 0;
  const k = served.perRow;
  return plans.map((p, i) => {
    const e = p.finish(probs.subarray(at * k, (at + p.rows) * k));
    at += p.rows;
    return { text: texts[i]!, ...explanationJson(e) };
  });
}
