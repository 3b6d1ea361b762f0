/**
 * Explanations of a model of k ≥ 3 classes: each word's contribution is exactly the drop of the explained
 * class's log-probability when the word is deleted (computed independently with predictTexts), for the
 * predicted class by default and for any class asked for; the JSON form adds every class's probability and
 * the explained label, and a binary model's explanation keeps exactly its fields.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadBackend, type LoadedBackend, type TF } from '../../src/backend/index.js';
import { buildModel } from '../../src/models/index.js';
import { Tokenizer } from '../../src/text/tokenizer.js';
import { explainText } from '../../src/explain/index.js';
import { explanationJson, planExplanation } from '../../src/explain/occlusion.js';
import { predictTexts, type InferenceModel } from '../../src/predict/index.js';
import type { Review } from '../../src/data/index.js';
import { REQUIRE_NATIVE, imdb } from '../helpers.js';

let tf: TF;
let backend: LoadedBackend;
let data: { train: Review[]; test: Review[] };
before(async () => {
  backend = await loadBackend({ requireNative: REQUIRE_NATIVE });
  tf = backend.tf;
  data = await imdb();
});

const logp = (p: number): number => Math.log(Math.min(1 - 1e-7, Math.max(1e-7, p)));
const LABELS = ['awful', 'so-so', 'fine', 'great'];

function smallModel(classes: number): InferenceModel {
  const tokenizer = new Tokenizer({ numWords: 60 }).fitOnTexts(data.train.slice(0, 40).map((r) => r.text));
  const model = buildModel(
    tf,
    { cell: 'gru', vocabSize: 60, embeddingDim: 6, maxlen: 8, units: 5, seed: 3, layers: 'fused', classes },
    backend.kernels,
  );
  // Bolder weights than the initial ones, so that words move the classes' probabilities visibly.
  model.setWeights(model.getWeights().map((w) => tf.tidy(() => tf.mul(w, 4))));
  return {
    model,
    kernels: backend.kernels,
    tokenizer,
    metadata: { cell: 'gru', preprocessing: { maxlen: 8, padding: 'pre', truncating: 'pre' } },
  };
}

const text = 'the film was good and the story was bad';

for (const target of [undefined, 0, 3])
  test(`4 classes, explaining ${target === undefined ? 'the predicted class' : `class ${target}`}: contributions are exact drops of its log-probability`, () => {
    const m = smallModel(4);
    const e = explainText(tf, m, text, undefined, { labels: LABELS, ...(target !== undefined && { target }) });
    const [p] = predictTexts(tf, m, [text], undefined, LABELS);
    const cs = e.classes!;
    const probs = Object.values(p!.probabilities!);
    assert.deepEqual(Object.keys(p!.probabilities!), LABELS, 'keyed by label, in label order');
    const top = probs.indexOf(Math.max(...probs));
    const c = target ?? top;
    assert.deepEqual([e.label, cs.predicted, cs.explained, cs.labels], [LABELS[top], top, c, LABELS]);
    assert.ok(Math.abs(e.probability - p!.probability) < 1e-6);
    cs.probabilities.forEach((q, i) => assert.ok(Math.abs(q - probs[i]!) < 1e-6));
    let moved = 0;
    e.words.forEach((w, i) => {
      if (!w.seen) return;
      const without = [...e.words.slice(0, i), ...e.words.slice(i + 1)].map((x) => x.text).join(' ');
      const [q] = predictTexts(tf, m, [without], undefined, LABELS);
      const want = logp(probs[c]!) - logp(q!.probabilities![LABELS[c]!]!);
      assert.ok(Math.abs(w.contribution - want) < 1e-4, `${w.text}: ${w.contribution} vs ${want}`);
      assert.ok(Math.abs(w.probabilityWithout - q!.probabilities![LABELS[c]!]!) < 1e-6);
      if (Math.abs(w.contribution) > 1e-3) moved++;
    });
    assert.ok(moved >= 3, `words move the class's probability (${moved})`);
    const json = explanationJson(e);
    assert.deepEqual(Object.keys(json), ['label', 'probability', 'probabilities', 'explained', 'method', 'words']);
    assert.deepEqual(Object.keys(json.probabilities!), LABELS);
    assert.equal(json.explained, LABELS[c]);
    m.model.dispose();
  });

test('without label names the classes are their indices; a class or label list that does not fit is an error', () => {
  const m = smallModel(3);
  const e = explainText(tf, m, text);
  assert.deepEqual(e.classes!.labels, ['0', '1', '2']);
  assert.equal(e.label, String(e.classes!.predicted));
  const plan = planExplanation(m, text, { target: 3 });
  assert.throws(() => plan.finish(new Float32Array(plan.rows * 3).fill(1 / 3)), /class 3 is not one of the model's 3/);
  assert.throws(
    () => planExplanation(m, text, { labels: LABELS }).finish(new Float32Array(plan.rows * 3).fill(1 / 3)),
    /the model has 3 classes, but 4 labels were given/,
  );
  assert.throws(() => plan.finish(new Float32Array(plan.rows * 2)), /expected 1 or k ≥ 3 probabilities for each/);
  m.model.dispose();
});

test("a binary model's explanation: log-odds, and exactly the fields it always had", () => {
  const m = smallModel(2);
  const e = explainText(tf, m, text);
  assert.equal(e.classes, undefined);
  assert.ok(e.label === 'positive' || e.label === 'negative');
  // A two-label model whose data named its labels names them; the target is ignored (it explains the log-odds).
  const named = explainText(tf, m, text, undefined, { labels: ['neg', 'pos'], target: 0 });
  assert.equal(named.label, e.label === 'positive' ? 'pos' : 'neg');
  assert.deepEqual(named.words, e.words);
  assert.deepEqual(Object.keys(explanationJson(e)), ['label', 'probability', 'method', 'words']);
  assert.deepEqual(Object.keys(e), ['label', 'probability', 'method', 'words', 'separators', 'trailing']);
  m.model.dispose();
});
