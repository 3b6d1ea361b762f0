/**
 * Keras `Tokenizer` semantics (keras.preprocessing.text / keras.src.legacy.preprocessing.text),
 * reproduced exactly so that token ids match what Keras users get. Pure: no tfjs.
 * Its JSON form is Keras's own `Tokenizer.to_json()` format, so
 * `keras.preprocessing.text.tokenizer_from_json(open('tokenizer.json').read())` loads it.
 */

import { UserError } from '../errors.js';

/** Keras's default `filters`: characters replaced by the split character. */
export const KERAS_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n';

/** Options of {@link Tokenizer}; Keras's argument names in brackets. */
export interface TokenizerOptions {
  /** Keep only ids < numWords when converting texts (`num_words`); null keeps all. */
  numWords: number | null;
  /** Characters replaced by `split` before splitting (`filters`). */
  filters: string;
  /** Lower-case texts first (`lower`). */
  lower: boolean;
  /** The separator (`split`); Keras splits on exactly this string. */
  split: string;
  /** Token for words outside the vocabulary (`oov_token`); it gets id 1. */
  oovToken: string | null;
}

export function resolveTokenizerOptions(o: Partial<TokenizerOptions> = {}): TokenizerOptions {
  return {
    numWords: o.numWords ?? null,
    filters: o.filters ?? KERAS_FILTERS,
    lower: o.lower ?? true,
    split: o.split ?? ' ',
    oovToken: o.oovToken ?? null,
  };
}

/** Keras `text_to_word_sequence`. */
export function textToWordSequence(text: string, filters = KERAS_FILTERS, lower = true, split = ' '): string[] {
  const t = lower ? text.toLowerCase() : text;
  const separators = separatorRuns(filters, split);
  if (separators) {
    // Replacing each filter by the one-character split and dropping the empty strings between separators is
    // splitting on runs of filters and split (2.5-4x faster on IMDB's reviews than replacing character by character).
    const words = t.split(separators);
    if (words[0] === '') words.shift();
    if (words.length > 0 && words[words.length - 1] === '') words.pop();
    return words;
  }
  let replaced = t;
  if (filters.length > 0) {
    const set = new Set(filters);
    replaced = '';
    for (const ch of t) replaced += set.has(ch) ? split : ch;
  }
  return replaced.split(split).filter((w) => w.length > 0);
}

const SEPARATOR_RUNS = new Map<string, RegExp | null>();

/** A RegExp matching runs of `filters` and `split` (code points), when `split` is one code point; else null. */
function separatorRuns(filters: string, split: string): RegExp | null {
  const key = `${filters}\0${split}`;
  let re = SEPARATOR_RUNS.get(key);
  if (re === undefined) {
    const chars = [...new Set([...filters, ...split])];
    re = [...split].length === 1 ? new RegExp(`[${chars.map((c) => c.replace(/[\\\][^-]/g, '\\$&')).join('')}]+`, 'u') : null;
    SEPARATOR_RUNS.set(key, re);
  }
  return re;
}

/** Per-text result of {@link Tokenizer.textsToSequencesWithStats}. */
export interface SequenceStats {
  /** Token ids, Keras `texts_to_sequences` semantics. */
  ids: number[];
  /** Words not in the vocabulary, or with an id >= numWords. */
  unknown: number;
  /** Number of words in the text. */
  words: number;
}

/** Keras's serialized form (`Tokenizer.to_json()`), with dictionaries as JSON strings. */
export interface KerasTokenizerJson {
  class_name: 'Tokenizer';
  config: {
    num_words: number | null;
    filters: string;
    lower: boolean;
    split: string;
    char_level: boolean;
    oov_token: string | null;
    document_count: number;
    word_counts: string;
    word_docs: string;
    index_docs: string;
    index_word: string;
    word_index: string;
  };
}

export class Tokenizer {
  readonly options: TokenizerOptions;
  /** Word → count, in first-occurrence order (Keras's OrderedDict). */
  wordCounts = new Map<string, number>();
  /** Word → number of documents containing it, in first-document order. */
  wordDocs = new Map<string, number>();
  /** Word → id (1-based; 0 is padding). */
  wordIndex = new Map<string, number>();
  documentCount = 0;

  constructor(options: Partial<TokenizerOptions> = {}) {
    this.options = resolveTokenizerOptions(options);
  }

  /** The words Keras's tokenization makes of a text (`text_to_word_sequence` with this tokenizer's options). */
  textToWords(text: string): string[] {
    return textToWordSequence(text, this.options.filters, this.options.lower, this.options.split);
  }

