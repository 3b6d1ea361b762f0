/**
 * Model directories: a model with rnn's fused layers, saved, loads with stock `tf.loadLayersModel` (native
 * `file://` handler and the pure-JS cpu backend) as stock layers that predict the same (within 1e-5), for all
 * three cells; every broken directory is a clear UserError.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { loadBackend, type Runtime, type TF } from '../../src/backend/index.js';
import { buildModel } from '../../src/models/index.js';
import { LESSON_TOPOLOGY, type Topology } from '../../src/kernels/lesson.js';
import { CELLS, type CellType } from '../../src/cells.js';
import { saveModelDir, loadModelDir, type UnsavedMetadata } from '../../src/io/model-dir.js';
import { resolveTrainOptions } from '../../src/train/options.js';
import { Tokenizer } from '../../src/text/tokenizer.js';
import { UserError, type ErrorCode } from '../../src/errors.js';
import { escapeRegExp as esc, REQUIRE_NATIVE, tempDir } from '../helpers.js';

let tf: TF;
let run: Runtime;
let native = false;
before(async () => {
  const b = await loadBackend({ requireNative: REQUIRE_NATIVE });
  tf = b.tf;
  run = b;
  native = b.native;
});

const MAXLEN = 12;

function metadataFor(cell: CellType): Parameters<typeof saveModelDir>[4] {
  const o = resolveTrainOptions({ cell, maxlen: MAXLEN, vocabSize: 50, units: 8, embeddingDim: 6, seed: 3 });
  return {
    formatVersion: 1,
    createdAt: new Date(0).toISOString(),
    cell,
    hyperParameters: o,
    preprocessing: {
      tokenizer: 'keras.preprocessing.text.Tokenizer',
      numWords: 50,
      maxlen: MAXLEN,
      padding: 'pre',
      truncating: 'pre',
      oovToken: null,
      htmlLineBreaks: 'replaced by spaces',
    },
    dataset: { kind: 'csv', path: '/x.csv', sha256: '0', trainReviews: 1, validationReviews: 0, truncatedShare: 0 },
    params: { total: 0, trainable: 0 },
    history: [],
    timings: { tokenizeSeconds: 0, trainSeconds: 0, totalSeconds: 0, secondsPerEpoch: 0 },
    samplesPerSec: 0,
    backend: { name: 'test' },
    versions: { rnn: 'test', tfjs: 'test', node: process.versions.node },
  } satisfies UnsavedMetadata;
}

function predict(model: LayersModel, x: Int32Array): number[] {
  return tf.tidy(() => [...(model.predict(tf.tensor2d(x, [x.length / MAXLEN, MAXLEN], 'int32')) as Tensor).dataSync()]);
}

const x = Int32Array.from({ length: 5 * MAXLEN }, (_, i) => (i * 13) % 50);
const tokenizer = new Tokenizer({ numWords: 50 }).fitOnTexts(['a good film', 'a bad film']);

async function savedModel(cell: CellType, topology: Topology = LESSON_TOPOLOGY): Promise<{ dir: string; model: LayersModel }> {
  const model = buildModel(
    tf,
    { cell, vocabSize: 50, embeddingDim: 6, maxlen: MAXLEN, units: 8, seed: 3, layers: 'fused', ...topology },
    run.kernels,
  );
  const dir = path.join(await tempDir(), cell);
  await saveModelDir(tf, dir, model, tokenizer, metadataFor(cell));
  return { dir, model };
}

// The lesson's model, and the recipe's topologies (Bidirectional, GlobalMaxPooling1D / GlobalAveragePooling1D: stock layers).
const TOPOLOGIES: Topology[] = [LESSON_TOPOLOGY, { bidirectional: true, pooling: 'max' }, { bidirectional: false, pooling: 'mean' }];
for (const [cell, topology] of CELLS.flatMap((c) => TOPOLOGIES.map((t) => [c, t] as const))) {
  const shape = topology === LESSON_TOPOLOGY ? '' : `${topology.bidirectional ? 'bidirectional, ' : ''}${topology.pooling} pooling, `;
  test(`${cell}, ${shape}save → stock tf.loadLayersModel → identical predictions (native file:// and pure-JS cpu)`, async () => {
    const { dir, model } = await savedModel(cell, topology);
    assert.deepEqual((await fsp.readdir(dir)).sort(), ['metadata.json', 'model.json', 'tokenizer.json', 'weights.bin']);
    const want = predict(model, x);
    const stock: LayersModel[] = [];
    if (native) {
      stock.push(await tf.loadLayersModel(`file://${path.join(dir, 'model.json')}`));
    }
    // Any tfjs runtime: the pure-JS cpu backend, loading the same files from memory as a browser would over HTTP.
    const json = JSON.parse(await fsp.readFile(path.join(dir, 'model.json'), 'utf8'));
    const weights = await fsp.readFile(path.join(dir, 'weights.bin'));
    const previous = tf.getBackend();
    await tf.setBackend('cpu');
    try {
      const cpuModel = await tf.loadLayersModel(
        tf.io.fromMemory({
          modelTopology: json.modelTopology,
          weightSpecs: json.weightsManifest[0].weights,
          weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
        }),
      );
      const got = predict(cpuModel, x);
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-5, `cpu backend: ${got[i]} vs ${want[i]}`);
      cpuModel.dispose();
    } finally {
      await tf.setBackend(previous);
    }
    for (const m of stock) {
      const recurrent = { simplernn: 'SimpleRNN', lstm: 'LSTM', gru: 'GRU' }[cell];
      assert.equal(m.layers[1]!.getClassName(), topology.bidirectional ? 'Bidirectional' : recurrent);
      if (topology.bidirectional) {
        const inner = (m.layers[1]!.getConfig() as { layer: { className: string } }).layer;
        assert.equal(inner.className, recurrent);
      }
      const got = predict(m, x);
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-5, `stock loader: ${got[i]} vs ${want[i]}`);
      m.dispose();
    }
    const ours = await loadModelDir(run, dir);
    assert.deepEqual(predict(ours.model, x), want, "rnn's loader (fused layers) predicts exactly as before saving");
    assert.deepEqual([...ours.tokenizer.wordIndex], [...tokenizer.wordIndex]);
    ours.model.dispose();
    model.dispose();
  });
}

// What model.json must say for Keras (and tfjs) to rebuild the seed's layers: Keras's defaults where tfjs's differ
// (tfjs's recurrent activation default is hardSigmoid, Keras's sigmoid), the LSTM's forget-gate bias of one, and
// the GRU's reset_after=false spelled out (Keras 3's GRU defaults to reset_after=True, another GRU with other
// weight shapes; tfjs's GRU is the reset_after=False one).
const kerasConfigs: Array<{ cell: CellType; className: string; config: Record<string, unknown> }> = [
  { cell: 'simplernn', className: 'SimpleRNN', config: { activation: 'tanh', use_bias: true, return_sequences: false } },
  {
    cell: 'lstm',
    className: 'LSTM',
    config: { activation: 'tanh', recurrent_activation: 'sigmoid', use_bias: true, unit_forget_bias: true, return_sequences: false },
  },
  {
    cell: 'gru',
    className: 'GRU',
    config: { activation: 'tanh', recurrent_activation: 'sigmoid', use_bias: true, reset_after: false, return_sequences: false },
  },
];
for (const c of kerasConfigs) {
  test(`the saved ${c.cell} keeps Keras semantics: ${Object.entries(c.config)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}`, async () => {
    const { dir, model } = await savedModel(c.cell);
    const json = JSON.parse(await fsp.readFile(path.join(dir, 'model.json'), 'utf8'));
    const layers = json.modelTopology.config.layers as Array<{ class_name: string; config: Record<string, unknown> }>;
    assert.deepEqual(
      layers.map((l) => l.class_name),
      ['Embedding', c.className, 'Dense'],
    );
    const rnn = layers[1]!.config;
    assert.deepEqual(Object.fromEntries(Object.keys(c.config).map((k) => [k, rnn[k]])), c.config);
    assert.deepEqual({ units: layers[2]!.config.units, activation: layers[2]!.config.activation }, { units: 1, activation: 'sigmoid' });
    model.dispose();
  });
}

const breakages: Array<{ name: string; breakIt: (dir: string) => Promise<void>; code: ErrorCode; what: (dir: string) => string | RegExp }> =
  [
    {
      name: 'missing model.json',
      breakIt: (d) => fsp.rm(path.join(d, 'model.json')),
      code: 'MODEL_FILE_MISSING',
      what: (d) => `${path.join(d, 'model.json')} is missing`,
    },
    {
      name: 'corrupt model.json',
      breakIt: (d) => fsp.writeFile(path.join(d, 'model.json'), '{"modelTopology":'),
      code: 'MODEL_FILE_INVALID',
      what: (d) => new RegExp(`^${esc(path.join(d, 'model.json'))} is not valid JSON \\(`),
    },
    {
      name: 'missing weights',
      breakIt: (d) => fsp.rm(path.join(d, 'weights.bin')),
      code: 'MODEL_FILE_MISSING',
      what: (d) => `${path.join(d, 'weights.bin')} is missing`,
    },
    {
      name: 'short weights',
      breakIt: (d) => fsp.truncate(path.join(d, 'weights.bin'), 100),
      code: 'MODEL_WEIGHTS_SIZE',
      what: (d) => new RegExp(`^the weights of ${esc(d)} are 100 bytes, model.json expects \\d+$`),
    },
    {
      name: 'missing tokenizer',
      breakIt: (d) => fsp.rm(path.join(d, 'tokenizer.json')),
      code: 'MODEL_FILE_MISSING',
      what: (d) => `${path.join(d, 'tokenizer.json')} is missing`,
    },
    {
      name: 'a tokenizer from another model',
      breakIt: (d) =>
        fsp.writeFile(path.join(d, 'tokenizer.json'), JSON.stringify(new Tokenizer({ numWords: 50 }).fitOnTexts(['other words']).toJSON())),
      code: 'MODEL_TOKENIZER_MISMATCH',
      what: (d) =>
        `${path.join(d, 'tokenizer.json')} is not the tokenizer this model was trained with (its hash differs from metadata.json)`,
    },
    {
      name: 'a tokenizer.json that is not a Keras tokenizer',
      breakIt: (d) => fsp.writeFile(path.join(d, 'tokenizer.json'), '{"class_name": "Other"}'),
      code: 'MODEL_TOKENIZER_INVALID',
      what: (d) =>
        `${path.join(d, 'tokenizer.json')} is not a Keras tokenizer: not a Keras Tokenizer JSON (class_name "Tokenizer" with a config)`,
    },
    // Regressions of the fuzz campaign (test/fuzz): each hung, filled memory or overflowed the stack.
    {
      name: 'a tokenizer.json that is a link to /dev/urandom (fuzz finding: a hang)',
      breakIt: async (d) => {
        await fsp.rm(path.join(d, 'tokenizer.json'));
        await fsp.symlink('/dev/urandom', path.join(d, 'tokenizer.json'));
      },
      code: 'MODEL_FILE_MISSING',
      what: (d) => `${path.join(d, 'tokenizer.json')} is not a regular file (a device, socket or pipe)`,
    },
    {
      name: 'a weights.bin of 5 GB (sparse), read no further than model.json expects',
      breakIt: (d) => fsp.truncate(path.join(d, 'weights.bin'), 5 * 2 ** 30),
      code: 'MODEL_WEIGHTS_SIZE',
      what: (d) => new RegExp(`^the weights of ${esc(d)} are larger than the \\d+ bytes model.json expects$`),
    },
    {
      name: 'a weight whose shape is nested 100,000 arrays deep',
      breakIt: async (d) => {
        const file = path.join(d, 'model.json');
        const text = await fsp.readFile(file, 'utf8');
        await fsp.writeFile(file, text.replace(/"shape":\[[^\]]*\]/, `"shape":${'['.repeat(100_000)}${']'.repeat(100_000)}`));
      },
      code: 'MODEL_JSON_INVALID',
      what: () => /has no name, a shape that is not a list of sizes, or an unknown type$/,
    },
    {
      // rnn export --web failed with "s.replace is not a function", reported as a bug.
      name: 'a metadata.json whose createdAt is an array (fuzz finding)',
      breakIt: async (d) => {
        const file = path.join(d, 'metadata.json');
        await fsp.writeFile(file, JSON.stringify({ ...JSON.parse(await fsp.readFile(file, 'utf8')), createdAt: [] }));
      },
      code: 'MODEL_METADATA_INVALID',
      what: (d) => `${path.join(d, 'metadata.json')} is not an rnn metadata file: createdAt must be string`,
    },
    {
      name: "a metadata.json whose dataset's validationReviews is an object",
      breakIt: async (d) => {
        const file = path.join(d, 'metadata.json');
        const m = JSON.parse(await fsp.readFile(file, 'utf8'));
        await fsp.writeFile(
          file,
          JSON.stringify({ ...m, dataset: { ...m.dataset, validationReviews: { constructor: { prototype: 1 } } } }),
        );
      },
      code: 'MODEL_METADATA_INVALID',
      what: () => /is not an rnn metadata file: dataset\.validationReviews must be integer$/,
    },
    {
      name: 'a metadata.json that is null',
      breakIt: (d) => fsp.writeFile(path.join(d, 'metadata.json'), 'null'),
      code: 'MODEL_METADATA_INVALID',
      what: () => /is not an rnn metadata file: the whole file must be object$/,
    },
    {
      name: 'no directory',
      breakIt: (d) => fsp.rm(d, { recursive: true }),
      code: 'MODEL_NOT_FOUND',
      what: (d) => `model directory ${d} does not exist`,
    },
  ];
for (const b of breakages) {
  test(`a model directory with ${b.name} is a clear error`, async () => {
    const { dir, model } = await savedModel('simplernn');
    model.dispose();
    await b.breakIt(dir);
    await assert.rejects(loadModelDir(run, dir), (e: unknown) => {
      assert.ok(e instanceof UserError, String(e));
      assert.equal(e.code, b.code);
      const want = b.what(dir);
      if (typeof want === 'string') assert.equal(e.message, want);
      else assert.match(e.message, want);
      return true;
    });
  });
}

test('saving over an existing model replaces it whole', async () => {
  const { dir, model } = await savedModel('gru');
  const other = buildModel(
    tf,
    { cell: 'gru', vocabSize: 50, embeddingDim: 6, maxlen: MAXLEN, units: 8, seed: 99, layers: 'fused' },
    run.kernels,
  );
  await saveModelDir(tf, dir, other, tokenizer, metadataFor('gru'));
  const loaded = await loadModelDir(run, dir);
  assert.deepEqual(predict(loaded.model, x), predict(other, x));
  assert.deepEqual(
    (await fsp.readdir(path.dirname(dir))).filter((f) => f.startsWith('.')),
    [],
    'no temporary directories left behind',
  );
  for (const m of [model, other, loaded.model]) m.dispose();
});

test('a save that crashed between its two renames is recovered: the previous model loads', async () => {
  const { dir, model } = await savedModel('gru');
  const want = predict(model, x);
  // replaceDir moves the old directory aside, then renames the new one in; a crash in between leaves this:
  const aside = path.join(path.dirname(dir), `.gru.tmp-999999-deadbeef-old`);
  await fsp.rename(dir, aside);
  await fsp.mkdir(path.join(path.dirname(dir), '.gru.tmp-999999-cafe0000')); // the staged copy, half written
  const m = await loadModelDir(run, dir);
  assert.deepEqual(
    predict(m.model, x).map((v) => v.toFixed(5)),
    want.map((v) => v.toFixed(5)),
  );
  // The next save cleans up what the crashed process (pid 999999, not running) left behind.
  await saveModelDir(tf, dir, model, tokenizer, metadataFor('gru'));
  assert.deepEqual((await fsp.readdir(path.dirname(dir))).sort(), ['gru']);
  m.model.dispose();
  model.dispose();
});

test('SIGKILL at any moment of repeated saves never leaves a model that does not load', async (t) => {
  if (!native) return t.skip('the child process saves with the native backend');
  const { dir, model } = await savedModel('simplernn');
  const want = predict(model, x);
  const script = path.join(path.dirname(dir), 'saver.mjs');
  const dist = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'src');
  await fsp.writeFile(
    script,
    `import { loadBackend } from '${dist}/backend/index.js';
     import { loadModelDir, saveModelDir } from '${dist}/io/model-dir.js';
     const b = await loadBackend({});
     const tf = b.tf;
     const m = await loadModelDir(b, ${JSON.stringify(dir)});
     process.stdout.write('ready\\n');
     for (;;) await saveModelDir(tf, ${JSON.stringify(dir)}, m.model, m.tokenizer, m.metadata);\n`,
  );
  const { spawn } = await import('node:child_process');
  for (const delay of [5, 17, 31, 53, 71, 97, 131, 173]) {
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise<void>((r) => child.stdout.once('data', () => r()));
    await new Promise((r) => setTimeout(r, delay));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    const m = await loadModelDir(run, dir);
    assert.deepEqual(
      predict(m.model, x).map((v) => v.toFixed(5)),
      want.map((v) => v.toFixed(5)),
      `killed after ${delay} ms`,
    );
    m.model.dispose();
  }
  model.dispose();
});
