/**
 * Token ids and padded rows for real IMDB reviews, checked against Keras itself. The golden values in
 * test/fixtures/keras-golden.json were produced by test/fixtures/keras_golden.py (Keras 3.15.1 from
 * tensorflow-cpu==2.21.0, `keras.src.legacy.preprocessing.text.Tokenizer` and `keras.utils.pad_sequences`):
 *   python3 test/fixtures/keras_golden.py ../shared/data/aclImdb_v1.tar.gz > test/fixtures/keras-golden.json
 * That includes Keras's own `Tokenizer.to_json()`: in full for tokenizers fitted on made-up sentences, as digests
 * for one fitted on 300 real reviews.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { Tokenizer, textToWordSequence } from '../../src/text/tokenizer.js';
import { UserError } from '../../src/errors.js';
import { padSequences } from '../../src/text/pad.js';
import type { Review } from '../../src/data/index.js';
import { ROOT, imdb, tempDir } from '../helpers.js';
import { kerasPad, kerasSequence, readKerasTokenizer } from '../reference.js';

interface Golden {
  probe: string[];
  full: {
    document_count: number;
    vocabulary: number;
    first_words: string[];
    word_index_sha256: string;
    sequences: Record<string, number[]>;
    padded_pre_256: number[][];
    padded_post_40: number[][];
  };
  small_oov: { word_index_first_60: string[]; sequences: number[][]; word_counts_first_20: number[]; word_docs_for_first_20: number[] };
  to_json: {
    made_up: Array<{ num_words: number | null; oov_token: string | null; texts: string[]; json: string }>;
    reviews_300: { scalars: Record<string, unknown>; keys: string[]; fields: Record<NestedField, FieldDigest> };
  };
}
type NestedField = 'word_counts' | 'word_docs' | 'index_docs' | 'index_word' | 'word_index';
interface FieldDigest {
  entries: number;
  content_sha256: string;
  keras_sha256: string;
  word_order_sha256?: string;
}
const golden = JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/keras-golden.json'), 'utf8')) as Golden;

let train: Review[] = [];
let testReviews: Review[] = [];
let byId = new Map<string, string>();
before(async () => {
  const d = await imdb();
  train = d.train;
  testReviews = d.test;
  byId = new Map([...d.train, ...d.test].map((r) => [r.id, r.text]));
});

test("num_words=10000 on all 25,000 training reviews gives Keras's vocabulary, ids and padded rows", () => {
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

test("the tests' independent Keras reference (test/reference.ts) gives Keras's ids and padded rows on the golden reviews", async () => {
  // What the serve tests compare against must itself be Keras: rnn's tokenizer supplies only the saved
  // tokenizer.json (its word index is Keras's, checked above), the reference does the rest.
  const file = path.join(await tempDir(), 'tokenizer.json');
  await fsp.writeFile(file, new Tokenizer({ numWords: 10000 }).fitOnTexts(train.map((r) => r.text)).toKerasJson());
  const ref = readKerasTokenizer(file);
  golden.probe.forEach((id, k) => {
    const ids = kerasSequence(ref, byId.get(id)!).ids;
    assert.deepEqual(ids, golden.full.sequences[id], id);
    assert.deepEqual(kerasPad(ids, 256, 'pre', 'pre'), golden.full.padded_pre_256[k], `${id} pre`);
    assert.deepEqual(kerasPad(ids, 40, 'post', 'post'), golden.full.padded_post_40[k], `${id} post`);
  });
});

test('an OOV token takes id 1 and replaces out-of-vocabulary words, like Keras', () => {
  const texts = [...train.slice(0, 150), ...train.slice(-150)].map((r) => r.text);
  const tok = new Tokenizer({ numWords: 50, oovToken: '<OOV>' }).fitOnTexts(texts);
  assert.deepEqual([...tok.wordIndex.keys()].slice(0, 60), golden.small_oov.word_index_first_60);
  assert.deepEqual(
    golden.probe.map((id) => tok.textToSequenceWithStats(byId.get(id)!).ids),
    golden.small_oov.sequences,
  );
  assert.deepEqual([...tok.wordCounts.values()].slice(0, 20), golden.small_oov.word_counts_first_20);
  assert.deepEqual(
    [...tok.wordCounts.keys()].slice(0, 20).map((w) => tok.wordDocs.get(w)),
    golden.small_oov.word_docs_for_first_20,
  );
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
  assert.deepEqual(
    [...tok.wordIndex.entries()],
    [
      ['good', 1],
      ['bad', 2],
      ['ugly', 3],
    ],
  );
  assert.deepEqual(tok.textToSequenceWithStats('good ugly unseen bad'), { ids: [1, 2], unknown: 2, words: 4 });
});

test("the OOV token used as a word too keeps Keras's dict(zip(...)) behaviour (the later id wins)", () => {
  const tok = new Tokenizer({ oovToken: 'x' }).fitOnTexts(['a a a x b']);
  assert.deepEqual(
    [...tok.wordIndex.entries()],
    [
      ['x', 3],
      ['a', 2],
      ['b', 4],
    ],
  );
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

test('a tokenizer JSON rnn cannot read is a MODEL_TOKENIZER_INVALID UserError naming the file, not a plain Error', () => {
  const good = new Tokenizer({ numWords: 10 }).fitOnTexts(['a good film', 'a bad film']).toJSON();
  const cases: Array<{ json: unknown; why: string }> = [
    { json: null, why: 'not a Keras Tokenizer JSON (class_name "Tokenizer" with a config)' },
    { json: { class_name: 'Other', config: {} }, why: 'not a Keras Tokenizer JSON (class_name "Tokenizer" with a config)' },
    { json: { ...good, config: { ...good.config, char_level: true } }, why: 'char_level tokenizers are not supported' },
    { json: { ...good, config: { ...good.config, word_index: { a: 1 } } }, why: 'its config.word_index is not a string of JSON' },
    {
      json: { ...good, config: { ...good.config, word_counts: '[1, 2]' } },
      why: 'its config.word_counts is not a JSON object (found an array)',
    },
    {
      json: { ...good, config: { ...good.config, word_docs: '{"a": ' } },
      why: `its config.word_docs is not a JSON object (${jsonError('{"a": ')})`,
    },
    {
      json: { ...good, config: { ...good.config, word_index: '{"a": 1, "film": 0}' } },
      why: 'its config.word_index gives "film" the id 0, not a whole number of at least 1',
    },
  ];
  for (const c of cases) {
    assert.throws(
      () => Tokenizer.fromJSON(c.json, { file: 'tok.json', fix: 'Use another file' }),
      (e: unknown) => {
        assert.ok(e instanceof UserError, String(e));
        assert.equal(e.code, 'MODEL_TOKENIZER_INVALID');
        assert.equal(e.line, `tok.json is not a Keras tokenizer: ${c.why}. Use another file`);
        return true;
      },
    );
  }
  // Without a file: the reason alone, and a fix that says which file to use.
  assert.throws(
    () => Tokenizer.fromJSON({ class_name: 'Other' }),
    (e: unknown) =>
      e instanceof UserError &&
      e.code === 'MODEL_TOKENIZER_INVALID' &&
      /^not a Keras Tokenizer JSON/.test(e.message) &&
      /tokenizer\.json/.test(e.fix),
  );
});

function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`${text} parses`);
}

// ---- Keras's own to_json() (test/fixtures/keras_golden.py, section 3) ----

const NESTED: NestedField[] = ['word_counts', 'word_docs', 'index_docs', 'index_word', 'word_index'];
/** Keys a JavaScript object puts first, in ascending order, whatever the insertion order (array indices). */
const isIndexKey = (k: string): boolean => /^(0|[1-9]\d*)$/.test(k) && Number(k) < 2 ** 32 - 1;
const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');
/** The golden script's content digest: "key\tvalue" lines sorted by key in code-point (= UTF-8 byte) order. */
const contentSha256 = (d: Record<string, unknown>): string =>
  sha256(
    Object.entries(d)
      .sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
      .map(([k, v]) => `${k}\t${v}`)
      .join('\n'),
  );
