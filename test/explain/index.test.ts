/**
 * Explained predictions (occlusion). Exactness on a small model: every contribution equals the log-odds
 * difference between predicting the review and predicting it with that word deleted, computed independently
 * with predictTexts. Their usefulness on real reviews: usefulness.e2e.test.ts.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadBackend, type LoadedBackend, type TF } from '../../src/backend/index.js';
import { buildModel } from '../../src/models/index.js';
import { Tokenizer } from '../../src/text/tokenizer.js';
import { explainText } from '../../src/explain/index.js';
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

const logit = (p: number): number => Math.log(Math.min(1 - 1e-7, Math.max(1e-7, p)) / (1 - Math.min(1 - 1e-7, Math.max(1e-7, p))));

function smallModel(truncating: 'pre' | 'post'): InferenceModel {
  const tokenizer = new Tokenizer({ numWords: 60 }).fitOnTexts(data.train.slice(0, 40).map((r) => r.text));
  const model = buildModel(
    tf,
    { cell: 'gru', vocabSize: 60, embeddingDim: 6, maxlen: 8, units: 5, seed: 3, layers: 'fused' },
    backend.kernels,
  );
  return {
    model,
    kernels: backend.kernels,
    tokenizer,
    metadata: { cell: 'gru', preprocessing: { maxlen: 8, padding: 'pre', truncating } },
  };
}

const cases: Array<{ name: string; text: string; truncating: 'pre' | 'post'; unseen: string[] }> = [
  { name: 'short review', text: 'the film was good and the story was bad', truncating: 'pre', unseen: ['the'] },
  { name: 'unknown and punctuation-only words', text: 'the zyzzyva film !!! was good', truncating: 'pre', unseen: ['zyzzyva', '!!!'] },
  { name: 'HTML line breaks and extra spaces', text: 'the film<br /><br />was   good.\tand bad', truncating: 'pre', unseen: [] },
  { name: 'empty review', text: '', truncating: 'pre', unseen: [] },
];

for (const c of cases) {
  test(`explainText is exact: ${c.name}`, () => {
    const m = smallModel(c.truncating);
    const e = explainText(tf, m, c.text);
    const [p] = predictTexts(tf, m, [c.text]);
    assert.ok(Math.abs(e.probability - p!.probability) < 1e-6);
    // The words and separators give back the review (after <br /> removal).
    assert.equal(e.words.map((w, i) => e.separators[i] + w.text).join('') + e.trailing, c.text.replace(/<br\s*\/?>/gi, ' '));
    e.words.forEach((w, i) => {
      const without = [...e.words.slice(0, i), ...e.words.slice(i + 1)].map((x) => x.text).join(' ');
      const [q] = predictTexts(tf, m, [without]);
      if (!w.seen) {
        assert.equal(w.contribution, 0, w.text);
        return;
      }
      assert.ok(Math.abs(w.contribution - (logit(p!.probability) - logit(q!.probability))) < 1e-4, `${w.text}: ${w.contribution}`);
      assert.ok(Math.abs(w.probabilityWithout - q!.probability) < 1e-6);
    });
    for (const u of c.unseen.filter((u) => u !== 'the')) assert.equal(e.words.find((w) => w.text === u)?.seen, false, u);
    m.model.dispose();
  });
}

test('explainText: words cut off by maxlen never reached the model (pre: the first ones; post: the last ones)', () => {
  const text = 'the film was good and the story was bad but the acting was fine';
  for (const truncating of ['pre', 'post'] as const) {
    const m = smallModel(truncating);
    const e = explainText(tf, m, text);
    const known = e.words.filter((w) => m.tokenizer.textToSequenceWithStats(w.text).ids.length > 0);
    assert.ok(known.length > 8, 'more known words than maxlen');
    const seen = known.map((w) => w.seen);
    const expected = known.map((_, i) => (truncating === 'pre' ? i >= known.length - 8 : i < 8));
    assert.deepEqual(seen, expected);
    m.model.dispose();
  }
});

test('explainText leaves no tensors behind', () => {
  const m = smallModel('pre');
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) explainText(tf, m, 'the film was good and the story was bad');
  assert.equal(tf.memory().numTensors, before);
  m.model.dispose();
});
