/**
 * The language model of `rnn pretrain` on real IMDB reviews (src/train/pretrain.ts): its loss falls and its
 * held-out perplexity beats the unigram model's; the sampled softmax is the full softmax's estimate (the sampler's
 * probabilities sum to 1, and with every word a candidate it is the full loss); a classifier started from it
 * (`train` with `init`) holds exactly its tokenizer, embedding and recurrent weights. A few seconds of training.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import type { Tensor1D, Tensor2D } from '@tensorflow/tfjs';
import { loadBackend, type Runtime, type TF } from '../../src/backend/index.js';
import {
  PRETRAIN_DEFAULTS,
  fullSoftmaxLoss,
  logUniformLogProb,
  logUniformSample,
  pretrain,
  resolvePretrainOptions,
  sampledSoftmaxLoss,
  unigramPerplexity,
  rowWindows,
  streamWindows,
  windowBatch,
  type PretrainOptions,
  type PretrainResult,
} from '../../src/train/pretrain.js';
import { TRAIN_DEFAULTS, resolveTrainOptions } from '../../src/train/options.js';
import { checkInitFits, train } from '../../src/train/index.js';
import { mulberry32 } from '../../src/util/random.js';
import { UserError } from '../../src/errors.js';
import type { Review } from '../../src/data/index.js';
import { REQUIRE_NATIVE, imdb } from '../helpers.js';
import { skipOnednn } from '../onednn-helpers.js';
import { tfjsKernels } from '../../src/kernels/index.js';

let tf: TF;
let run: Runtime;
let reviews: Review[] = [];
before(async () => {
  run = await loadBackend({ requireNative: REQUIRE_NATIVE });
  tf = run.tf;
  reviews = (await imdb()).train;
});

test("the language model's shapes default to rnn train's own (one home: TRAIN_DEFAULTS)", () => {
  for (const k of ['vocabSize', 'embeddingDim', 'units', 'oovToken', 'layers'] as const)
    assert.equal(PRETRAIN_DEFAULTS[k], TRAIN_DEFAULTS[k], k);
  // Rows as the classifier reads them: its maxlen steps.
  assert.equal(PRETRAIN_DEFAULTS.layout, 'rows');
  assert.equal(PRETRAIN_DEFAULTS.bptt, TRAIN_DEFAULTS.maxlen);
});

test('stream windows: bptt + 1 ids at stride bptt, targets shifted by one, every target kept', () => {
  const stream = Int32Array.from({ length: 11 }, (_, i) => i);
  const w = streamWindows(stream, 3);
  assert.equal(w.count, 3);
  const { x, y, keep } = windowBatch(w, 3, [2, 0]);
  assert.deepEqual([...x], [6, 7, 8, 0, 1, 2]);
  assert.deepEqual([...y], [7, 8, 9, 1, 2, 3]);
  assert.equal(keep, undefined);
});

test("row windows: a text's last bptt words pre-padded as pad_sequences does, earlier words in rows before it, padding targets left out", () => {
  const texts = [Int32Array.of(5, 6), Int32Array.of(1, 2, 3, 4, 5, 6, 7), Int32Array.of()];
  const w = rowWindows(texts, 3);
  assert.equal(w.count, 1 + 3);
  const { x, y, keep } = windowBatch(w, 3, [0, 1, 2, 3]);
  // The classifier's row of each text is its last window's input: [0 5 6] and [5 6 7], as padSequences(maxlen 3) gives.
  assert.deepEqual([...x], [0, 5, 6, /* */ 5, 6, 7, /* */ 2, 3, 4, /* */ 0, 0, 1]);
  // Targets: the next word (a text's first word from the padding before it); the text's end and padding are not predicted.
  assert.deepEqual([...y], [5, 6, 6, 7, 3, 4, 5, 1, 2]);
  assert.deepEqual([...keep!], [0, 1, 3, 4, 6, 7, 8, 10, 11]);
});

test("the log-uniform sampler's probabilities sum to 1 and its draws follow them", () => {
  const V = 50;
  const total = Array.from({ length: V }, (_, k) => Math.exp(logUniformLogProb(k, V))).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(total - 1) < 1e-9, `sum ${total}`);
  const draws = logUniformSample(200_000, V, mulberry32(3));
  const zeros = draws.filter((d) => d === 0).length / draws.length;
  assert.ok(Math.abs(zeros - Math.exp(logUniformLogProb(0, V))) < 0.01, `P(0) ${zeros}`);
  assert.ok(draws.every((d) => d >= 0 && d < V));
});