  /** Keras `fit_on_texts`: counts words, then ids by descending count, ties by first occurrence. */
  fitOnTexts(texts: Iterable<string>): this {
    for (const text of texts) {
      this.documentCount++;
      const seq = this.textToWords(text);
      for (const w of seq) this.wordCounts.set(w, (this.wordCounts.get(w) ?? 0) + 1);
      for (const w of new Set(seq)) this.wordDocs.set(w, (this.wordDocs.get(w) ?? 0) + 1);
    }
    this.rebuildIndex();
    return this;
  }

  private rebuildIndex(): void {
    // Array.prototype.sort is stable, like Python's sort(reverse=True): equal counts keep first-occurrence order.
    const sorted = [...this.wordCounts.entries()].sort((a, b) => b[1] - a[1]).map(([w]) => w);
    const vocab = this.options.oovToken === null ? sorted : [this.options.oovToken, ...sorted];
    // dict(zip(sorted_voc, range(1, n + 1))): a later duplicate (the OOV token used as a word) wins.
    this.wordIndex = new Map();
    vocab.forEach((w, i) => this.wordIndex.set(w, i + 1));
  }

  /** Keras `texts_to_sequences`. */
  textsToSequences(texts: Iterable<string>): number[][] {
    return [...texts].map((t) => this.textToSequenceWithStats(t).ids);
  }

  /** One text to ids, with how many words were unknown to the vocabulary. */
  textToSequenceWithStats(text: string): SequenceStats {
    const { numWords, oovToken } = this.options;
    const oovIndex = oovToken === null ? undefined : this.wordIndex.get(oovToken);
    const ids: number[] = [];
    let unknown = 0;
    const seq = this.textToWords(text);
    for (const w of seq) {
      const i = this.wordIndex.get(w);
      if (i !== undefined) {
        if (numWords && i >= numWords) {
          unknown++;
          if (oovIndex !== undefined) ids.push(oovIndex);
        } else {
          ids.push(i);
        }
      } else {
        unknown++;
        if (oovToken !== null && oovIndex !== undefined) ids.push(oovIndex);
      }
    }
    return { ids, unknown, words: seq.length };
  }

  /** Number of distinct ids the model sees: min(numWords, vocabulary + 1). */
  get vocabularySize(): number {
    const all = this.wordIndex.size + 1;
    return this.options.numWords ? Math.min(this.options.numWords, all) : all;
  }

  /**
   * Keras `to_json()` structure. The nested fields are the text Keras writes with Python's `json.dumps`
   * (`", "` and `": "`, non-ASCII as `\uXXXX`, entries in insertion order, integer-like words where they
   * occur), not JavaScript's object order.
   */
  toJSON(): KerasTokenizerJson {
    // Keras: index_docs[word_index[w]] = c over word_docs; index_word = {c: w for w, c in word_index.items()}.
    const indexDocs = new Map<number, number>();
    for (const [w, c] of this.wordDocs) indexDocs.set(this.wordIndex.get(w)!, c);
    const indexWord = new Map<number, string>();
    for (const [w, i] of this.wordIndex) indexWord.set(i, w);
    return {
      class_name: 'Tokenizer',
      config: {
        num_words: this.options.numWords,
        filters: this.options.filters,
        lower: this.options.lower,
        split: this.options.split,
        char_level: false,
        oov_token: this.options.oovToken,
        document_count: this.documentCount,
        word_counts: pythonJson(this.wordCounts),
        word_docs: pythonJson(this.wordDocs),
        index_docs: pythonJson(indexDocs),
        index_word: pythonJson(indexWord),
        word_index: pythonJson(this.wordIndex),
      },
    };
  }

  /** Keras's `tokenizer.to_json()`, byte for byte: what tokenizer.json holds, and `tokenizer_from_json` reads. */
  toKerasJson(): string {
    const j = this.toJSON();
    return pythonJson(
      new Map<string, unknown>([
        ['class_name', j.class_name],
        ['config', new Map(Object.entries(j.config))],
      ]),
    );
  }

  /**
   * A copy that knows only the words that reach the model (ids below `numWords`, and the OOV token) and
   * none of the fitting counts: the same ids and statistics for every text, in a fraction of the JSON (an
   * exported page loads it; Keras's `tokenizer_from_json` still reads it). Without `numWords`, every word
   * reaches the model.
   */
  forInference(): Tokenizer {
    const { numWords } = this.options;
    const t = new Tokenizer(this.options);
    t.documentCount = this.documentCount;
    const keep = (w: string): boolean => {
      const i = this.wordIndex.get(w);
      return i !== undefined && (!numWords || i < numWords);
    };
    t.wordIndex = new Map([...this.wordIndex].filter(([w]) => keep(w)));
    return t;
  }

