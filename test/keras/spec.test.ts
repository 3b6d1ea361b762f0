/**
 * src/keras/spec.ts: the config.json rnn writes reads back as the same model, its weight slots are tfjs's
 * weights in order and shape, and every config rnn cannot compute is refused with one line naming the layer
 * (code KERAS_UNSUPPORTED). The base configs of the refusal table are rnn's own, checked against Keras 3.15's
 * own `model.save()` output in test/keras/index.test.ts (the fixtures of make_models.py load through them).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import yauzl from 'yauzl';
import { loadBackend, type TF } from '../../src/backend/index.js';
import { CELLS, POOLINGS } from '../../src/cells.js';
import { UserError } from '../../src/errors.js';
import { tfjsKernels } from '../../src/kernels/index.js';
import { buildModel } from '../../src/models/index.js';
import { h5Groups, kerasConfig, readKerasConfig, weightSlots, type KerasModelSpec } from '../../src/keras/spec.js';
import { ROOT } from '../helpers.js';

let tf: TF;
before(async () => {
  tf = (await loadBackend({ prefer: 'cpu' })).tf;
});

const SPECS: KerasModelSpec[] = CELLS.flatMap((cell) =>
  [false, true].flatMap((bidirectional) =>
    POOLINGS.flatMap((pooling) => [
      { cell, vocabSize: 50, embeddingDim: 8, maxlen: 13, units: 6, bidirectional, pooling },
      // k classes: Dense(k, softmax); two classes leave `classes` out (Dense(1, sigmoid)).
      { cell, vocabSize: 50, embeddingDim: 8, maxlen: 13, units: 6, bidirectional, pooling, classes: cell === 'gru' ? 8 : 3 },
    ]),
  ),
);

const describe = (s: KerasModelSpec) =>
  `${s.cell}${s.bidirectional ? ', bidirectional' : ''}, pooling ${s.pooling}${s.classes ? `, ${s.classes} classes` : ''}`;

for (const s of SPECS) {
  test(`${describe(s)}: config.json reads back as the same model; weight slots = tfjs's weights in order and shape`, () => {
    assert.deepEqual(readKerasConfig(JSON.parse(JSON.stringify(kerasConfig(s)))), s);
    const model = buildModel(tf, { ...s, maxlen: 13, seed: 1, layers: 'stock' }, tfjsKernels('test'));
    assert.deepEqual(
      weightSlots(s).map((w) => w.shape),
      model.getWeights().map((w) => w.shape),
    );
    model.dispose();
    // Every weight lives under a group that h5Groups names (Keras reads the groups' `name` attributes).
    const groups = new Set(h5Groups(s).map((g) => g.path));
    for (const w of weightSlots(s)) assert.ok(groups.has(w.path.slice(0, w.path.lastIndexOf('/'))), w.path);
  });
}

test('a model of any length reads as maxlen null (import asks for --maxlen)', () => {
  const s: KerasModelSpec = { cell: 'lstm', vocabSize: 50, embeddingDim: 8, maxlen: null, units: 6, bidirectional: false, pooling: 'last' };
  assert.deepEqual(readKerasConfig(kerasConfig(s)), s);
});

/** The config.json of a Keras-trained fixture (Keras 3.15.1's own writing, with compile_config). */
async function fixtureConfig(name: string): Promise<Record<string, unknown>> {
  const buf = readFileSync(path.join(ROOT, 'test', 'fixtures', 'keras', name));
  return new Promise((resolve, reject) =>
    yauzl.fromBuffer(buf, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      zip.on('entry', (e: yauzl.Entry) => {
        if (e.fileName !== 'config.json') return zip.readEntry();
        zip.openReadStream(e, (er, st) => {
          if (er || !st) return reject(er);
          const chunks: Buffer[] = [];
          st.on('data', (c: Buffer) => chunks.push(c));
          st.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
        });
      });
      zip.readEntry();
    }),
  );
}

