import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadBackend, type TF } from '../../src/backend/index.js';
import type { Kernels } from '../../src/kernels/index.js';
import { buildModel, kernelsFor, summarize, topologyOf } from '../../src/models/index.js';
import { CELLS } from '../../src/cells.js';
import { REQUIRE_NATIVE } from '../helpers.js';

let tf: TF;
let kernels: Kernels;
before(async () => {
  ({ tf, kernels } = await loadBackend({ requireNative: REQUIRE_NATIVE }));
});

// Parameter counts of the lesson's model (vocab 10000, dim 100, maxlen 256, 128 units), as Keras 3.15.1 counts them:
//   keras.Sequential([keras.Input((256,)), keras.layers.Embedding(10000, 100), keras.layers.LSTM(128),
//                     keras.layers.Dense(1, activation='sigmoid')]) → [l.count_params() for l in m.layers]
// gives 1,000,000 / 117,248 / 129 (SimpleRNN: 29,312). Keras's default GRU has reset_after=True and 88,320;
// tfjs's GRU is keras.layers.GRU(128, reset_after=False), which Keras counts as 87,936.
const counts = { simplernn: 29312, lstm: 117248, gru: 87936 } as const;
for (const cell of CELLS) {
  test(`the lesson's ${cell} model: shapes and parameter counts`, () => {
    const m = buildModel(tf, { cell, vocabSize: 10000, embeddingDim: 100, maxlen: 256, units: 128, seed: 1, layers: 'fused' }, kernels);
    const s = summarize(m);
    assert.deepEqual(
      s.layers.map((l) => [l.className, l.outputShape, l.params]),
      [
        ['Embedding', [null, 256, 100], 1000000],
        [{ simplernn: 'SimpleRNN', lstm: 'LSTM', gru: 'GRU' }[cell], [null, 128], counts[cell]],
        ['Dense', [null, 1], 129],
      ],
    );
    assert.equal(s.totalParams, 1000000 + counts[cell] + 129);
    assert.equal(s.trainableParams, s.totalParams);
    m.dispose();
  });
  for (const layers of ['fused', 'stock'] as const) {
    test(`building and disposing the ${cell} model (${layers} layers) leaves no tensors behind`, () => {
      const before = tf.memory().numTensors;
      const m = buildModel(tf, { cell, vocabSize: 50, embeddingDim: 4, maxlen: 8, units: 3, seed: 1, layers }, kernels);
      assert.equal(m.getWeights().length, 6, 'the weights are kept');
      m.dispose();
      assert.equal(tf.memory().numTensors, before);
    });
  }
}

test('the same seed gives the same initial weights; another seed gives other weights, every one of them', () => {
  const before = tf.memory().numTensors;
  const build = (seed: number) =>
    buildModel(tf, { cell: 'lstm', vocabSize: 50, embeddingDim: 4, maxlen: 8, units: 3, seed, layers: 'fused' }, kernels);
  const [a, b, c] = [build(9), build(9), build(10)];
  const values = (m: ReturnType<typeof build>) => m.getWeights().map((w) => [...w.dataSync()]);
  const [wa, wb, wc] = [values(a), values(b), values(c)];
  assert.deepEqual(wa, wb);
  // Every seeded initializer follows the seed: the embeddings, kernel, recurrent kernel and dense kernel. The
  // biases start at constants (zeros; the LSTM's forget gate at one), the same for any seed.
  const names = a.weights.map((w) => w.originalName);
  const differs = wa.map((w, i) => w.some((v, j) => v !== wc[i]![j]));
  assert.deepEqual(
    names.map((n, i) => [n, differs[i]]),
    [
      ['embedding/embeddings', true],
      ['lstm/kernel', true],
      ['lstm/recurrent_kernel', true],
      ['lstm/bias', false],
      ['dense/kernel', true],
      ['dense/bias', false],
    ],
  );
  for (const m of [a, b, c]) m.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test('topologyOf: the topology of a model of its own cell, whichever layers run it; kernelsFor: stock layers run on tfjs', () => {
  const topologies = [
    { bidirectional: false, pooling: 'last' },
    { bidirectional: true, pooling: 'last' },
    { bidirectional: false, pooling: 'max' },
    { bidirectional: true, pooling: 'mean' },
  ] as const;
  for (const cell of CELLS) {
    for (const layers of ['fused', 'stock'] as const) {
      for (const t of topologies) {
        const m = buildModel(tf, { cell, vocabSize: 50, embeddingDim: 4, maxlen: 8, units: 3, seed: 1, layers, ...t }, kernels);
        assert.deepEqual(
          CELLS.map((c) => topologyOf(m, c)),
          CELLS.map((c) => (c === cell ? t : undefined)),
        );
        m.dispose();
      }
    }
  }
  assert.equal(kernelsFor('fused', kernels), kernels);
  assert.deepEqual(kernelsFor('stock', kernels), { name: 'tfjs', reason: 'stock tfjs-layers were requested (--layers stock)' });
});

test('topologyOf refuses what the kernels do not compute: a layer going backwards alone, a mask, a sum merge, other layers', () => {
  const emb = (maskZero = false) => tf.layers.embedding({ inputDim: 20, outputDim: 3, inputLength: 6, maskZero });
  const dense = () => tf.layers.dense({ units: 1, activation: 'sigmoid' });
  const lstm = (o: { goBackwards?: boolean; returnSequences?: boolean } = {}) =>
    tf.layers.lstm({ units: 2, recurrentActivation: 'sigmoid', ...o });
  const cases: Array<[string, () => unknown[]]> = [
    ['going backwards', () => [emb(), lstm({ goBackwards: true }), dense()]],
    ['masked', () => [emb(true), lstm(), dense()]],
    ['summed directions', () => [emb(), tf.layers.bidirectional({ layer: lstm(), mergeMode: 'sum' }), dense()]],
    ['a hidden dense layer', () => [emb(), lstm(), tf.layers.dense({ units: 4 }), dense()]],
    ['sequences without pooling', () => [emb(), lstm({ returnSequences: true }), tf.layers.flatten(), dense()]],
  ];
  for (const [what, layers] of cases) {
    const m = tf.sequential({ layers: layers() as never });
    assert.equal(topologyOf(m, 'lstm'), undefined, what);
    m.dispose();
  }
  const ok = tf.sequential({ layers: [emb(), lstm(), dense()] });
  assert.deepEqual(
    topologyOf(ok, 'lstm'),
    { bidirectional: false, pooling: 'last' },
    'the same model, built by hand, is the lesson topology',
  );
  ok.dispose();
});
