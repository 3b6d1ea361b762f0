/**
 * Properties of the tokenizer and `pad_sequences` on generated text (fast-check): ids stay below num_words,
 * rows are maxlen long and padded on the side asked for, tokenizer.json reads back to the same tokenizer, and
 * the ids agree with test/reference.ts (Keras's rules written again, sharing no code with src/text) on text
 * with Unicode, punctuation runs, HTML breaks, empty and very long reviews. Fixed seeds (PROPERTY_SEED in
 * test/properties.ts), a few hundred cases each: a failure prints the seed and the shrunk counterexample.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Tokenizer, KERAS_FILTERS, textToWordSequence, flatObjectEntries, carefulEntries } from '../../src/text/tokenizer.js';
import { padSequences, PAD_SIDES } from '../../src/text/pad.js';
import { kerasPad, kerasSequence, kerasWords, parseKerasTokenizer } from '../reference.js';
import { propertyOptions, reviewText } from '../properties.js';

/** A tokenizer's options as Keras takes them (num_words None or 2..60; 0 is Keras's "no limit" too, tested apart). */
const tokenizerOptions = fc.record({
  numWords: fc.option(fc.integer({ min: 2, max: 60 }), { nil: null }),
  oovToken: fc.option(fc.constantFrom('<OOV>', '[UNK]', 'oov', 'the'), { nil: null }),
  lower: fc.boolean(),
});

const corpus = fc.array(reviewText(), { minLength: 0, maxLength: 12 });

test('ids are whole numbers from 1 below num_words; unknown words are the OOV id or dropped; counts add up', () => {
  fc.assert(
    fc.property(tokenizerOptions, corpus, corpus, (opts, fit, texts) => {
      const tok = new Tokenizer(opts).fitOnTexts(fit);
      const oov = opts.oovToken === null ? undefined : tok.wordIndex.get(opts.oovToken);
      for (const text of texts) {
        const s = tok.textToSequenceWithStats(text);
        for (const id of s.ids) {
          assert.ok(Number.isInteger(id) && id >= 1, `id ${id}`);
          if (opts.numWords !== null) assert.ok(id < opts.numWords, `id ${id} >= num_words ${opts.numWords}`);
        }
        assert.equal(s.words, tok.textToWords(text).length);
        assert.equal(s.ids.length, oov === undefined ? s.words - s.unknown : s.words);
        assert.ok(s.ids.length <= s.words);
        assert.ok(s.ids.every((id) => id < tok.vocabularySize || id === oov));
      }
    }),
    propertyOptions(),
  );
});

test('ids agree with the independent Keras reference reading the saved tokenizer.json (Unicode, punctuation, HTML, empty)', () => {
  fc.assert(
    fc.property(tokenizerOptions, corpus, corpus, (opts, fit, texts) => {
      const tok = new Tokenizer(opts).fitOnTexts(fit);
      const ref = parseKerasTokenizer(tok.toKerasJson());
      for (const text of [...texts, ...fit]) {
        const mine = tok.textToSequenceWithStats(text);
        const keras = kerasSequence(ref, text);
        assert.deepEqual(mine.ids, keras.ids, JSON.stringify(text));
        assert.equal(mine.words, keras.words);
        assert.equal(mine.unknown, keras.unknown);
      }
    }),
    propertyOptions(),
  );
});

test('tokenizer.json reads back to the same tokenizer: the same JSON text and the same ids (toKerasJson ∘ fromJSON is the identity)', () => {
  fc.assert(
    fc.property(tokenizerOptions, corpus, corpus, (opts, fit, texts) => {
      const tok = new Tokenizer(opts).fitOnTexts(fit);
      const text = tok.toKerasJson();
      const back = Tokenizer.fromJSON(JSON.parse(text));
      assert.equal(back.toKerasJson(), text);
      assert.equal(Tokenizer.fromJSON(JSON.parse(back.toKerasJson())).toKerasJson(), text);
      assert.deepEqual(back.textsToSequences(texts), tok.textsToSequences(texts));
      // What an exported page loads: fewer words, the same ids.
      const small = Tokenizer.fromJSON(JSON.parse(tok.forInference().toKerasJson()));
      assert.deepEqual(small.textsToSequences(texts), tok.textsToSequences(texts));
    }),
    propertyOptions(),
  );
});

test('every filter character, in runs and mixed with words, separates words and is never part of one', () => {
  const run = fc.array(fc.constantFrom(...KERAS_FILTERS), { minLength: 1, maxLength: 8 }).map((a) => a.join(''));
  const word = fc.constantFrom('film', 'good', 'Bad', 'ÉCOLE', 'naïve', '映画', '🎬', "isn't");
  fc.assert(
    fc.property(fc.array(fc.tuple(word, run), { maxLength: 10 }), (parts) => {
      const text = parts.map(([w, r]) => w + r).join('');
      const words = new Tokenizer().textToWords(text);
      assert.deepEqual(
        words,
        parts.map(([w]) => w.toLowerCase()),
      );
      for (const w of words) for (const ch of KERAS_FILTERS) assert.ok(!w.includes(ch));
    }),
    propertyOptions(),
  );
});

