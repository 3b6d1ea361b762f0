/**
 * src/keras/spec.ts writes the config.json stock Keras 3.15.1 writes for the same model, field for field and in
 * Keras's order: every cell, alone or bidirectional, with each pooling, with the two-label head Dense(1, sigmoid)
 * and a k-class head Dense(k, softmax). Keras builds each model itself (test/fixtures/keras/config.py,
 * `model.save()`); only its `shared_object_id`s (Python object ids, new on every run) are left out.
 * Keras runs in RNN_KERAS_PYTHON (without it and without RNN_REQUIRE_KERAS the test skips).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CELLS, POOLINGS } from '../../src/cells.js';
import { kerasConfig, type KerasModelSpec } from '../../src/keras/spec.js';
import { kerasConfigs, skipKeras } from '../helpers.js';

const SPECS: KerasModelSpec[] = CELLS.flatMap((cell) =>
  [false, true].flatMap((bidirectional) =>
    POOLINGS.flatMap((pooling) => {
      const s: KerasModelSpec = { cell, vocabSize: 50, embeddingDim: 8, maxlen: 13, units: 6, bidirectional, pooling };
      return [s, { ...s, classes: cell === 'gru' ? 8 : 3 }];
    }),
  ),
);

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * Where rnn's config.json has always differed from Keras's, in fields that change nothing rnn or Keras computes:
 * Keras writes `compile_config: {}` for a model never compiled; no `seed` for SimpleRNN; and
 * `zero_output_for_mask` of a Bidirectional's layers equal to `return_sequences`. Removed from both sides.
 */
function withoutKnownDifferences(config: Json): Json {
  const c = structuredClone(config);
  delete c.compile_config;
  for (const l of c.config.layers as Json[]) {
    for (const r of l.class_name === 'Bidirectional' ? [l.config.layer, l.config.backward_layer] : [l]) {
      if (!('zero_output_for_mask' in (r.config ?? {}))) continue;
      if (r.class_name === 'SimpleRNN') delete r.config.seed;
      r.config.zero_output_for_mask = null;
    }
  }
  return c;
}

test(`config.json is what Keras 3.15.1 writes, for ${SPECS.length} models (two labels and k classes)`, async (c) => {
  if (skipKeras) return c.skip(skipKeras);
  const keras = await kerasConfigs(SPECS);
  assert.equal(keras.length, SPECS.length);
  SPECS.forEach((s, i) => {
    const what = `${s.cell}${s.bidirectional ? ' bidirectional' : ''}, pooling ${s.pooling}, ${s.classes ?? 2} classes`;
    // Strings, so that the order of the fields counts too (JSON.parse made Keras's 1.0 the 1 rnn writes).
    assert.equal(JSON.stringify(withoutKnownDifferences(kerasConfig(s))), JSON.stringify(withoutKnownDifferences(keras[i] as Json)), what);
  });
});
