/**
 * Explained predictions are useful on real reviews: for reviews an LSTM trained here is sure about, the words the
 * explanation ranks highest are sentiment words far more often than the review's other words.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadBackend, type LoadedBackend, type TF } from '../../src/backend/index.js';
import { explainText } from '../../src/explain/index.js';
import { topWords } from '../../src/explain/occlusion.js';
import { predictTexts, type InferenceModel } from '../../src/predict/index.js';
import { train } from '../../src/train/index.js';
import { resolveTrainOptions } from '../../src/train/options.js';
import type { Review } from '../../src/data/index.js';
import { REQUIRE_NATIVE, imdb } from '../helpers.js';

let tf: TF;
let backend: LoadedBackend;
let native = false;
let data: { train: Review[]; test: Review[] };
before(async () => {
  backend = await loadBackend({ requireNative: REQUIRE_NATIVE });
  tf = backend.tf;
  native = backend.native;
  data = await imdb();
});

// Common opinion words (a subset of Hu & Liu's 2004 opinion lexicon, the words frequent in movie reviews), plus
// the numbers of explicit ratings: IMDB reviewers write "7/10", which Keras's tokenizer splits into 7 and 10.
const SENTIMENT = new Set(
  `0 1 2 3 4 5 6 7 8 9 10 greatest liked bother
  great excellent best love loved loves lovely wonderful amazing brilliant perfect perfectly beautiful beautifully
  superb fantastic favorite fun enjoy enjoyed enjoyable highly recommend recommended masterpiece outstanding
  touching moving powerful fascinating gorgeous funny hilarious nice good well wonderfully incredible impressive
  stunning solid strong refreshing charming delightful magnificent terrific awesome classic memorable heartwarming
  bad worst awful terrible horrible boring waste wasted poor poorly stupid dull lame worse mess pathetic ridiculous
  annoying disappointing disappointed disappointment fails failed weak cheap laughable unfunny pointless badly
  avoid garbage crap nothing unfortunately sadly mediocre tedious predictable bland redeeming dreadful
  atrocious painful embarrassing incoherent forgettable insult bored`.split(/\s+/),
);

test('on real reviews the most influential words are sentiment words', async (t) => {
  if (!native) return t.skip('the native backend is needed to train the LSTM');
  // The pipeline test's LSTM settings (4,000 reviews, maxlen 100, 2 epochs, seed 1: ~77% test accuracy), trained
  // as the Keras lesson's fit trains (batch 64, constant rate, no clip, no word dropout, no weight average): this
  // small run is still taking off in its second epoch, and the defaults slow it (seed 1's validation accuracy:
  // 77% so; 69% with the cosine decay; 72% with word dropout and the weight average; batch 32 and the clip
  // with fit's constant rate: 20 of these 30 reviews explained by a sentiment word), too unsure to explain.
  const r = await train(
    backend,
    data.train,
    resolveTrainOptions({
      cell: 'lstm',
      limit: 4000,
      maxlen: 100,
      epochs: 2,
      seed: 1,
      batchSize: 64,
      lrSchedule: { kind: 'constant' },
      clipNorm: null,
      ema: null,
      wordDropout: 0,
    }),
  );
  const m: InferenceModel = {
    model: r.model,
    kernels: r.kernels,
    tokenizer: r.tokenizer,
    metadata: { cell: 'lstm', preprocessing: { maxlen: 100, padding: 'pre', truncating: 'pre' } },
  };
  const short = data.test.filter((x) => x.text.split(/\s+/).length <= 80);
  const probs = predictTexts(
    tf,
    m,
    short.map((x) => x.text),
  );
  const pick = (label: number, sure: (p: number) => boolean): Review[] =>
    short.filter((x, i) => x.label === label && sure(probs[i]!.probability)).slice(0, 15);
  const chosen = [...pick(1, (p) => p > 0.9), ...pick(0, (p) => p < 0.1)];
  assert.equal(chosen.length, 30, 'enough reviews the model is sure about');
  let explainedHits = 0;
  let otherHits = 0;
  for (const review of chosen) {
    const e = explainText(tf, m, review.text);
    const top = topWords(e, review.label === 1 ? 'positive' : 'negative', 3);
    if (top.some((w) => w.tokens.some((k) => SENTIMENT.has(k)))) explainedHits++;
    // Baseline: three seen words from the middle of the ranking.
    const rest = e.words.filter((w) => w.seen && !top.includes(w));
    const mid = rest.slice(Math.floor(rest.length / 2) - 1, Math.floor(rest.length / 2) + 2);
    if (mid.some((w) => w.tokens.some((k) => SENTIMENT.has(k)))) otherHits++;
  }
  t.diagnostic(`top-3 words contain a sentiment word in ${explainedHits}/30 reviews; 3 other words of the same reviews in ${otherHits}/30`);
  assert.ok(explainedHits >= 24, `${explainedHits}/30`);
  assert.ok(explainedHits - otherHits >= 10, `explained ${explainedHits} vs baseline ${otherHits}`);
  r.model.dispose();
});
