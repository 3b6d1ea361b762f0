/**
 * The page's padding shortcut (src/web/padding.ts) against stock `model.predict` over the whole padded rows:
 * within 1e-5 for every cell, stacked layers, k classes, rows of every length (empty, one id, maxlen, longer
 * than maxlen); rows that share their first ids (explanations of real reviews, a random prefix tree) computed
 * once per distinct prefix; a run stopped half-way frees its tensors; the models it does not hold for
 * (bidirectional, pooled, masked, 'post' padding) say why and give model.predict's outputs.
 */
import { before, test } from 'node:test';
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { loadBackend, type TF } from '../../src/backend/index.js';
import { padSequences } from '../../src/text/pad.js';
import { Tokenizer } from '../../src/text/tokenizer.js';
import { planExplanation } from '../../src/explain/occlusion.js';
import { paddedForward } from '../../src/web/padding.js';
import { REQUIRE_NATIVE, imdb } from '../helpers.js';

const MAXLEN = 40;
const VOCAB = 300;
let tf: TF;
/** Real test reviews' explanation rows (each review whole, then without each word that reaches the model). */
let explained: Int32Array;

before(async () => {
  tf = (await loadBackend({ requireNative: REQUIRE_NATIVE })).tf;
  const data = await imdb();
  const tokenizer = new Tokenizer({ numWords: VOCAB }).fitOnTexts(data.train.slice(0, 300).map((r) => r.text));
  const m = {
    tokenizer,
    metadata: { cell: 'lstm', preprocessing: { maxlen: MAXLEN, padding: 'pre' as const, truncating: 'pre' as const } },
  };
  // Short and long ones (longer than maxlen: their rows begin with ids the review whole does not reach).
  const texts = [
    data.test[3]!.text.split(' ').slice(0, 12).join(' '),
    data.test[3]!.text,
    data.test[40]!.text.split(' ').slice(0, 30).join(' '),
  ];
  const plans = texts.map((t) => planExplanation(m, t).ids);
  explained = new Int32Array(plans.reduce((n, p) => n + p.length, 0));
  plans.reduce((at, p) => (explained.set(p, at), at + p.length), 0);
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

/** Row-steps with every distinct prefix computed once: per step, the distinct prefixes of the rows whose padding has ended. */
function distinctPrefixSteps(ids: Int32Array): number {
  let steps = 0;
  const rows = ids.length / MAXLEN;
  for (let t = 0; t < MAXLEN; t++) {
    const seen = new Set<string>();
    for (let r = 0; r < rows; r++) {
      const row = ids.subarray(r * MAXLEN, r * MAXLEN + t + 1);
      if (row.some((v) => v !== 0)) seen.add(row.join(','));
    }
    steps += seen.size;
  }
  return steps;
}

/**
 * Rows of a random prefix tree, padded: each new row copies the first positions of an earlier one (padding
 * included) and goes on with ids of its own, some of them all padding or with none.
 */
function tree(): Int32Array {
  const r = random(11);
  const first = rows().subarray(7 * MAXLEN, 8 * MAXLEN); // 20 ids after 20 padding
  const out: Int32Array[] = [first];
  for (let i = 0; i < 40; i++) {
    const from = out[Math.floor(r() * out.length)]!;
    const keep = Math.floor(r() * (MAXLEN + 1));
    const row = new Int32Array(MAXLEN);
    row.set(from.subarray(0, keep));
    for (let k = keep; k < MAXLEN; k++) row[k] = 1 + Math.floor(r() * 3);
    out.push(row);
  }
  out.push(new Int32Array(MAXLEN)); // all padding
  const ids = new Int32Array(out.length * MAXLEN);
  out.forEach((row, i) => ids.set(row, i * MAXLEN));
  return ids;
}

for (const c of [SHORTCUT[0]!, SHORTCUT[1]!, SHORTCUT[3]!]) {
  test(`${c.name}: rows that share their first ids (explanations of real reviews, a prefix tree) compute each prefix once, with model.predict's outputs`, (t) => {
    const m = model(c.cells, { classes: c.classes });
    const f = paddedForward(tf, m, { maxlen: MAXLEN, padding: 'pre' });
    const before = tf.memory().numTensors;
    for (const [name, ids] of [
      ['explanations', explained],
      ['prefix tree', tree()],
    ] as const) {
      const run = f.run(ids);
      let r = run.next();
      while (!r.done) r = run.next();
      const d = largestDifference(r.value.outputs, predict(m, ids));
      t.diagnostic(
        `${name}: ${ids.length / MAXLEN} rows, ${r.value.rowSteps} row-steps (whole rows: ${ids.length}), largest difference ${d}`,
      );
      assert.ok(d <= 1e-5, `${name}: largest difference ${d}`);
      assert.equal(r.value.rowSteps, distinctPrefixSteps(ids), `${name}: one row-step per distinct prefix`);
      assert.ok(r.value.rowSteps < ids.length / 2, `${name}: shared prefixes save steps`);
    }
    // Stopped after a few steps (a newer text in the page): what the run held is freed.
    const run = f.run(explained);
    for (let i = 0; i < 5; i++) run.next();
    run.return(undefined as never);
    assert.equal(tf.memory().numTensors, before, 'no tensors left');
    f.dispose();
    m.dispose();
  });
}

test("on tfjs's wasm backend (the page's, where tanh is computed as 2σ(2x) − 1): explanation rows of real reviews within 1e-5 of model.predict", async (t) => {
  const wasmBackend = createRequire(import.meta.url)('@tensorflow/tfjs-backend-wasm') as object;
  assert.ok(wasmBackend);
  const was = tf.getBackend();
  assert.equal(await tf.setBackend('wasm'), true, 'the wasm backend starts in Node');
  try {
    for (const c of [SHORTCUT[0]!, SHORTCUT[1]!, SHORTCUT[2]!]) {
      const m = model(c.cells);
      const f = paddedForward(tf, m, { maxlen: MAXLEN, padding: 'pre' });
      const d = largestDifference(f.probabilities(explained), predict(m, explained));
      t.diagnostic(`${c.name} on ${tf.getBackend()}: largest difference ${d}`);
      assert.ok(d <= 1e-5, `${c.name}: largest difference ${d}`);
      f.dispose();
      m.dispose();
    }
  } finally {
    await tf.setBackend(was);
  }
});

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