  /**
   * Reads Keras's `to_json()` form (ours or one written by Keras). A malformed one throws a
   * `MODEL_TOKENIZER_INVALID` {@link UserError} that names `from.file` (where the JSON came from) and says `from.fix`.
   */
  static fromJSON(json: unknown, from: { file?: string; fix?: string } = {}): Tokenizer {
    const invalid = (why: string): UserError =>
      new UserError(
        'MODEL_TOKENIZER_INVALID',
        from.file === undefined ? why : `${from.file} is not a Keras tokenizer: ${why}`,
        from.fix ?? "Use the tokenizer.json saved with the model, or the JSON Keras's tokenizer.to_json() wrote",
      );
    const j = json as Partial<KerasTokenizerJson>;
    if (!j || j.class_name !== 'Tokenizer' || typeof j.config !== 'object' || j.config === null) {
      throw invalid('not a Keras Tokenizer JSON (class_name "Tokenizer" with a config)');
    }
    const c = j.config;
    if (c.char_level) throw invalid('char_level tokenizers are not supported');
    // Keras's own types (a missing field takes Keras's default): anything else would fail later, when texts are encoded.
    const field = (name: keyof KerasTokenizerJson['config'], ok: (v: unknown) => boolean, what: string): void => {
      const v = c[name];
      if (v !== undefined && !ok(v)) throw invalid(`its config.${name} is ${describe(v)}, not ${what}`);
    };
    const count = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;
    field('num_words', (v) => v === null || count(v), 'null or a whole number');
    field('filters', (v) => typeof v === 'string', 'a string');
    field('lower', (v) => typeof v === 'boolean', 'true or false');
    field('split', (v) => typeof v === 'string' && v.length > 0, 'a non-empty string');
    field('oov_token', (v) => v === null || typeof v === 'string', 'null or a string');
    field('document_count', count, 'a whole number');
    const entries = <V>(name: 'word_index' | 'word_counts' | 'word_docs'): Array<[string, V]> => {
      const text = c[name];
      if (typeof text !== 'string') throw invalid(`its config.${name} is not a string of JSON`);
      try {
        return orderedEntries<V>(text);
      } catch (e) {
        throw invalid(`its config.${name} is not a JSON object (${(e as Error).message})`);
      }
    };
    const wordIndex = entries<number>('word_index');
    const bad = wordIndex.find(([, i]) => !Number.isSafeInteger(i) || i < 1);
    if (bad) throw invalid(`its config.word_index gives "${bad[0]}" the id ${describe(bad[1])}, not a whole number of at least 1`);
    const counts = (name: 'word_counts' | 'word_docs'): Array<[string, number]> => {
      const e = entries<number>(name);
      const wrong = e.find(([, n]) => !count(n));
      if (wrong) throw invalid(`its config.${name} gives "${wrong[0]}" the count ${describe(wrong[1])}, not a whole number`);
      return e;
    };
    const t = new Tokenizer({
      numWords: c.num_words ?? null,
      filters: c.filters,
      lower: c.lower,
      split: c.split,
      oovToken: c.oov_token ?? null,
    });
    t.documentCount = c.document_count ?? 0;
    // In the order written: JSON.parse would move integer-like words ("10", "1990") to the front.
    t.wordIndex = new Map(wordIndex);
    t.wordCounts = new Map(counts('word_counts'));
    t.wordDocs = new Map(counts('word_docs'));
    return t;
  }
}

/**
 * A JSON value in a message: short, whatever its size or depth (an array or object is named, not written out:
 * JSON.stringify recurses, and a value nested 100,000 deep overflowed the stack). This module runs in the
 * browser too, so it keeps its own copy of src/util/json.ts's jsonExcerpt.
 */
function describe(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object' && v !== null) return 'an object';
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** A string as Python's `json.dumps` writes it (ensure_ascii): quotes, backslashes and control characters escaped, everything outside printable ASCII as a \uXXXX escape. */
function pythonString(s: string): string {
  const named: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    const code = s.charCodeAt(i);
    out += named[ch] ?? (code < 0x20 || code > 0x7e ? `\\u${code.toString(16).padStart(4, '0')}` : ch);
  }
  return out + '"';
}

