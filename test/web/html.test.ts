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
  head: { units: 1, activation: 'sigmoid' },
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

/** A k-class model's card: its labels, Dense(k, softmax), and the per-label figures of its last rnn eval. */
const THREE: Partial<ModelCard> = {
  cell: 'gru',
  head: { units: 3, activation: 'softmax' },
  labels: ['negative', 'neutral', 'positive'],
  test: {
    accuracy: 0.6123,
    macroF1: 0.5512,
    weightedF1: 0.5934,
    perClass: [
      { label: 'negative', precision: 0.7, recall: 0.75, f1: 0.7241, support: 400 },
      { label: 'neutral', precision: 0.3, recall: 0.2, f1: 0.24, support: 200 },
      { label: 'positive', precision: 0.68, recall: 0.72, f1: 0.6994, support: 400 },
    ],
    reviews: 1000,
    evaluatedAt: '2026-12-01T00:00:00Z',
  },
};

test('pageHtml: a k-class model shows its labels, Dense(k, softmax), a bar list and per-label figures', () => {
  const html = pageHtml({ ...CARD, ...THREE });
  for (const line of [
    '<h1>Which label fits this review?</h1>',
    'A GRU trained with rnn to tell apart 3 labels: negative, neutral, positive.',
    '<dt>Model</dt><dd>Embedding(10,000 → 100) → GRU(128) → Dense(3, softmax); 1,117,377 parameters</dd>',
    '<dt>Labels</dt><dd>negative, neutral, positive (3 classes; the page explains the most probable one)</dd>',
    '<dt>Test accuracy</dt><dd>61.23% (macro-F1 0.5512, weighted-F1 0.5934) on 1,000 test reviews</dd>',
    '<tr><th scope="row">neutral</th><td>0.3000</td><td>0.2000</td><td>0.2400</td><td>200</td></tr>',
    '<ol id="classes"',
    '<h2>Words for the top label</h2>',
    "the change in the top label's log-probability when it is removed",
  ])
    assert.ok(html.includes(line), line);
  assert.doesNotMatch(html, /sigmoid|log-odds|Most positive|movie review positive/);
});

test('pageHtml: numeric labels add the mean absolute error; labels are escaped', () => {
  const t = THREE.test as Extract<ModelCard['test'], { perClass: unknown }>;
  const html = pageHtml({
    ...CARD,
    ...THREE,
    labels: ['1', '<b>2</b>', '3'],
    test: { ...t, meanAbsoluteError: 0.8123, withinOneStep: 0.745 },
  });
  assert.ok(html.includes('on 1,000 test reviews; mean absolute error 0.812, 74.50% within one step'), 'mean absolute error');
  assert.ok(html.includes('1, &lt;b&gt;2&lt;/b&gt;, 3'));
  assert.doesNotMatch(html, /<b>2/);
});

test('pageHtml: a binary model has no bars, no labels row and no per-label table', () => {
  const html = pageHtml(CARD);
  assert.doesNotMatch(html, /id="classes"|<dt>Labels|per-class|Per label/);
  assert.ok(html.includes('<h1>Is this movie review positive?</h1>'));
});
