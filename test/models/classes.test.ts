/**
 * Models of k ≥ 3 classes: Dense(k, softmax) on every cell and topology (two classes keep the lesson's
 * Dense(1, sigmoid)), recognised by classesOf and topologyOf, and saved so that stock `tf.loadLayersModel`
 * rebuilds them and gives the same probabilities.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { loadBackend, type LoadedBackend, type TF } from '../../src/backend/index.js';
import { buildModel, classesOf, summarize, topologyOf, type Topology } from '../../src/models/index.js';
import { CELLS } from '../../src/cells.js';
import { loadModelDir, saveModelDir, type UnsavedMetadata } from '../../src/io/model-dir.js';
import { resolveTrainOptions } from '../../src/train/options.js';
import { Tokenizer } from '../../src/text/tokenizer.js';
import { REQUIRE_NATIVE, tempDir } from '../helpers.js';
import { TOPOLOGIES } from '../onednn-helpers.js';

let tf: TF;
let backend: LoadedBackend;
before(async () => {
  backend = await loadBackend({ requireNative: REQUIRE_NATIVE });
  tf = backend.tf;
});

const SMALL = { vocabSize: 50, embeddingDim: 4, maxlen: 8, units: 3, seed: 1 };

test('classes 2 is the lesson head, Dense(1, sigmoid), as without the option; k ≥ 3 is Dense(k, softmax) with (features + 1)·k parameters', () => {
  for (const cell of CELLS) {
    const plain = buildModel(tf, { ...SMALL, cell, layers: 'fused' }, backend.kernels);
    const two = buildModel(tf, { ...SMALL, cell, layers: 'fused', classes: 2 }, backend.kernels);
    assert.deepEqual(two.toJSON(null, false), plain.toJSON(null, false), 'the same model.json');
    assert.deepEqual(
      two.getWeights().map((w) => [...w.dataSync()]),
      plain.getWeights().map((w) => [...w.dataSync()]),
      'the same initial weights',
    );
    assert.equal(classesOf(two), 2);
    for (const k of [3, 8]) {
      const m = buildModel(tf, { ...SMALL, cell, layers: 'fused', classes: k }, backend.kernels);
      const dense = m.layers[m.layers.length - 1]!;
      const c = dense.getConfig() as { units: number; activation: string };
      assert.deepEqual([dense.getClassName(), c.units, c.activation], ['Dense', k, 'softmax']);
      assert.deepEqual(summarize(m).layers.at(-1)!.outputShape, [null, k]);
      assert.equal(summarize(m).layers.at(-1)!.params, (3 + 1) * k);
      assert.equal(classesOf(m), k);
      // Below the head the model is the binary one, weight for weight (the same seeds).
      assert.deepEqual(
        m
          .getWeights()
          .slice(0, -2)
          .map((w) => [...w.dataSync()]),
        plain
          .getWeights()
          .slice(0, -2)
          .map((w) => [...w.dataSync()]),
      );
      m.dispose();
    }
    for (const m of [plain, two]) m.dispose();
  }
  assert.throws(() => buildModel(tf, { ...SMALL, cell: 'gru', layers: 'fused', classes: 1 }, backend.kernels), /2 or more classes, not 1/);
});

test('topologyOf takes a softmax head on every topology; classesOf refuses heads rnn does not build', () => {
  for (const cell of CELLS)
    for (const t of TOPOLOGIES)
      for (const layers of ['fused', 'stock'] as const) {
        const m = buildModel(tf, { ...SMALL, ...t, cell, layers, classes: 5 }, backend.kernels);
        assert.deepEqual(topologyOf(m, cell), t, `${cell} ${JSON.stringify(t)} ${layers}`);
        m.dispose();
      }
  const head = (units: number, activation: 'sigmoid' | 'softmax' | 'linear'): LayersModel =>
    tf.sequential({
      layers: [
        tf.layers.embedding({ inputDim: 20, outputDim: 3, inputLength: 6 }),
        tf.layers.gru({ units: 2, recurrentActivation: 'sigmoid' }),
        tf.layers.dense({ units, activation }),
      ],
    });
  const cases: Array<[string, LayersModel, number | undefined]> = [
    ['Dense(1, sigmoid)', head(1, 'sigmoid'), 2],
    ['Dense(4, softmax)', head(4, 'softmax'), 4],
    ['Dense(2, softmax): two classes are the sigmoid head', head(2, 'softmax'), undefined],
    ['Dense(1, softmax)', head(1, 'softmax'), undefined],
    ['Dense(3, sigmoid)', head(3, 'sigmoid'), undefined],
    ['Dense(3, linear)', head(3, 'linear'), undefined],
  ];
  for (const [what, m, classes] of cases) {
    assert.equal(classesOf(m), classes, what);
    assert.equal(topologyOf(m, 'gru') !== undefined, classes !== undefined, what);
    m.dispose();
  }
});

function metadataFor(): UnsavedMetadata {
  const o = resolveTrainOptions({ cell: 'lstm', ...SMALL });
  return {
    formatVersion: 1,
    createdAt: new Date(0).toISOString(),
    cell: 'lstm',
    hyperParameters: o,
    preprocessing: {
      tokenizer: 'keras.preprocessing.text.Tokenizer',
      numWords: 50,
      maxlen: 8,
      padding: 'pre',
      truncating: 'pre',
      oovToken: null,
      htmlLineBreaks: 'replaced by spaces',
    },
    params: { total: 0, trainable: 0 },
    history: [],
    timings: { tokenizeSeconds: 0, trainSeconds: 0, totalSeconds: 0, secondsPerEpoch: 0 },
    samplesPerSec: 0,
    backend: { name: 'test' },
    versions: { rnn: 'test', tfjs: 'test', node: process.versions.node },
  };
}

const predict = (m: LayersModel, x: Int32Array): Float32Array =>
  tf.tidy(() => (m.predict(tf.tensor2d(x, [x.length / 8, 8], 'int32')) as Tensor).dataSync() as Float32Array);

const topologies: Topology[] = [TOPOLOGIES[0]!, { bidirectional: true, pooling: 'max' }, { bidirectional: false, pooling: 'mean' }];
for (const cell of CELLS)
  for (const t of topologies)
    test(`${cell}, ${t.bidirectional ? 'bidirectional, ' : ''}pooling ${t.pooling}, 6 classes: save → stock tf.loadLayersModel → the same probabilities`, async () => {
      const model = buildModel(tf, { ...SMALL, ...t, cell, layers: 'fused', classes: 6, seed: 7 }, backend.kernels);
      // Weights large enough that the classes' probabilities differ clearly.
      model.setWeights(model.getWeights().map((w, i) => tf.tidy(() => w.mul(i === 0 ? 20 : 3))));
      const dir = path.join(await tempDir(), cell);
      await saveModelDir(tf, dir, model, new Tokenizer({ numWords: 50 }).fitOnTexts(['a b c']), metadataFor());
      const x = Int32Array.from({ length: 7 * 8 }, (_, i) => (i < 8 ? 0 : (i * 13) % 50));
      const want = predict(model, x);
      assert.equal(want.length, 7 * 6);
      for (let r = 0; r < 7; r++) {
        const row = want.subarray(r * 6, r * 6 + 6);
        assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5, 'each row sums to 1');
      }
      assert.ok(Math.max(...want) - Math.min(...want) > 0.05, `the probabilities differ (${Math.min(...want)}–${Math.max(...want)})`);
      const stock = await tf.loadLayersModel(`file://${path.join(dir, 'model.json')}`);
      const dense = stock.layers[stock.layers.length - 1]!.getConfig() as { units: number; activation: string };
      assert.deepEqual([dense.units, dense.activation], [6, 'softmax']);
      const got = predict(stock, x);
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-6, `stock loader: ${got[i]} vs ${want[i]}`);
      const ours = await loadModelDir(backend, dir);
      assert.deepEqual(predict(ours.model, x), want, "rnn's loader predicts exactly as before saving");
      assert.equal(classesOf(ours.model), 6);
      for (const m of [stock, ours.model, model]) m.dispose();
    });
