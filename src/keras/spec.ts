/**
 * The models rnn and Keras 3 exchange, as Keras writes them in a `.keras` archive: `config.json` (the
 * Sequential model, layer by layer) and the paths of the weights in `model.weights.h5`. Pure: no tfjs, no
 * files. {@link kerasConfig} writes the config Keras 3.15 writes for the same model; {@link readKerasConfig}
 * reads a config that came from anywhere and takes only the shapes rnn trains (the lesson's model and
 * its bidirectional and pooled forms, with the head of two labels, Dense(1, sigmoid), or of k ≥ 3,
 * Dense(k, softmax)), refusing anything else with one line naming the layer.
 */
import { CELLS, GATES, LAYER_CLASS, POOLING_LAYER, cellOfLayerClass, type CellType, type Pooling } from '../cells.js';
import { UserError } from '../errors.js';
import { jsonExcerpt } from '../util/json.js';

/** A model both sides compute identically: Embedding → SimpleRNN/LSTM/GRU (maybe Bidirectional) → pooling → Dense(1, sigmoid) or Dense(k, softmax). */
export interface KerasModelSpec {
  /** Recurrent cell. */
  cell: CellType;
  /** Embedding input size (ids 0..vocabSize-1). */
  vocabSize: number;
  /** Embedding output size. */
  embeddingDim: number;
  /** Ids per review the model takes; null when the Keras model takes any length. */
  maxlen: number | null;
  /** Units of the recurrent layer (of each direction). */
  units: number;
  /** Bidirectional, merge_mode concat. */
  bidirectional: boolean;
  /** The last state, or the outputs' maximum or mean over time. */
  pooling: Pooling;
  /**
   * Classes the head tells apart: absent for two (the lesson's Dense(1, sigmoid), the probability of class 1),
   * k ≥ 3 for Dense(k, softmax), one probability per class (as `classes` of rnn's training options).
   */
  classes?: number;
}

/** Classes of a model whose spec leaves them out: two, the lesson's Dense(1, sigmoid). */
const TWO_CLASSES = 2;

/** The head's units: 1 for two classes (sigmoid), k for k ≥ 3 (softmax). */
function headUnits(s: KerasModelSpec): number {
  const k = s.classes ?? TWO_CLASSES;
  return k === TWO_CLASSES ? 1 : k;
}

/** The Keras release whose archive layout {@link kerasConfig} mirrors (and CI loads it with). */
export const KERAS_VERSION = '3.15.1';

/** The layer names (and h5 groups: Keras names those after the class) of each cell. */
const SNAKE: Record<CellType, string> = { simplernn: 'simple_rnn', lstm: 'lstm', gru: 'gru' };
const POOLING_SNAKE = { max: 'global_max_pooling1d', mean: 'global_average_pooling1d' } as const;

/** Features the dense layer reads. */
function features(s: KerasModelSpec): number {
  return (s.bidirectional ? 2 : 1) * s.units;
}

/** One weight of the model: where model.weights.h5 keeps it and its shape. */
export interface WeightSlot {
  path: string;
  shape: number[];
}

/**
 * The model's weights in tfjs `model.getWeights()` order (embeddings; each direction's kernel, recurrent
 * kernel, bias; dense kernel and bias) with their model.weights.h5 paths. Keras and tfjs lay every one out
 * alike (LSTM gates i, f, c, o; GRU z, r, h with reset_after=False), so no weight is transposed or reordered.
 */
export function weightSlots(s: KerasModelSpec): WeightSlot[] {
  const G = GATES[s.cell] * s.units;
  const cellVars = (group: string): WeightSlot[] => [
    { path: `${group}/cell/vars/0`, shape: [s.embeddingDim, G] },
    { path: `${group}/cell/vars/1`, shape: [s.units, G] },
    { path: `${group}/cell/vars/2`, shape: [G] },
  ];
  const recurrent = s.bidirectional
    ? [...cellVars('layers/bidirectional/forward_layer'), ...cellVars('layers/bidirectional/backward_layer')]
    : cellVars(`layers/${SNAKE[s.cell]}`);
  return [
    { path: 'layers/embedding/vars/0', shape: [s.vocabSize, s.embeddingDim] },
    ...recurrent,
    { path: 'layers/dense/vars/0', shape: [features(s), headUnits(s)] },
    { path: 'layers/dense/vars/1', shape: [headUnits(s)] },
  ];
}