/** Python's `json.dumps` of a dict (a Map, in insertion order), a str, an int, a bool or None. */
function pythonJson(v: unknown): string {
  if (v instanceof Map) return `{${[...v].map(([k, x]) => `${pythonString(String(k))}: ${pythonJson(x)}`).join(', ')}}`;
  if (typeof v === 'string') return pythonString(v);
  if (typeof v === 'number' && Number.isInteger(v)) return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v === null) return 'null';
  throw new Error(`pythonJson: ${typeof v} is not written by Keras's tokenizer JSON`);
}

/** The entries of a flat JSON object (string keys; number, string, boolean or null values) in the order written. */
function orderedEntries<V>(text: string): Array<[string, V]> {
  return flatObjectEntries<V>(text) ?? carefulEntries<V>(text);
}

const WHITESPACE = /[ \t\n\r]*/y;
// JSON's strings: no raw control characters, only its escapes.
// eslint-disable-next-line no-control-regex
const STRING = /"((?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*)"/y;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const LITERAL = /true|false|null/y;
/** What a value that is not a string is: a number, or true, false or null. */
const NOT_STRING = [NUMBER, LITERAL];
const OPEN = 0x7b;
const CLOSE = 0x7d;
const COLON = 0x3a;
const COMMA = 0x2c;

/**
 * {@link orderedEntries} in one pass over the text, for what Keras writes: a JSON object whose values are
 * strings, numbers, booleans or null. Undefined for anything else (invalid JSON, nested values), which
 * {@link carefulEntries} reads or explains. JSON.parse would build an object of every word first, and
 * enumerating one of 88,582 keys is slow in V8: this took loading a model's tokenizer from ~0.3 s to ~0.05 s.
 */
export function flatObjectEntries<V>(text: string): Array<[string, V]> | undefined {
  let at = 0;
  const skip = (): void => {
    WHITESPACE.lastIndex = at;
    WHITESPACE.test(text);
    at = WHITESPACE.lastIndex;
  };
  const string = (): string | undefined => {
    STRING.lastIndex = at;
    const m = STRING.exec(text);
    if (!m) return undefined;
    at = STRING.lastIndex;
    return m[1]!.includes('\\') ? (JSON.parse(m[0]) as string) : m[1]!;
  };
  const value = (): { v: unknown } | undefined => {
    if (text.charCodeAt(at) === 0x22) {
      const v = string();
      return v === undefined ? undefined : { v };
    }
    for (const re of NOT_STRING) {
      re.lastIndex = at;
      const m = re.exec(text);
      if (m) {
        at = re.lastIndex;
        return { v: re === NUMBER ? Number(m[0]) : m[0] === 'null' ? null : m[0] === 'true' };
      }
    }
    return undefined;
  };
  const out: Array<[string, V]> = [];
  skip();
  if (text.charCodeAt(at++) !== OPEN) return undefined;
  skip();
  if (text.charCodeAt(at) === CLOSE) at++;
  else
    for (;;) {
      const key = string();
      if (key === undefined) return undefined;
      skip();
      if (text.charCodeAt(at++) !== COLON) return undefined;
      skip();
      const v = value();
      if (v === undefined) return undefined;
      out.push([key, v.v as V]);
      skip();
      const next = text.charCodeAt(at++);
      if (next === CLOSE) break;
      if (next !== COMMA) return undefined;
      skip();
    }
  skip();
  return at === text.length ? out : undefined;
}

/** {@link orderedEntries} by JSON.parse and a scan for the keys' order: the errors, for what is not a flat object. */
export function carefulEntries<V>(text: string): Array<[string, V]> {
  const values = JSON.parse(text) as Record<string, V>; // validates the text; its key order is JavaScript's
  if (typeof values !== 'object' || values === null || Array.isArray(values)) {
    throw new Error(`found ${Array.isArray(values) ? 'an array' : values === null ? 'null' : `a ${typeof values}`}`);
  }
  // Flat: a nested object's keys would be taken for this object's.
  const nested = Object.keys(values).find((k) => typeof values[k] === 'object' && values[k] !== null);
  if (nested !== undefined)
    throw new Error(`the value of "${nested.slice(0, 40)}" is ${Array.isArray(values[nested]) ? 'an array' : 'an object'}`);
  const keys: string[] = [];
  // A key is a string after `{` or `,` (outside strings); a string value follows a `:`.
  let expectKey = true;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (expectKey) keys.push(JSON.parse(text.slice(i, j + 1)) as string);
      i = j;
    } else if (ch === ':') {
      expectKey = false;
    } else if (ch === ',') {
      expectKey = true;
    }
  }
  return keys.map((k) => [k, values[k]!]);
}