test('the sampled softmax with every word a candidate once and no correction is the full softmax loss', () => {
  const [N, U, V] = [6, 4, 9];
  const r = mulberry32(5);
  const rnd = (n: number) => Float32Array.from({ length: n }, () => r() - 0.5);
  tf.tidy(() => {
    const H = tf.tensor2d(rnd(N * U), [N, U]) as Tensor2D;
    const K = tf.tensor2d(rnd(U * V), [U, V]) as Tensor2D;
    const b = tf.tensor1d(rnd(V)) as Tensor1D;
    const y = tf.tensor1d([0, 3, 8, 2, 2, 5], 'int32') as Tensor1D;
    const full = fullSoftmaxLoss(tf, H, y, K, b).dataSync()[0]!;
    // Candidates 0..V-1: the true word is among them once (an accidental hit, removed), so the logits are exactly the V words'.
    const cands = tf.tensor1d(
      Int32Array.from({ length: V }, (_, i) => i),
      'int32',
    ) as Tensor1D;
    const sampled = sampledSoftmaxLoss(tf, H, y, K, b, cands, tf.zeros([V]) as Tensor1D, tf.zeros([N]) as Tensor1D).dataSync()[0]!;
    assert.ok(Math.abs(full - sampled) < 1e-5, `full ${full}, sampled ${sampled}`);
  });
});

test('unigram perplexity: a uniform stream over V ids has perplexity ~V; a skewed one less', () => {
  const uniform = Int32Array.from({ length: 10_000 }, (_, i) => i % 10);
  assert.ok(Math.abs(unigramPerplexity(uniform, uniform, 10) - 10) < 0.01);
  const skewed = Int32Array.from({ length: 10_000 }, (_, i) => (i % 10 === 0 ? 1 : 0));
  assert.ok(unigramPerplexity(skewed, skewed, 10) < 2);
});

/** A small language model on 1,500 real reviews, two epochs, with `o`'s options over these. */
function smallLm(o: Partial<PretrainOptions> = {}) {
  const options = resolvePretrainOptions({
    cell: 'gru',
    seed: 42,
    limit: 1500,
    vocabSize: 2000,
    units: 32,
    embeddingDim: 16,
    epochs: 2,
    validationSplit: 0.05,
    ...o,
  });
  return {
    o: options,
    run: pretrain(
      run,
      reviews.map((r) => r.text),
      options,
    ),
  };
}

/** The training and held-out losses fall over the two epochs; the held-out perplexity beats the unigram model's by 10%. */
function assertLearns(lm: PretrainResult): void {
  const h = lm.history;
  assert.equal(h.length, 2);
  assert.ok(h[1]!.loss < h[0]!.loss, `training loss ${h[0]!.loss} → ${h[1]!.loss}`);
  assert.ok(h[1]!.val_loss! < h[0]!.val_loss!, `held-out loss ${h[0]!.val_loss} → ${h[1]!.val_loss}`);
  assert.ok(
    h[1]!.val_perplexity! < 0.9 * lm.unigramPerplexity,
    `perplexity ${h[1]!.val_perplexity} against the unigram's ${lm.unigramPerplexity}`,
  );
}