/** The groups Keras writes beside the weights (each with a `vars` group named after its layer), for a faithful h5 file. */
export function h5Groups(s: KerasModelSpec): { path: string; name: string }[] {
  const rec = SNAKE[s.cell];
  const groups = [
    { path: 'vars', name: 'sequential' },
    { path: 'layers/embedding/vars', name: 'embedding' },
    { path: 'layers/dense/vars', name: 'dense' },
  ];
  if (s.bidirectional) {
    groups.push(
      { path: 'layers/bidirectional/vars', name: 'bidirectional' },
      { path: 'layers/bidirectional/forward_layer/vars', name: `forward_${rec}` },
      { path: 'layers/bidirectional/forward_layer/cell/vars', name: `${rec}_cell` },
      { path: 'layers/bidirectional/backward_layer/vars', name: `backward_${rec}` },
      { path: 'layers/bidirectional/backward_layer/cell/vars', name: `${rec}_cell` },
    );
  } else {
    groups.push({ path: `layers/${rec}/vars`, name: rec }, { path: `layers/${rec}/cell/vars`, name: `${rec}_cell` });
  }
  if (s.pooling !== 'last') groups.push({ path: `layers/${POOLING_SNAKE[s.pooling]}/vars`, name: POOLING_SNAKE[s.pooling] });
  return groups;
}

// ---------------------------------------------------------------------------------------------------------
// Writing config.json

const DTYPE = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };

function initializer(className: string, config: Record<string, unknown> = {}) {
  return { module: 'keras.initializers', class_name: className, config, registered_name: null };
}

const GLOROT = () => initializer('GlorotUniform', { seed: null, input_axes: null, output_axes: null });

function layer(className: string, config: Record<string, unknown>, inputShape?: (number | null)[]) {
  return {
    module: 'keras.layers',
    class_name: className,
    config,
    registered_name: null,
    ...(inputShape ? { build_config: { input_shape: inputShape } } : {}),
  };
}

function recurrentLayer(s: KerasModelSpec, name: string, backwards: boolean, inputShape: (number | null)[]) {
  const lstm = s.cell === 'lstm';
  const gru = s.cell === 'gru';
  return layer(
    LAYER_CLASS[s.cell],
    {
      name,
      trainable: true,
      dtype: DTYPE,
      return_sequences: s.pooling !== 'last',
      return_state: false,
      go_backwards: backwards,
      stateful: false,
      unroll: false,
      zero_output_for_mask: s.bidirectional,
      units: s.units,
      activation: 'tanh',
      ...(s.cell === 'simplernn' ? {} : { recurrent_activation: 'sigmoid' }),
      use_bias: true,
      kernel_initializer: GLOROT(),
      recurrent_initializer: initializer('Orthogonal', { seed: null, gain: 1.0 }),
      bias_initializer: initializer('Zeros'),
      ...(lstm ? { unit_forget_bias: true } : {}),
      kernel_regularizer: null,
      recurrent_regularizer: null,
      bias_regularizer: null,
      activity_regularizer: null,
      kernel_constraint: null,
      recurrent_constraint: null,
      bias_constraint: null,
      dropout: 0.0,
      recurrent_dropout: 0.0,
      ...(gru ? { reset_after: false } : {}),
      seed: null,
    },
    inputShape,
  );
}