/** Keys in order, without the array-index keys whose order no JavaScript object keeps. */
const wordOrder = (d: Record<string, unknown>): string[] => Object.keys(d).filter((k) => !isIndexKey(k));
const describe = (c: { num_words: number | null; oov_token: string | null; texts: string[] }): string =>
  `num_words ${c.num_words}, oov_token ${JSON.stringify(c.oov_token)}, ${c.texts.length} made-up text(s)`;

for (const c of golden.to_json.made_up) {
  test(`toJSON() holds what Keras's to_json() holds (${describe(c)}), and fromJSON reads Keras's`, () => {
    const tok = new Tokenizer({ numWords: c.num_words, oovToken: c.oov_token }).fitOnTexts(c.texts);
    const mine = JSON.parse(JSON.stringify(tok.toJSON()));
    const keras = JSON.parse(c.json);
    assert.deepEqual(Object.keys(mine), Object.keys(keras));
    assert.equal(mine.class_name, keras.class_name);
    assert.deepEqual(Object.keys(mine.config), Object.keys(keras.config), 'the same config keys, in the same order');
    for (const [k, v] of Object.entries(keras.config)) {
      if (NESTED.includes(k as NestedField)) continue;
      assert.equal(mine.config[k], v, k);
    }
    for (const k of NESTED) {
      assert.equal(typeof mine.config[k], 'string', `${k} is a JSON string, as Keras writes it`);
      const [a, b] = [JSON.parse(mine.config[k]), JSON.parse(keras.config[k])];
      assert.deepEqual(a, b, `${k}: the same keys and values`);
      // word_counts is first-occurrence order in Keras (an OrderedDict), word_index id order.
      if (k === 'word_counts' || k === 'word_index') assert.deepEqual(wordOrder(a), wordOrder(b), `${k}: the same order of words`);
    }
    // fromJSON rebuilds the word index in id order (with the OOV token also used as a word, Keras's dict keeps the
    // token first, at its later id): the same mapping.
    const fromKeras = Tokenizer.fromJSON(keras);
    assert.deepEqual(Object.fromEntries(fromKeras.wordIndex), Object.fromEntries(tok.wordIndex));
    assert.deepEqual(Object.fromEntries(fromKeras.wordCounts), Object.fromEntries(tok.wordCounts));
    assert.deepEqual(Object.fromEntries(fromKeras.wordDocs), Object.fromEntries(tok.wordDocs));
    assert.equal(fromKeras.documentCount, tok.documentCount);
    assert.deepEqual(fromKeras.textsToSequences(c.texts), tok.textsToSequences(c.texts));
  });
}

