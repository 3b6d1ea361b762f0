/**
 * The HTTP API's request and response bodies, written once as TypeBox schemas: fastify validates requests
 * with them (ajv), serializes responses with them (fast-json-stringify), and the type provider derives the
 * handlers' TypeScript types from them, so the three cannot drift apart. A response serializer writes only
 * the fields its schema names, in the schema's order: the order below is the order clients see.
 */
import { Type, type Static } from 'typebox';
import type { ExplanationJson } from '../explain/occlusion.js';
import type { Prediction as PredictionOfText } from '../predict/encode.js';
import type { ReloadFailure } from './host.js';
import type { KernelsInfo, ModelStamp as ModelStampOfModel } from './served-model.js';

/** The limits a request is validated against (`--max-texts`, `--max-chars`). */
export interface RequestLimits {
  maxTexts: number;
  maxChars: number;
}

/** The body of `POST /v1/predict`. */
export const predictBody = (limits: RequestLimits) =>
  Type.Object(
    {
      texts: Type.Array(Type.String({ maxLength: limits.maxChars }), { minItems: 1, maxItems: limits.maxTexts }),
      explain: Type.Optional(Type.Boolean()),
    },
    { additionalProperties: false },
  );

/** A class's label: a binary model's `negative` or `positive` (or the two labels of its data), one of k. */
const Label = Type.String();

/** The fields every answer starts with: the text and its verdict. */
const verdict = { text: Type.String(), label: Label, probability: Type.Number() };

/** The counts every prediction ends with. */
const counts = { words: Type.Integer(), unknownWords: Type.Integer(), truncatedIds: Type.Integer() };

/** An explained word. */
const ExplainedWord = Type.Object({
  word: Type.String(),
  tokens: Type.Array(Type.String()),
  contribution: Type.Number(),
  probabilityWithout: Type.Number(),
  seen: Type.Boolean(),
});

/** What every explanation ends with. */
const explanationEnd = { method: Type.Literal('occlusion'), words: Type.Array(ExplainedWord) };

// A model of k ≥ 3 classes adds every class's probability, keyed by label, after `probability`. Its answers are
// schemas of their own where `probabilities` is required: the serializer writes optional properties after the
// required ones, and the fields must come in the order `rnn predict --json` prints them.
const Probabilities = Type.Record(Type.String(), Type.Number());

/** A text's prediction: the fields of `rnn predict --json` (k ≥ 3 classes: with `probabilities`). */
export const Prediction = Type.Union([
  Type.Object({ ...verdict, probabilities: Probabilities, ...counts }),
  Type.Object({ ...verdict, ...counts }),
]);

/**
 * A text's explanation: the fields of `rnn predict --explain --json` (k ≥ 3 classes: with `probabilities` and
 * `explained`, the class explained: the predicted one unless the request named another).
 */
export const Explanation = Type.Union([
  Type.Object({ ...verdict, probabilities: Probabilities, explained: Type.String(), ...explanationEnd }),
  Type.Object({ ...verdict, ...explanationEnd }),
]);

/** The model that produced an answer. */
export const ModelStamp = Type.Object({ cell: Type.String(), createdAt: Type.String(), tokenizerSha256: Type.String() });

/** The answer of `POST /v1/predict`: predictions, or explanations with `"explain": true`. */
export const PredictReply = Type.Object({
  predictions: Type.Array(Type.Union([...Prediction.anyOf, ...Explanation.anyOf])),
  model: ModelStamp,
});

/** The answer of `GET /v1/model`; the parts of metadata.json and eval.json as the model directory holds them. */
export const ModelReply = Type.Object({
  dir: Type.String(),
  cell: Type.String(),
  createdAt: Type.String(),
  tokenizerSha256: Type.String(),
  loadedAt: Type.String(),
  loadSeconds: Type.Number(),
  kernels: Type.Object({ name: Type.String(), description: Type.String(), reason: Type.String() }),
  /** The labels, in class order (a binary model: negative, positive, or the two its data named). */
  labels: Type.Array(Type.String()),
  hyperParameters: Type.Unknown(),
  preprocessing: Type.Unknown(),
  dataset: Type.Unknown(),
  imported: Type.Unknown(),
  params: Type.Unknown(),
  weights: Type.Unknown(),
  evaluation: Type.Union([Type.Object({ evaluatedAt: Type.String(), data: Type.Unknown(), metrics: Type.Unknown() }), Type.Null()]),
  lastFailedReload: Type.Union([
    Type.Object({ dir: Type.String(), at: Type.String(), error: Type.String(), code: Type.String() }),
    Type.Null(),
  ]),
});

/** The answer of `GET /healthz`. */
export const AliveReply = Type.Object({ status: Type.Literal('alive') });

/** The answer of `GET /readyz` once a model is warm. */
export const ReadyReply = Type.Object({ status: Type.Literal('ready'), model: ModelStamp });

/** Every error: `{"error": "<what failed>. <how to fix>", "code": "SERVE_…"}`. */
export const ErrorReply = Type.Object({ error: Type.String(), code: Type.String() });

/** The error answers every route declares beside its 200. */
export const ERROR_REPLIES = { '4xx': ErrorReply, '5xx': ErrorReply } as const;

// The schemas name exactly the fields the cores return: a field added to or removed from one side without
// the other is a compile error here, not a field the serializer silently drops.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const same = <A, B>(ok: Same<A, B>): Same<A, B> => ok;
same<Static<typeof Prediction>, { text: string } & PredictionOfText>(true);
same<Static<typeof Explanation>, { text: string } & ExplanationJson>(true);
same<Static<typeof ModelStamp>, ModelStampOfModel>(true);
same<Static<(typeof ModelReply)['properties']['kernels']>, KernelsInfo>(true);
// `code` is any ErrorCode: the schema says string (the fields are what must agree).
same<keyof NonNullable<Static<(typeof ModelReply)['properties']['lastFailedReload']>>, keyof ReloadFailure>(true);