/** config.json of the Keras 3 Sequential model with `s`'s shape (as Keras 3.15 writes it, without a compile config). */
export function kerasConfig(s: KerasModelSpec): Record<string, unknown> {
  const ids = [null, s.maxlen];
  const embedded = [null, s.maxlen, s.embeddingDim];
  const rec = SNAKE[s.cell];
  const recurrent = s.bidirectional
    ? layer(
        'Bidirectional',
        {
          name: 'bidirectional',
          trainable: true,
          dtype: DTYPE,
          merge_mode: 'concat',
          layer: recurrentLayer(s, `forward_${rec}`, false, embedded),
          backward_layer: recurrentLayer(s, `backward_${rec}`, true, embedded),
        },
        embedded,
      )
    : recurrentLayer(s, rec, false, embedded);
  const pooling =
    s.pooling === 'last'
      ? []
      : [
          layer(POOLING_LAYER[s.pooling], {
            name: POOLING_SNAKE[s.pooling],
            trainable: true,
            dtype: DTYPE,
            data_format: 'channels_last',
            keepdims: false,
          }),
        ];
  const dense = layer(
    'Dense',
    {
      name: 'dense',
      trainable: true,
      dtype: DTYPE,
      units: headUnits(s),
      activation: headUnits(s) === 1 ? 'sigmoid' : 'softmax',
      use_bias: true,
      kernel_initializer: GLOROT(),
      bias_initializer: initializer('Zeros'),
      kernel_regularizer: null,
      bias_regularizer: null,
      kernel_constraint: null,
      bias_constraint: null,
      quantization_config: null,
    },
    [null, features(s)],
  );
  const layers = [
    layer('InputLayer', { batch_shape: ids, dtype: 'int32', sparse: false, ragged: false, name: 'input_layer', optional: false }),
    layer(
      'Embedding',
      {
        name: 'embedding',
        trainable: true,
        dtype: DTYPE,
        input_dim: s.vocabSize,
        output_dim: s.embeddingDim,
        embeddings_initializer: initializer('RandomUniform', { seed: null, minval: -0.05, maxval: 0.05 }),
        embeddings_regularizer: null,
        activity_regularizer: null,
        embeddings_constraint: null,
        mask_zero: false,
        quantization_config: null,
      },
      ids,
    ),
    recurrent,
    ...pooling,
    dense,
  ];
  return {
    module: 'keras',
    class_name: 'Sequential',
    config: { name: 'sequential', trainable: true, dtype: DTYPE, layers, build_input_shape: ids },
    registered_name: null,
    build_config: { input_shape: ids },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Reading config.json

/** What rnn imports, for the refusal messages. */
export const SUPPORTED_SHAPE =
  'rnn imports a Sequential Embedding → SimpleRNN, LSTM or GRU (alone or in Bidirectional, then GlobalMaxPooling1D or GlobalAveragePooling1D if it returns sequences) → Dense(1, sigmoid) for two labels or Dense(k, softmax) for k ≥ 3';

type Json = Record<string, unknown>;

function isObject(x: unknown): x is Json {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** A layer rnn cannot take: the one-line refusal. */
function refuse(what: string, fix = SUPPORTED_SHAPE): UserError {
  return new UserError('KERAS_UNSUPPORTED', what, fix);
}

function label(l: Json): string {
  const c = isObject(l.config) ? l.config : {};
  return `${String(l.class_name)}${typeof c.name === 'string' ? ` "${c.name}"` : ''}`;
}

/** A positive integer field of a layer's config. */
function positive(l: Json, key: string): number {
  const v = (l.config as Json)[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 2 ** 31) {
    throw refuse(`${label(l)} has ${key} ${jsonExcerpt(v)}, not a positive integer`);
  }
  return v;
}

/** A config field that must have one value (or be absent, when `absentOk`), else the layer is refused with `fix`. */
function expect(l: Json, key: string, want: unknown, absentOk = true, fix?: string): void {
  const v = (l.config as Json)[key];
  if (v === undefined && absentOk) return;
  if (v !== want) throw refuse(`${label(l)} has ${key}=${pythonLiteral(v)}`, fix ?? `rnn takes ${key}=${pythonLiteral(want)}: ${REBUILD}`);
}

const REBUILD = 'rebuild the model with it in Keras and train it again';

function pythonLiteral(v: unknown): string {
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (v === null || v === undefined) return 'None';
  return typeof v === 'string' ? `'${v.length > 80 ? `${v.slice(0, 77)}...` : v}'` : jsonExcerpt(v);
}

/** The activation's name, whether Keras wrote it as a string or as a serialized object. */
function activationName(v: unknown): unknown {
  return isObject(v) && isObject(v.config) && typeof v.config.name === 'string' ? v.config.name : isObject(v) ? v.class_name : v;
}

/** No custom or registered objects anywhere: only Keras's own classes are deserialized. */
function assertBuiltIn(l: Json): void {
  if (l.registered_name !== undefined && l.registered_name !== null && l.registered_name !== l.class_name) {
    throw refuse(`${label(l)} is a custom object (registered as ${jsonExcerpt(l.registered_name)})`);
  }
  if (typeof l.module === 'string' && !l.module.startsWith('keras')) {
    throw refuse(`${label(l)} comes from module ${jsonExcerpt(l.module)}, not Keras`);
  }
}

/** The recurrent layer's cell, checking every setting that changes what it computes. */
function recurrentOf(l: Json, backwards: boolean): { cell: CellType; units: number; sequences: boolean } {
  assertBuiltIn(l);
  const cell = cellOfLayerClass(String(l.class_name));
  if (!cell || !isObject(l.config)) throw refuse(`${label(l)} is not a SimpleRNN, LSTM or GRU layer`);
  const c = l.config;
  expect(l, 'return_state', false);
  expect(l, 'stateful', false);
  expect(l, 'go_backwards', backwards);
  expect(l, 'use_bias', true);
  if (activationName(c.activation ?? 'tanh') !== 'tanh') {
    throw refuse(`${label(l)} has activation=${pythonLiteral(activationName(c.activation))}`, `rnn takes activation='tanh': ${REBUILD}`);
  }
  if (cell !== 'simplernn' && activationName(c.recurrent_activation ?? 'sigmoid') !== 'sigmoid') {
    throw refuse(
      `${label(l)} has recurrent_activation=${pythonLiteral(activationName(c.recurrent_activation))}`,
      `rnn takes recurrent_activation='sigmoid': ${REBUILD}`,
    );
  }
  if (cell === 'gru') {
    const fix = "tfjs computes only GRU(reset_after=False), not Keras's default: build the GRU with reset_after=False and train it again";
    expect(l, 'reset_after', false, false, fix);
  }
  for (const key of ['dropout', 'recurrent_dropout']) {
    const v = c[key] ?? 0;
    if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw refuse(`${label(l)} has ${key} ${jsonExcerpt(v)}`);
  }
  return { cell, units: positive(l, 'units'), sequences: c.return_sequences === true };
}

/** A whole config.json, or the `config` of a Keras `Sequential`, checked and reduced to a {@link KerasModelSpec}. */
export function readKerasConfig(json: unknown): KerasModelSpec {
  if (!isObject(json)) throw refuse('config.json is not a JSON object');
  assertBuiltIn(json);
  if (json.class_name !== 'Sequential' || !isObject(json.config) || !Array.isArray(json.config.layers)) {
    throw refuse(
      `the model is a ${typeof json.class_name === 'string' ? json.class_name : 'model'}, not a Sequential`,
      `Rebuild it as keras.Sequential (${SUPPORTED_SHAPE.replace('rnn imports a Sequential ', '')})`,
    );
  }
  const all = json.config.layers as unknown[];
  if (!all.every(isObject)) throw refuse('config.json has a layer that is not a JSON object');
  const input = (all as Json[])[0]?.class_name === 'InputLayer' ? (all[0] as Json) : undefined;
  const layers = (input ? all.slice(1) : all) as Json[];
  for (const l of layers) assertBuiltIn(l);
  const names = layers.map((l) => String(l.class_name));
  const known = new Set(['Embedding', 'Bidirectional', 'Dense', ...CELLS.map((c) => LAYER_CLASS[c]), ...Object.values(POOLING_LAYER)]);
  const stranger = layers.find((l) => !known.has(String(l.class_name)));
  if (stranger) throw refuse(`rnn cannot take layer ${label(stranger)}`);
  if (layers.length < 3 || layers.length > 4 || names[0] !== 'Embedding' || names[names.length - 1] !== 'Dense') {
    throw refuse(`the layers are ${names.join(' → ')}`);
  }
  const [emb, rec, maybePool] = layers as [Json, Json, Json | undefined];
  const dense = layers[layers.length - 1]!;
  expect(
    emb,
    'mask_zero',
    false,
    true,
    `rnn treats padding as an ordinary id, as the Keras lesson does: rebuild with mask_zero=False and train again`,
  );
  const vocabSize = positive(emb, 'input_dim');
  const embeddingDim = positive(emb, 'output_dim');
  let bidirectional = false;
  let r: { cell: CellType; units: number; sequences: boolean };
  if (rec.class_name === 'Bidirectional') {
    bidirectional = true;
    const c = rec.config as Json;
    expect(rec, 'merge_mode', 'concat');
    if (!isObject(c.layer)) throw refuse(`${label(rec)} has no inner layer`);
    const fwd = recurrentOf(c.layer, false);
    const bwd = isObject(c.backward_layer) ? recurrentOf(c.backward_layer, true) : fwd;
    if (bwd.cell !== fwd.cell || bwd.units !== fwd.units || bwd.sequences !== fwd.sequences) {
      throw refuse(`${label(rec)} has different forward and backward layers`);
    }
    r = fwd;
  } else {
    r = recurrentOf(rec, false);
  }
  const poolLayer = layers.length === 4 ? maybePool! : undefined;
  const pooling: Pooling | undefined = !poolLayer
    ? 'last'
    : poolLayer.class_name === POOLING_LAYER.max
      ? 'max'
      : poolLayer.class_name === POOLING_LAYER.mean
        ? 'mean'
        : undefined;
  if (!pooling) throw refuse(`rnn cannot take layer ${label(poolLayer!)} between the recurrent layer and Dense`);
  if (poolLayer) {
    expect(poolLayer, 'data_format', 'channels_last');
    expect(poolLayer, 'keepdims', false);
  }
  if (r.sequences !== (pooling !== 'last')) {
    throw refuse(
      r.sequences
        ? `${label(rec)} returns sequences but no GlobalMaxPooling1D or GlobalAveragePooling1D follows it`
        : `${label(rec)} returns its last state, which ${label(poolLayer!)} cannot pool`,
    );
  }
  const classes = headClasses(dense);
  expect(dense, 'use_bias', true);
  return {
    cell: r.cell,
    vocabSize,
    embeddingDim,
    maxlen: maxlenOf(json, input),
    units: r.units,
    bidirectional,
    pooling,
    ...(classes !== TWO_CLASSES && { classes }),
  };
}

/** The classes a Dense head tells apart: 2 for Dense(1, sigmoid), k for Dense(k ≥ 3, softmax); any other head is refused. */
function headClasses(dense: Json): number {
  const units = positive(dense, 'units');
  const activation = activationName((dense.config as Json).activation);
  if (units === 1 && activation === 'sigmoid') return TWO_CLASSES;
  if (units > TWO_CLASSES && activation === 'softmax') return units;
  throw refuse(
    `${label(dense)} is Dense(${units}, activation=${pythonLiteral(activation)})`,
    `rnn takes Dense(1, activation='sigmoid') for two labels and Dense(k, activation='softmax') for k ≥ 3: ${REBUILD}`,
  );
}

/** The model's sequence length from its input layer or build shape; null when it takes any length. */
function maxlenOf(model: Json, input: Json | undefined): number | null {
  const shapes = [
    isObject(input?.config) ? (input.config.batch_shape ?? input.config.batch_input_shape) : undefined,
    (model.config as Json).build_input_shape,
    isObject(model.build_config) ? model.build_config.input_shape : undefined,
  ];
  for (const s of shapes) {
    if (Array.isArray(s) && s.length === 2 && typeof s[1] === 'number' && Number.isInteger(s[1]) && s[1] > 0) return s[1];
  }
  return null;
}