/** The 300-review tokenizer of the OOV test above (num_words 50, oov_token <OOV>). */
function reviewsTokenizer(): Tokenizer {
  return new Tokenizer({ numWords: 50, oovToken: '<OOV>' }).fitOnTexts([...train.slice(0, 150), ...train.slice(-150)].map((r) => r.text));
}

test("toJSON() of a tokenizer fitted on 300 real reviews holds what Keras's to_json() holds (digests of 8,570 words)", () => {
  const want = golden.to_json.reviews_300;
  const mine = JSON.parse(JSON.stringify(reviewsTokenizer().toJSON()));
  assert.equal(mine.class_name, 'Tokenizer');
  assert.deepEqual(Object.keys(mine.config), want.keys);
  assert.deepEqual(Object.fromEntries(Object.keys(want.scalars).map((k) => [k, mine.config[k]])), want.scalars);
  for (const k of NESTED) {
    const d = JSON.parse(mine.config[k]) as Record<string, unknown>;
    const w = want.fields[k];
    const got: FieldDigest = { entries: Object.keys(d).length, content_sha256: contentSha256(d), keras_sha256: w.keras_sha256 };
    if (w.word_order_sha256) got.word_order_sha256 = sha256(wordOrder(d).join('\n'));
    assert.deepEqual(got, w, k);
  }
});

// Keras writes the nested fields with Python's json.dumps: ", " and ": " separators, non-ASCII as \uXXXX escapes,
// keys in insertion order (integer-like words such as "10" where they occur, not first as JavaScript objects order
// them). rnn writes them the same way (the first run of this test, as a todo, found JSON.stringify's text). word_docs
// and index_docs are left out: Keras fills word_docs from set(words), so even Keras's own text of them changes with
// PYTHONHASHSEED.
test("toJSON()'s nested fields are the text Keras's to_json() writes (word_counts, index_word, word_index)", () => {
  const exact: NestedField[] = ['word_counts', 'index_word', 'word_index'];
  for (const c of golden.to_json.made_up) {
    const mine = new Tokenizer({ numWords: c.num_words, oovToken: c.oov_token }).fitOnTexts(c.texts).toJSON();
    const keras = JSON.parse(c.json);
    for (const k of exact) assert.equal(mine.config[k], keras.config[k], `${describe(c)}: ${k}`);
  }
  const mine = reviewsTokenizer().toJSON();
  for (const k of exact) assert.equal(sha256(mine.config[k]), golden.to_json.reviews_300.fields[k].keras_sha256, `300 reviews: ${k}`);
});

test("toKerasJson() (tokenizer.json) is Keras's to_json() text byte for byte, but for the set order of word_docs and index_docs", () => {
  for (const c of golden.to_json.made_up) {
    const t = new Tokenizer({ numWords: c.num_words, oovToken: c.oov_token }).fitOnTexts(c.texts);
    const keras = JSON.parse(c.json);
    // Keras's set-ordered fields in place of rnn's (first-document order): everything else must match as written.
    const mine = t
      .toKerasJson()
      .replace(JSON.stringify(t.toJSON().config.word_docs), JSON.stringify(keras.config.word_docs))
      .replace(JSON.stringify(t.toJSON().config.index_docs), JSON.stringify(keras.config.index_docs));
    assert.equal(mine, c.json, describe(c));
    assert.deepEqual(Tokenizer.fromJSON(JSON.parse(t.toKerasJson())).toJSON(), t.toJSON(), 'and it reads back to the same tokenizer');
  }
});

// The exported web page loads forInference()'s copy: it must give every text the ids and statistics the
// whole tokenizer gives (checked on 2,000 real test reviews, with and without an OOV token).
for (const oovToken of [null, '<OOV>']) {
  test(`forInference() (oov ${oovToken}): the same ids, word and unknown counts on real reviews, in a fraction of the JSON`, () => {
    const full = new Tokenizer({ numWords: 2000, oovToken }).fitOnTexts(train.slice(0, 3000).map((r) => r.text));
    const small = full.forInference();
    const reloaded = Tokenizer.fromJSON(JSON.parse(small.toKerasJson()));
    for (const r of testReviews.slice(0, 2000)) {
      const want = full.textToSequenceWithStats(r.text);
      assert.deepEqual(small.textToSequenceWithStats(r.text), want);
      assert.deepEqual(reloaded.textToSequenceWithStats(r.text), want);
    }
    assert.equal(small.wordIndex.size, 1999); // ids 1..1999 reach the model (num_words excludes its own value)
    assert.ok(small.toKerasJson().length < full.toKerasJson().length / 5);
  });
}
