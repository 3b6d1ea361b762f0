/** The exported page's HTML: the model card's lines, and metadata never run as markup. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pageHtml, type ModelCard } from '../../src/web/html.js';

const CARD: ModelCard = {
  cell: 'lstm',
  createdAt: '2026-11-29T20:07:18.335Z',
  params: 1117377,
  vocabSize: 10000,
  maxlen: 256,
  units: 128,
  embeddingDim: 100,
  epochs: 3,
  bestEpoch: 3,
  recipe: 'adam lr 0.001 (cosine), clip norm 1',
  seed: 42,
  data: { name: 'aclImdb_v1.tar.gz', trainReviews: 22500, validationReviews: 2500 },
  test: { accuracy: 0.88024, f1: 0.8793325, rocAuc: 0.94898, reviews: 25000, evaluatedAt: '2026-11-29T21:00:00Z' },
  quantize: 'uint8',
  tfjs: '4.22.0',
};

const LINES: Array<{ card: Partial<ModelCard>; has: string[] }> = [
  {
    card: {},
    has: [
      '<p class="sub">An LSTM trained with rnn',
      '<dt>Model</dt><dd>Embedding(10,000 → 100) → LSTM(128) → Dense(1, sigmoid); 1,117,377 parameters</dd>',
      '<dt>Test accuracy</dt><dd>88.02% (F1 0.8793, ROC-AUC 0.9490) on 25,000 test reviews</dd>',
      '<dt>Training data</dt><dd>aclImdb_v1.tar.gz: 22,500 reviews, 2,500 more for validation</dd>',
      '<dt>Recipe</dt><dd>3 epochs (weights of epoch 3), adam lr 0.001 (cosine), clip norm 1, seed 42</dd>',
      '<dt>Weights</dt><dd>uint8 (quantized at export)</dd>',
      '<dt>Trained</dt><dd>2026-11-29</dd>',
    ],
  },
  {
    card: { cell: 'gru', test: null, quantize: 'none' },
    has: ['<p class="sub">A GRU trained', 'not evaluated (run rnn eval before exporting)', '<dd>float32</dd>'],
  },
  {
    card: { cell: '<img src=x onerror=alert(1)>', data: { name: '"><script>1</script>', trainReviews: 1, validationReviews: 0 } },
    has: ['&lt;img src=x onerror=alert(1)&gt;', '&quot;&gt;&lt;script&gt;1&lt;/script&gt;'],
  },
];
for (const c of LINES) {
  test(`pageHtml: ${JSON.stringify(c.card).slice(0, 60)}`, () => {
    const html = pageHtml({ ...CARD, ...c.card });
    for (const line of c.has) assert.ok(html.includes(line), line);
    assert.doesNotMatch(html, /<img|<script>1/);
  });
}