test("Keras's own configs (make_models.py's fixtures) read as the models they are", async () => {
  const base = { vocabSize: 50, embeddingDim: 8, maxlen: 64, units: 8, bidirectional: false, pooling: 'last' as const };
  assert.deepEqual(readKerasConfig(await fixtureConfig('simplernn.keras')), { ...base, cell: 'simplernn' });
  assert.deepEqual(readKerasConfig(await fixtureConfig('lstm.keras')), { ...base, cell: 'lstm' });
  assert.deepEqual(readKerasConfig(await fixtureConfig('gru.keras')), { ...base, cell: 'gru' });
  assert.deepEqual(readKerasConfig(await fixtureConfig('gru-bi-max.keras')), {
    ...base,
    cell: 'gru',
    bidirectional: true,
    pooling: 'max',
  });
  assert.deepEqual(readKerasConfig(await fixtureConfig('lstm-3-classes.keras')), { ...base, cell: 'lstm', classes: 3 });
});

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const LSTM: KerasModelSpec = { cell: 'lstm', vocabSize: 50, embeddingDim: 8, maxlen: 64, units: 8, bidirectional: false, pooling: 'last' };
const BI_GRU: KerasModelSpec = { ...LSTM, cell: 'gru', bidirectional: true, pooling: 'max' };
const layersOf = (c: Json): Json[] => c.config.layers;
const REBUILD = 'rebuild the model with it in Keras and train it again';
const SHAPE =
  'rnn imports a Sequential Embedding → SimpleRNN, LSTM or GRU (alone or in Bidirectional, then GlobalMaxPooling1D or GlobalAveragePooling1D if it returns sequences) → Dense(1, sigmoid) for two labels or Dense(k, softmax) for k ≥ 3';
const HEAD = `rnn takes Dense(1, activation='sigmoid') for two labels and Dense(k, activation='softmax') for k ≥ 3: ${REBUILD}`;

