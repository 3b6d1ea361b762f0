/**
 * POST /v1/predict: each text's prediction, or with `"explain": true` its explanation, as `rnn predict --json`
 * (`--explain --json`) prints it. The texts are encoded here, their forward rows go through the batcher,
 * and the answer names the model that produced it (a reload mid-request does not change it).
 *
 * Admission: before its body is read, a request is refused (503) when the batcher would refuse even one row
 * now (the queue is full, or the request would take longer than half of --timeout): under overload a refusal
 * then costs the headers only, not the body's parse, validation and encoding, and it is answered from the
 * refusal's value (no Error, no stack trace, no error handler). Once encoded, its rows are checked again with
 * their real count. An admitted request's deadline counts from its arrival.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Static } from 'typebox';
import { encodeTexts, predictionsOf } from '../../predict/encode.js';
import { explanationJson, planExplanation } from '../../explain/occlusion.js';
import type { MicroBatcher } from '../batcher.js';
import { refusalAnswer } from '../errors.js';
import { sendAnswer } from '../plugins/error-answers.js';
import type { ServedModel } from '../served-model.js';
import { ERROR_REPLIES, Explanation, predictBody, PredictReply, Prediction } from '../schemas.js';

export const predictRoute: FastifyPluginAsyncTypebox = async (app) => {
  const o = app.serveOptions;
  const schema = { body: predictBody(o), response: { 200: PredictReply, ...ERROR_REPLIES } };
  // fastify's way to answer from a hook: send, and return the reply so that nothing after it runs.
  const onRequest = async (_req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const refused = app.batcher.refusal(1);
    return refused ? sendAnswer(reply, refusalAnswer(refused)) : undefined;
  };
  app.post('/predict', { schema, onRequest }, async (req, reply) => {
    const { texts, explain = false } = req.body;
    req.textCount = texts.length;
    const served = app.modelHost.acquire();
    try {
      // --timeout counts from the request's arrival (reading and encoding it took some of it).
      const deadline = { timeoutMs: o.timeoutMs, since: () => reply.elapsedTime };
      const predictions = explain
        ? await explainTexts(app.batcher, served, texts, deadline)
        : await predictTexts(app.batcher, served, texts, deadline);
      app.metrics.predicted(texts.length);
      return { predictions, model: served.stamp };
    } finally {
      served.release();
    }
  });
};

/** A request's --timeout, and the milliseconds since it arrived. */
interface Deadline {
  timeoutMs: number;
  since: () => number;
}

/** One forward row per text. */
async function predictTexts(
  batcher: MicroBatcher,
  served: ServedModel,
  texts: string[],
  d: Deadline,
): Promise<Static<typeof Prediction>[]> {
  const encoded = encodeTexts(served.modelDir, texts);
  const probs = await batcher.submit(served, encoded.x, texts.length, d.timeoutMs, d.since());
  return predictionsOf(encoded, probs, served.maxlen, served.labels).map((p, i) => ({ text: texts[i]!, ...p }));
}

/** The rows of every text's occlusion plan (the text, then the text without each word), in one submit. */
async function explainTexts(
  batcher: MicroBatcher,
  served: ServedModel,
  texts: string[],
  d: Deadline,
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
  const probs = await batcher.submit(served, ids, rows, d.timeoutMs, d.since());
  at = 0;
  const k = served.perRow;
  return plans.map((p, i) => {
    const e = p.finish(probs.subarray(at * k, (at + p.rows) * k));
    at += p.rows;
    return { text: texts[i]!, ...explanationJson(e) };
  });
}
