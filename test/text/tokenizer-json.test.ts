/**
 * Reading a tokenizer.json that is not what Keras writes: every field of another type is a
 * MODEL_TOKENIZER_INVALID naming the field, never an error later when texts are encoded or the tokenizer is
 * saved again. Regressions of the fuzz campaign (test/fuzz: `word_counts` holding an object made `rnn import`
 * fail with "pythonJson: object is not written by Keras's tokenizer JSON", a bug report; a deeply nested
 * value overflowed the stack while the message described it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tokenizer } from '../../src/text/tokenizer.js';
import { isUserError } from '../../src/errors.js';

const good = (): { class_name: string; config: Record<string, unknown> } =>
  JSON.parse(new Tokenizer({ numWords: 10, oovToken: '<OOV>' }).fitOnTexts(['a good film', 'a bad film']).toKerasJson());

const cases: Array<{ name: string; field: string; set: (c: Record<string, unknown>) => void }> = [
  {
    name: 'word_counts holding an object (fuzz finding)',
    field: 'word_counts',
    set: (c) => (c.word_counts = '{"a": {"x": 1}, "good": 1}'),
  },
  { name: 'word_counts holding a string', field: 'word_counts', set: (c) => (c.word_counts = '{"a": "2"}') },
  { name: 'word_docs holding a negative count', field: 'word_docs', set: (c) => (c.word_docs = '{"a": -1}') },
  { name: 'word_index holding an array', field: 'word_index', set: (c) => (c.word_index = '{"a": [1]}') },
  { name: 'word_index holding a huge id', field: 'word_index', set: (c) => (c.word_index = '{"a": 1e300}') },
  { name: 'filters that are a number', field: 'filters', set: (c) => (c.filters = 5) },
  { name: 'an empty split', field: 'split', set: (c) => (c.split = '') },
  { name: 'a split that is null', field: 'split', set: (c) => (c.split = null) },
  { name: 'lower that is a string', field: 'lower', set: (c) => (c.lower = 'yes') },
  { name: 'num_words that is negative', field: 'num_words', set: (c) => (c.num_words = -1) },
  { name: 'num_words that is a string', field: 'num_words', set: (c) => (c.num_words = '10') },
  { name: 'an oov_token that is a number', field: 'oov_token', set: (c) => (c.oov_token = 1) },
  { name: 'a document_count that is a fraction', field: 'document_count', set: (c) => (c.document_count = 1.5) },
  {
    // Describing the value in the message overflowed the stack ("Maximum call stack size exceeded", a bug report).
    name: 'a document_count nested 100,000 arrays deep (fuzz finding)',
    field: 'document_count',
    set: (c) => (c.document_count = JSON.parse('['.repeat(100_000) + ']'.repeat(100_000))),
  },
  {
    name: 'a split nested 100,000 objects deep',
    field: 'split',
    set: (c) => (c.split = JSON.parse('{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000))),
  },
];
for (const c of cases) {
  test(`a tokenizer.json with ${c.name} is MODEL_TOKENIZER_INVALID naming config.${c.field}`, () => {
    const json = good();
    c.set(json.config);
    assert.throws(
      () => Tokenizer.fromJSON(json, { file: 't.json' }),
      (e: unknown) => isUserError(e) && e.code === 'MODEL_TOKENIZER_INVALID' && e.message.includes(`config.${c.field}`),
    );
  });
}

test('what Keras leaves out takes its default, and what reads back encodes and saves again', () => {
  const json = good();
  for (const k of ['filters', 'lower', 'split', 'num_words', 'oov_token', 'document_count']) delete json.config[k];
  const t = Tokenizer.fromJSON(json);
  assert.deepEqual(t.textsToSequences(['A good film!']), [[2, 4, 3]]);
  assert.equal(Tokenizer.fromJSON(JSON.parse(t.toKerasJson())).toKerasJson(), t.toKerasJson());
});
