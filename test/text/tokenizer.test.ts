/**
 * Token ids and padded rows for real IMDB reviews, checked against Keras itself. The golden values in
 * test/fixtures/keras-golden.json were produced by test/fixtures/keras_golden.py (Keras 3.15.1 from
 * tensorflow-cpu==2.21.0, `keras.src.legacy.preprocessing.text.Tokenizer` and `keras.utils.pad_sequences`):
 *   python3 test/fixtures/keras_golden.py ../shared/data/aclImdb_v1.tar.gz > test/fixtures/keras-golden.json
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { Tokenizer, textToWordSequence } from '../../src/text/tokenizer.js';
import { padSequences } from '../../src/text/pad.js';
import { readImdbTarball } from '../../src/data/imdb.js';
import type { Review } from '../../src/data/index.js';
import { IMDB_TARBALL, ROOT } from '../helpers.js';

interface Golden {
  probe: string[];
  full: { document_count: number; vocabulary: number; first_words: string[]; word_index_sha256: string; sequences: Record<string, number[]>; padded_pre_256: number[][]; padded_post_40: number[][] };
  small_oov: { word_index_first_60: string[]; sequences: number[][]; word_counts_first_20: number[]; word_docs_for_first_20: number[] };
}
const golden = JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/keras-golden.json'), 'utf8')) as Golden;

let train: Review[] = [];
let byId = new Map<string, string>();
before(async () => {
  const d = await readImdbTarball(IMDB_TARBALL, ['train', 'test']);
  train = d.train;
  byId = new Map([...d.train, ...d.test].map((r) => [r.id, r.text]));
});

test('num_words=10000 on all 25,000 training reviews gives Keras\'s vocabulary, ids and padded rows', () => {
  const tok = new Tokenizer({ numWords: 10000 }).fitOnTexts(train.map((r) => r.text));
  assert.equal(tok.documentCount, golden.full.document_count);
  assert.equal(tok.wordIndex.size, golden.full.vocabulary);
  assert.deepEqual([...tok.wordIndex.keys()].slice(0, 40), golden.full.first_words);
  const vocab = [...tok.wordIndex.entries()].map(([w, i]) => `${w}\t${i}`).join('\n');
  assert.equal(createHash('sha256').update(vocab, 'utf8').digest('hex'), golden.full.word_index_sha256, 'every word id matches Keras');
  const seqs = golden.probe.map((id) => tok.textToSequenceWithStats(byId.get(id)!).ids);
  golden.probe.forEach((id, k) => assert.deepEqual(seqs[k], golden.full.sequences[id], id));
  const pre = padSequences(seqs, { maxlen: 256 });
  const post = padSequences(seqs, { maxlen: 40, padding: 'post', truncating: 'post' });
  golden.probe.forEach((id, k) => {
    assert.deepEqual([...pre.subarray(k * 256, (k + 1) * 256)], golden.full.padded_pre_256[k], `${id} pre`);
    assert.deepEqual([...post.subarray(k * 40, (k + 1) * 40)], golden.full.padded_post_40[k], `${id} post`);
  });
});

test('an OOV token takes id 1 and replaces out-of-vocabulary words, like Keras', () => {
  const texts = [...train.slice(0, 150), ...train.slice(-150)].map((r) => r.text);
  const tok = new Tokenizer({ numWords: 50, oovToken: '<OOV>' }).fitOnTexts(texts);
  assert.deepEqual([...tok.wordIndex.keys()].slice(0, 60), golden.small_oov.word_index_first_60);
  assert.deepEqual(golden.probe.map((id) => tok.textToSequenceWithStats(byId.get(id)!).ids), golden.small_oov.sequences);
  assert.deepEqual([...tok.wordCounts.values()].slice(0, 20), golden.small_oov.word_counts_first_20);
  assert.deepEqual([...tok.wordCounts.keys()].slice(0, 20).map((w) => tok.wordDocs.get(w)), golden.small_oov.word_docs_for_first_20);
});

// Expected words: keras.src.legacy.preprocessing.text.text_to_word_sequence(text) in Keras 3.15.1.
const wordCases: Array<{ text: string; words: string[] }> = [
  { text: 'Hello, World!', words: ['hello', 'world'] },
  { text: "It's a 10/10 -- don't miss it.", words: ["it's", 'a', '10', '10', "don't", 'miss', 'it'] },
  { text: 'tab\there\nnewline', words: ['tab', 'here', 'newline'] },
  { text: 'carriage\rreturn stays', words: ['carriage\rreturn', 'stays'] },
  { text: '  many   spaces  ', words: ['many', 'spaces'] },
  { text: 'ÉCOLE Straße ΣΟΦΟΣ', words: ['école', 'straße', 'σοφος'] },
  { text: '!!!...???', words: [] },
];
for (const c of wordCases) {
  test(`text_to_word_sequence(${JSON.stringify(c.text)})`, () => assert.deepEqual(textToWordSequence(c.text), c.words));
}

test('unknown words are dropped without an OOV token and counted', () => {
  const tok = new Tokenizer({ numWords: 3 }).fitOnTexts(['good good good bad bad ugly']);
  assert.deepEqual([...tok.wordIndex.entries()], [['good', 1], ['bad', 2], ['ugly', 3]]);
  assert.deepEqual(tok.textToSequenceWithStats('good ugly unseen bad'), { ids: [1, 2], unknown: 2, words: 4 });
});

test('the OOV token used as a word too keeps Keras\'s dict(zip(...)) behaviour (the later id wins)', () => {
  const tok = new Tokenizer({ oovToken: 'x' }).fitOnTexts(['a a a x b']);
  assert.deepEqual([...tok.wordIndex.entries()], [['x', 3], ['a', 2], ['b', 4]]);
});

test('tokenizer JSON round-trips in Keras to_json() form', () => {
  const tok = new Tokenizer({ numWords: 100, oovToken: '<OOV>' }).fitOnTexts(train.slice(0, 50).map((r) => r.text));
  const json = JSON.parse(JSON.stringify(tok.toJSON()));
  assert.equal(json.class_name, 'Tokenizer');
  for (const k of ['word_counts', 'word_docs', 'index_docs', 'index_word', 'word_index']) assert.equal(typeof json.config[k], 'string', k);
  const back = Tokenizer.fromJSON(json);
  assert.deepEqual([...back.wordIndex.entries()], [...tok.wordIndex.entries()]);
  assert.deepEqual(back.textsToSequences([byId.get('train/pos/0_9.txt')!]), tok.textsToSequences([byId.get('train/pos/0_9.txt')!]));
  assert.throws(() => Tokenizer.fromJSON({ class_name: 'Other' }), /not a Keras Tokenizer JSON/);
});
