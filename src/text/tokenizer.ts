/**
 * Keras `Tokenizer` semantics (keras.preprocessing.text / keras.src.legacy.preprocessing.text),
 * reproduced exactly so that token ids match what Keras users get. Pure: no tfjs.
 * Its JSON form is Keras's own `Tokenizer.to_json()` format, so
 * `keras.preprocessing.text.tokenizer_from_json(open('tokenizer.json').read())` loads it.
 */

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
  return { numWords: o.numWords ?? null, filters: o.filters ?? KERAS_FILTERS, lower: o.lower ?? true, split: o.split ?? ' ', oovToken: o.oovToken ?? null };
}

/** Keras `text_to_word_sequence`. */
export function textToWordSequence(text: string, filters = KERAS_FILTERS, lower = true, split = ' '): string[] {
  let t = lower ? text.toLowerCase() : text;
  if (filters.length > 0) {
    const set = new Set(filters);
    let out = '';
    for (const ch of t) out += set.has(ch) ? split : ch;
    t = out;
  }
  return t.split(split).filter((w) => w.length > 0);
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

  /** Keras `to_json()` structure. */
  toJSON(): KerasTokenizerJson {
    const wordIndex = Object.fromEntries(this.wordIndex);
    const indexWord: Record<string, string> = {};
    for (const [w, i] of this.wordIndex) indexWord[String(i)] = w;
    const indexDocs: Record<string, number> = {};
    for (const [w, c] of this.wordDocs) indexDocs[String(this.wordIndex.get(w))] = c;
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
        word_counts: JSON.stringify(Object.fromEntries(this.wordCounts)),
        word_docs: JSON.stringify(Object.fromEntries(this.wordDocs)),
        index_docs: JSON.stringify(indexDocs),
        index_word: JSON.stringify(indexWord),
        word_index: JSON.stringify(wordIndex),
      },
    };
  }

  /** Reads Keras's `to_json()` form (ours or one written by Keras). Throws on a malformed one. */
  static fromJSON(json: unknown): Tokenizer {
    const j = json as Partial<KerasTokenizerJson>;
    if (!j || j.class_name !== 'Tokenizer' || typeof j.config !== 'object' || j.config === null) {
      throw new Error('not a Keras Tokenizer JSON (class_name "Tokenizer" with a config)');
    }
    const c = j.config;
    if (c.char_level) throw new Error('char_level tokenizers are not supported');
    const t = new Tokenizer({ numWords: c.num_words ?? null, filters: c.filters, lower: c.lower, split: c.split, oovToken: c.oov_token ?? null });
    t.documentCount = c.document_count ?? 0;
    // JSON.parse keeps the insertion order of string keys that are not array indices; words are never pure digits
    // after Keras's filters? They can be ("1990"), so rebuild orders from the id maps where it matters.
    const wordIndex = JSON.parse(c.word_index) as Record<string, number>;
    t.wordIndex = new Map(Object.entries(wordIndex).sort((a, b) => a[1] - b[1]));
    t.wordCounts = new Map(Object.entries(JSON.parse(c.word_counts) as Record<string, number>));
    t.wordDocs = new Map(Object.entries(JSON.parse(c.word_docs) as Record<string, number>));
    return t;
  }
}