const REFUSALS: Array<{
  name: string;
  base?: KerasModelSpec;
  edit: (c: Json) => void;
  /** Given instead of the edited config. */
  input?: unknown;
  line: string;
}> = [
  {
    name: "Keras's default GRU (reset_after=True)",
    base: { ...LSTM, cell: 'gru' },
    edit: (c) => {
      layersOf(c)[2].config.reset_after = true;
    },
    line: `GRU "gru" has reset_after=True. tfjs computes only GRU(reset_after=False), not Keras's default: build the GRU with reset_after=False and train it again`,
  },
  {
    name: 'a Lambda layer (code in the archive)',
    edit: (c) => {
      layersOf(c).splice(2, 0, {
        module: 'keras.layers',
        class_name: 'Lambda',
        config: { name: 'lambda', function: 'eval' },
        registered_name: null,
      });
    },
    line: `rnn cannot take layer Lambda "lambda". ${SHAPE}`,
  },
  {
    name: 'a custom (registered) layer',
    edit: (c) => {
      Object.assign(layersOf(c)[2], { module: 'my_layers', registered_name: 'Custom>LSTM' });
    },
    line: `LSTM "lstm" is a custom object (registered as "Custom>LSTM"). ${SHAPE}`,
  },
  {
    name: 'a Dropout layer',
    edit: (c) => {
      layersOf(c).splice(3, 0, {
        module: 'keras.layers',
        class_name: 'Dropout',
        config: { name: 'dropout', rate: 0.5 },
        registered_name: null,
      });
    },
    line: `rnn cannot take layer Dropout "dropout". ${SHAPE}`,
  },
  {
    name: 'a functional model',
    edit: (c) => {
      c.class_name = 'Functional';
    },
    line: `the model is a Functional, not a Sequential. Rebuild it as keras.Sequential (Embedding → SimpleRNN, LSTM or GRU (alone or in Bidirectional, then GlobalMaxPooling1D or GlobalAveragePooling1D if it returns sequences) → Dense(1, sigmoid) for two labels or Dense(k, softmax) for k ≥ 3)`,
  },
  {
    name: 'two recurrent layers',
    edit: (c) => {
      layersOf(c).splice(2, 0, structuredClone(layersOf(c)[2]));
    },
    line: `rnn cannot take layer LSTM "lstm" between the recurrent layer and Dense. ${SHAPE}`,
  },
  {
    name: 'mask_zero',
    edit: (c) => {
      layersOf(c)[1].config.mask_zero = true;
    },
    line: 'Embedding "embedding" has mask_zero=True. rnn treats padding as an ordinary id, as the Keras lesson does: rebuild with mask_zero=False and train again',
  },
  {
    name: 'a relu recurrent activation',
    edit: (c) => {
      layersOf(c)[2].config.activation = 'relu';
    },
    line: `LSTM "lstm" has activation='relu'. rnn takes activation='tanh': ${REBUILD}`,
  },
  {
    name: 'a hard_sigmoid gate',
    edit: (c) => {
      layersOf(c)[2].config.recurrent_activation = 'hard_sigmoid';
    },
    line: `LSTM "lstm" has recurrent_activation='hard_sigmoid'. rnn takes recurrent_activation='sigmoid': ${REBUILD}`,
  },
  {
    name: 'a stateful layer',
    edit: (c) => {
      layersOf(c)[2].config.stateful = true;
    },
    line: `LSTM "lstm" has stateful=True. rnn takes stateful=False: ${REBUILD}`,
  },
  {
    name: 'no bias',
    edit: (c) => {
      layersOf(c)[2].config.use_bias = false;
    },
    line: `LSTM "lstm" has use_bias=False. rnn takes use_bias=True: ${REBUILD}`,
  },
  {
    name: 'a softmax head of two units',
    edit: (c) => {
      Object.assign(layersOf(c)[3].config, { units: 2, activation: 'softmax' });
    },
    line: `Dense "dense" is Dense(2, activation='softmax'). ${HEAD}`,
  },
  {
    name: 'a relu head',
    edit: (c) => {
      layersOf(c)[3].config.activation = 'relu';
    },
    line: `Dense "dense" is Dense(1, activation='relu'). ${HEAD}`,
  },
  {
    name: 'three sigmoids (multi-label, not one of three classes)',
    edit: (c) => {
      layersOf(c)[3].config.units = 3;
    },
    line: `Dense "dense" is Dense(3, activation='sigmoid'). ${HEAD}`,
  },
  {
    name: 'a softmax head of one unit',
    base: { ...LSTM, classes: 3 },
    edit: (c) => {
      layersOf(c)[3].config.units = 1;
    },
    line: `Dense "dense" is Dense(1, activation='softmax'). ${HEAD}`,
  },
  {
    name: 'a linear k-class head (logits, not probabilities)',
    base: { ...LSTM, classes: 3 },
    edit: (c) => {
      layersOf(c)[3].config.activation = 'linear';
    },
    line: `Dense "dense" is Dense(3, activation='linear'). ${HEAD}`,
  },
  {
    name: 'sequences with no pooling after them',
    edit: (c) => {
      layersOf(c)[2].config.return_sequences = true;
    },
    line: `LSTM "lstm" returns sequences but no GlobalMaxPooling1D or GlobalAveragePooling1D follows it. ${SHAPE}`,
  },
  {
    name: 'Bidirectional summing its directions',
    base: BI_GRU,
    edit: (c) => {
      layersOf(c)[2].config.merge_mode = 'sum';
    },
    line: `Bidirectional "bidirectional" has merge_mode='sum'. rnn takes merge_mode='concat': ${REBUILD}`,
  },
  {
    name: 'Bidirectional with a backward layer that runs forward',
    base: BI_GRU,
    edit: (c) => {
      layersOf(c)[2].config.backward_layer.config.go_backwards = false;
    },
    line: `GRU "backward_gru" has go_backwards=False. rnn takes go_backwards=True: ${REBUILD}`,
  },
  {
    name: 'a pooling layer that keeps its dimension',
    base: BI_GRU,
    edit: (c) => {
      layersOf(c)[3].config.keepdims = true;
    },
    line: `GlobalMaxPooling1D "global_max_pooling1d" has keepdims=True. rnn takes keepdims=False: ${REBUILD}`,
  },
  {
    name: 'a negative number of units',
    edit: (c) => {
      layersOf(c)[2].config.units = -3;
    },
    line: `LSTM "lstm" has units -3, not a positive integer. ${SHAPE}`,
  },
  { name: 'not an object', edit: () => {}, input: 'not a model', line: `config.json is not a JSON object. ${SHAPE}` },
];

for (const r of REFUSALS) {
  test(`refused: ${r.name}`, () => {
    const config = structuredClone(kerasConfig(r.base ?? LSTM)) as Json;
    r.edit(config);
    const input = 'input' in r ? r.input : config;
    assert.throws(
      () => readKerasConfig(input),
      (e: unknown) => {
        assert.ok(e instanceof UserError);
        assert.equal(e.code, 'KERAS_UNSUPPORTED');
        assert.equal(e.line, r.line);
        return true;
      },
    );
  });
}