test('any filters and split (regex syntax, letters, astral characters, several characters) split as the Keras reference does', () => {
  const char = fc.oneof(
    fc.constantFrom(...KERAS_FILTERS, '\\', ']', '[', '^', '-', '$', '.', '|', 'a', 'E', 'é', '🎬', ' '),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
  );
  const filters = fc.array(char, { maxLength: 12 }).map((a) => a.join(''));
  // Several characters, some of them common in the reviews alone ('is' splits "isn't", not "this").
  const several = fc.oneof(
    fc.constantFrom('is', 'a ', ' !', '!!', 'br', '<br'),
    fc.array(char, { minLength: 2, maxLength: 3 }).map((a) => a.join('')),
  );
  const split = fc.oneof(char, several);
  fc.assert(
    fc.property(reviewText(), filters, fc.boolean(), split, (text, f, lower, sp) => {
      assert.deepEqual(textToWordSequence(text, f, lower, sp), kerasWords(text, f, lower, sp));
    }),
    propertyOptions(),
  );
});

test('a huge review (hundreds of thousands of characters) encodes like the reference and pads to maxlen', () => {
  const huge = fc
    .tuple(fc.array(reviewText(), { minLength: 1, maxLength: 4 }), fc.integer({ min: 100_000, max: 400_000 }))
    .map(([parts, n]) => {
      const unit = parts.join(' ') + ' film! ';
      return unit.repeat(Math.ceil(n / unit.length)).slice(0, n);
    });
  fc.assert(
    fc.property(huge, fc.integer({ min: 1, max: 300 }), (text, maxlen) => {
      const tok = new Tokenizer({ numWords: 50 }).fitOnTexts([text]);
      const ids = tok.textsToSequences([text])[0]!;
      assert.deepEqual(ids, kerasSequence(parseKerasTokenizer(tok.toKerasJson()), text).ids);
      const row = padSequences([ids], { maxlen });
      assert.equal(row.length, maxlen);
      assert.deepEqual([...row], kerasPad(ids, maxlen, 'pre', 'pre'));
    }),
    propertyOptions({ numRuns: 4 }),
  );
});

test('num_words 0 keeps every word, as Keras does (`if num_words and i >= num_words`)', () => {
  fc.assert(
    fc.property(corpus, (fit) => {
      const all = new Tokenizer().fitOnTexts(fit);
      const zero = new Tokenizer({ numWords: 0 }).fitOnTexts(fit);
      assert.deepEqual(zero.textsToSequences(fit), all.textsToSequences(fit));
    }),
    propertyOptions({ numRuns: 50 }),
  );
});

const sequences = fc.array(fc.array(fc.integer({ min: 1, max: 10_000 }), { maxLength: 40 }), { maxLength: 12 });
const side = fc.constantFrom(...PAD_SIDES);

test('pad_sequences: every row is maxlen long, padded and cut on the sides asked for, as the Keras reference', () => {
  fc.assert(
    fc.property(sequences, fc.integer({ min: 1, max: 30 }), side, side, (seqs, maxlen, padding, truncating) => {
      const out = padSequences(seqs, { maxlen, padding, truncating });
      assert.equal(out.length, seqs.length * maxlen);
      seqs.forEach((s, r) => {
        const row = [...out.subarray(r * maxlen, (r + 1) * maxlen)];
        assert.deepEqual(row, kerasPad(s, maxlen, padding, truncating));
        const kept = Math.min(s.length, maxlen);
        const pads = padding === 'pre' ? row.slice(0, maxlen - kept) : row.slice(kept);
        assert.ok(pads.every((v) => v === 0));
        const body = padding === 'pre' ? row.slice(maxlen - kept) : row.slice(0, kept);
        assert.deepEqual(body, truncating === 'pre' ? s.slice(s.length - kept) : s.slice(0, kept));
      });
    }),
    propertyOptions(),
  );
});

/** JSON text of `entries` as an object, keys in the order given (repeats kept), with the whitespace chosen. */
function objectText(entries: Array<[string, unknown]>, gaps: string[]): string {
  const g = (i: number) => gaps[i % gaps.length] ?? '';
  return `${g(0)}{${entries.map(([k, v], i) => `${g(i + 1)}${JSON.stringify(k)}${g(i + 2)}:${g(i + 3)}${JSON.stringify(v)}`).join(',')}${g(1)}}${g(2)}`;
}

test("tokenizer.json's word maps read in one pass give what JSON.parse and the careful scan give, or leave it to them", () => {
  const key = fc.oneof(
    fc.string(),
    fc.string({ unit: 'grapheme' }),
    fc.nat().map(String),
    fc.constantFrom('10', '1990', '0', '01', '4294967295', '-1', '"', '\\', '\u0000é'),
  );
  const value = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string(), fc.boolean(), fc.constant(null));
  const gaps = fc.array(fc.constantFrom('', ' ', '\n', '\t', ' \r\n '), { minLength: 1, maxLength: 4 });
  fc.assert(
    fc.property(fc.array(fc.tuple(key, value), { maxLength: 30 }), gaps, (entries, ws) => {
      const text = objectText(entries, ws);
      const fast = flatObjectEntries(text);
      assert.ok(fast !== undefined, `a flat object is read in one pass: ${text}`);
      assert.deepEqual(new Map(fast), new Map(carefulEntries(text)));
      assert.deepEqual(
        fast.map(([k]) => k),
        entries.map(([k]) => k),
        'every key in the order written',
      );
    }),
    propertyOptions(),
  );
  // Anything else is left to the careful path, which explains it.
  for (const text of [
    '[1]',
    '{"a": {"b": 1}}',
    '{"a": [1]}',
    '{"a": 1,}',
    '{"a": 01}',
    '{"a": 1} x',
    '{"a": "\u001f"}',
    '{"a" 1}',
    'null',
    '{"a": tru}',
    '',
  ]) {
    assert.equal(flatObjectEntries(text), undefined, text);
  }
});
