/**
 * The answers of `POST /v1/predict` as fastify serializes them by their schema: byte for byte what
 * JSON.stringify makes of the cores' values (the fields of `rnn predict --json`, in its order), for a binary
 * model and a model of k ≥ 3 classes, predictions and explanations. The serializer writes optional properties
 * after required ones, so a k-class answer would otherwise move `probabilities` to the end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { predictionsOf } from '../../src/predict/encode.js';
import { explanationJson, type Explanation } from '../../src/explain/occlusion.js';
import { PredictReply } from '../../src/serve/schemas.js';

const encoded = {
  x: new Int32Array(0),
  stats: [
    { words: 4, unknown: 1, ids: 3 },
    { words: 300, unknown: 7, ids: 290 },
  ],
};
const words: Explanation['words'] = [
  { text: 'Great', tokens: ['great'], contribution: 1.2345678, probabilityWithout: 0.25, seen: true },
  { text: 'zzz', tokens: ['zzz'], contribution: 0, probabilityWithout: 0.5, seen: false },
];
const explanation = (classes?: Explanation['classes']): Explanation => ({
  label: classes ? classes.labels[classes.predicted]! : 'positive',
  probability: 0.5,
  method: 'occlusion',
  ...(classes && { classes }),
  words,
  separators: ['', ' '],
  trailing: '',
});

test('predictions and explanations, binary and 3 classes: the schema serializes them as JSON.stringify does', async (t) => {
  const labels = ['negative', 'neutral', 'positive'];
  const answers = [
    predictionsOf(encoded, Float32Array.of(0.75, 0.25), 256),
    predictionsOf(encoded, Float32Array.of(0.2, 0.3, 0.5, 0.6, 0.3, 0.1), 256, labels),
    [explanationJson(explanation())],
    [explanationJson(explanation({ labels, probabilities: [0.2, 0.3, 0.5], predicted: 2, explained: 0 }))],
  ].map((ps) => ({
    predictions: ps.map((p, i) => ({ text: `review ${i} "quoted"`, ...p })),
    model: { cell: 'gru', createdAt: '2026-12-01T10:00:00.000Z', tokenizerSha256: 'ab' },
  }));
  assert.deepEqual(Object.keys(answers[1]!.predictions[0]!), [
    'text',
    'label',
    'probability',
    'probabilities',
    'words',
    'unknownWords',
    'truncatedIds',
  ]);
  const app = Fastify();
  t.after(() => app.close());
  let next = 0;
  app.get('/', { schema: { response: { 200: PredictReply } } }, async () => answers[next++]);
  for (const answer of answers) {
    const r = await app.inject({ method: 'GET', url: '/' });
    assert.equal(r.statusCode, 200);
    assert.equal(r.body, JSON.stringify(answer));
  }
});
