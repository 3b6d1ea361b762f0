/**
 * The page's padding shortcut (src/web/padding.ts) against stock `model.predict` over the whole padded rows:
 * within 1e-5 for every cell, stacked layers, k classes, rows of every length (empty, one id, maxlen, longer
 * than maxlen); the models it does not hold for (bidirectional, pooled, masked, 'post' padding) say why and
 * give model.predict's outputs.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { loadBackend, type TF } from '../../src/backend/index.js';
import { padSequences } from '../../src/text/pad.js';
import { paddedForward } from '../../src/web/padding.js';
import { REQUIRE_NATIVE } from '../helpers.js';

const MAXLEN = 40;
const VOCAB = 300;
let tf: TF;

before(async () => {
  tf = (await loadBackend({ requireNative: REQUIRE_NATIVE })).tf;
});

/** A deterministic stream in [0, 1). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

/** Rows of ids 1..VOCAB-1 of every kind of length, and the same rows padded as the page pads them. */
function rows(padding: 'pre' | 'post' = 'pre'): Int32Array {
  const r = random(7);
  const lengths = [0, 1, 2, 3, 3, 3, 7, 20, MAXLEN - 1, MAXLEN, MAXLEN + 15, 5, 0];
  const seqs = lengths.map((n) => Array.from({ length: n }, () => 1 + Math.floor(r() * (VOCAB - 1))));
  return padSequences(seqs, { maxlen: MAXLEN, padding, truncating: 'pre' });
}

type Recurrent = 'lstm' | 'gru' | 'simpleRNN';

function model(
  recurrent: Recurrent[],
  o: { classes?: number; bidirectional?: boolean; pooling?: boolean; mask?: boolean } = {},
): LayersModel {
  const seed = recurrent.length * 10 + (o.classes ?? 2);
  const layers = [
    tf.layers.embedding({
      inputDim: VOCAB,
      outputDim: 12,
      inputLength: MAXLEN,
      maskZero: o.mask ?? false,
      embeddingsInitializer: tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed }),
    }),
    ...recurrent.map((cell, i) => {
      const c = {
        units: 10,
        returnSequences: i < recurrent.length - 1 || (o.pooling ?? false),
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + i + 1 }),
        recurrentInitializer: tf.initializers.orthogonal({ seed: seed + i + 2 }),
        biasInitializer: tf.initializers.randomUniform({ minval: -0.3, maxval: 0.3, seed: seed + i + 3 }),
      };
      const l = tf.layers[cell](c);
      return o.bidirectional ? tf.layers.bidirectional({ layer: l as never, mergeMode: 'concat' }) : l;
    }),
    ...(o.pooling ? [tf.layers.globalMaxPooling1d({})] : []),
    tf.layers.dropout({ rate: 0.5 }),
    o.classes
      ? tf.layers.dense({ units: o.classes, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 9 }) })
      : tf.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 9 }) }),
  ];
  return tf.sequential({ layers });
}

function predict(m: LayersModel, ids: Int32Array): Float32Array {
  return tf.tidy(() => (m.predict(tf.tensor2d(ids, [ids.length / MAXLEN, MAXLEN], 'int32')) as Tensor).dataSync() as Float32Array);
}

function largestDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

const SHORTCUT: Array<{ name: string; cells: Recurrent[]; classes?: number }> = [
  { name: 'LSTM', cells: ['lstm'] },
  { name: 'GRU', cells: ['gru'] },
  { name: 'SimpleRNN', cells: ['simpleRNN'] },
  { name: 'LSTM → GRU (stacked)', cells: ['lstm', 'gru'] },
  { name: 'GRU, 3 classes', cells: ['gru'], classes: 3 },
];

for (const c of SHORTCUT) {
  test(`${c.name}: only the real steps, from the padding state, give model.predict's outputs within 1e-5`, (t) => {
    const m = model(c.cells, { classes: c.classes });
    const ids = rows();
    const before = tf.memory().numTensors;
    const f = paddedForward(tf, m, { maxlen: MAXLEN, padding: 'pre' });
    assert.deepEqual(f.shortcut, { used: true });
    const got = f.probabilities(ids);
    const want = predict(m, ids);
    const d = largestDifference(got, want);
    t.diagnostic(`largest difference ${d}`);
    assert.ok(d <= 1e-5, `largest difference ${d}`);
    // The outputs move with the input (a shortcut that ignored the real ids would not).
    assert.ok(Math.max(...got) - Math.min(...got) > 1e-3, 'outputs differ between rows');
    f.dispose();
    assert.equal(tf.memory().numTensors, before, 'no tensors left');
    m.dispose();
  });
}

const FALLBACK: Array<{ name: string; build: () => LayersModel; padding?: 'pre' | 'post'; reason: RegExp }> = [
  { name: 'bidirectional', build: () => model(['lstm'], { bidirectional: true }), reason: /bidirectional/ },
  { name: 'max-pooled', build: () => model(['gru'], { pooling: true }), reason: /pools over time/ },
  { name: 'masked embedding', build: () => model(['gru'], { mask: true }), reason: /masks the padding/ },
  { name: "'post' padding", build: () => model(['lstm']), padding: 'post', reason: /'post'/ },
];

for (const c of FALLBACK) {
  test(`${c.name}: no shortcut, says why, and runs the whole sequence as model.predict does`, () => {
    const m = c.build();
    const ids = rows(c.padding);
    const f = paddedForward(tf, m, { maxlen: MAXLEN, padding: c.padding ?? 'pre' });
    assert.equal(f.shortcut.used, false);
    assert.match((f.shortcut as { reason: string }).reason, c.reason);
    assert.deepEqual(f.probabilities(ids), predict(m, ids));
    m.dispose();
  });
}