test("on real reviews the loss falls and the held-out perplexity beats the unigram model's; a classifier from it holds exactly its tokenizer, embedding and recurrent weights", async () => {
  const small = smallLm();
  const o = small.o;
  const lm = await small.run;
  assertLearns(lm);
  assert.ok(
    lm.fingerprints.length <= 1500 && lm.fingerprints.length > 1490,
    `${lm.fingerprints.length} fingerprints of the 1,500 texts used`,
  );

  // A classifier started from it: the LM's tokenizer, and its embedding and recurrent weights before any step.
  const co = resolveTrainOptions({
    cell: 'gru',
    seed: 1,
    limit: 64,
    epochs: 1,
    vocabSize: 2000,
    units: 32,
    embeddingDim: 16,
    init: '/lm',
    validationSplit: 0.5,
  });
  const init = { dir: '/lm', tokenizer: lm.tokenizer, options: o, model: lm.model };
  const body = (m: typeof lm.model) =>
    m
      .getWeights()
      .slice(0, 4)
      .map((w) => w.dataSync() as Float32Array);
  const want = body(lm.model).map((w) => w.slice());
  let seen: Float32Array[] | undefined;
  const c = await train(
    run,
    reviews,
    co,
    { onModel: (m) => (seen = body(m).map((w) => w.slice())), shouldStop: () => true },
    undefined,
    undefined,
    init,
  );
  assert.ok(c.interrupted, 'stopped before the first batch');
  assert.equal(seen!.length, 4);
  seen!.forEach((w, i) => assert.deepEqual(w, want[i], `weight ${i} is the language model's`));
  assert.equal(c.tokenizer, lm.tokenizer);
  c.model.dispose();

  // Shapes that differ: one INIT_MISMATCH line naming the difference.
  assert.throws(
    () => checkInitFits(resolveTrainOptions({ cell: 'gru', seed: 1, vocabSize: 2000, units: 64, embeddingDim: 16, init: '/lm' }), init),
    (e: unknown) => e instanceof UserError && e.code === 'INIT_MISMATCH' && /units is 32, the classifier's 64/.test(e.message),
  );
  assert.throws(
    () => checkInitFits(resolveTrainOptions({ cell: 'lstm', seed: 1, vocabSize: 2000, units: 32, embeddingDim: 16, init: '/lm' }), init),
    (e: unknown) => e instanceof UserError && e.code === 'INIT_MISMATCH' && /cell is gru/.test(e.message),
  );
  assert.throws(
    () => checkInitFits(resolveTrainOptions({ cell: 'gru', seed: 1, vocabSize: 10000, units: 32, embeddingDim: 16, init: '/lm' }), init),
    (e: unknown) => e instanceof UserError && e.code === 'INIT_MISMATCH' && /vocabSize/.test(e.message),
  );
  lm.model.dispose();
});

test("the stream layout (texts end to end, windows of 64): on real reviews the loss falls and the held-out perplexity beats the unigram model's", async () => {
  const lm = await smallLm({ layout: 'stream', bptt: 64, batchSize: 64 }).run;
  assertLearns(lm);
  // Every window of 64 steps, the 0 between texts among its targets.
  assert.equal(lm.counts.windows, Math.floor((lm.counts.trainTokens - 1) / 64));
  lm.model.dispose();
});

test(
  "with rnn's oneDNN kernels a step (embedding, recurrent layer, clip and Adam in the addon) computes what tfjs's step computes, for every cell and both softmaxes",
  { skip: skipOnednn },
  async () => {
    assert.equal(run.kernels.name, 'onednn');
    const texts = reviews.slice(0, 240).map((r) => r.text);
    for (const [cell, softmax] of [
      ['lstm', 'sampled'],
      ['gru', 'sampled'],
      ['simplernn', 'full'],
    ] as const) {
      const o = resolvePretrainOptions({
        cell,
        seed: 7,
        vocabSize: 500,
        units: 12,
        embeddingDim: 8,
        bptt: 40,
        batchSize: 16,
        epochs: 2,
        softmax,
        samples: 64,
        wordDropout: 0.1,
        validationSplit: 0.1,
        clipNorm: 0.1, // below these models' gradient norms: every step is clipped
      });
      const onednn = await pretrain(run, texts, o);
      const tfjs = await pretrain({ ...run, kernels: tfjsKernels('tests') }, texts, o);
      assert.equal(onednn.kernels.name, 'onednn');
      assert.equal(tfjs.kernels.name, 'tfjs');
      // Every number a run reports, and the weights it keeps: float32 sums in another order (the loss's, and the clip's
      // norm in double precision) over two epochs of Adam steps.
      onednn.history.forEach((h, i) => {
        const t = tfjs.history[i]!;
        for (const k of ['loss', 'val_loss'] as const)
          assert.ok(Math.abs(h[k]! - t[k]!) < 1e-4 * t[k]!, `${cell}, epoch ${i + 1}: ${k} ${h[k]} against tfjs's ${t[k]}`);
      });
      const a = onednn.model.getWeights().map((w) => Array.from(w.dataSync()));
      const b = tfjs.model.getWeights().map((w) => Array.from(w.dataSync()));
      a.forEach((w, i) => {
        const d = w.reduce((m, v, j) => Math.max(m, Math.abs(v - b[i]![j]!)), 0);
        assert.ok(d < 1e-5, `${cell}: weight ${i} differs by ${d}`);
      });
      onednn.model.dispose();
      tfjs.model.dispose();
    }
  },
);
