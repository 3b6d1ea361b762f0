/**
 * Independent references for tests that must not share code with what they check: Keras's preprocessing
 * written again from Keras's own rules (keras.src.legacy.preprocessing.text and sequence: text_to_word_sequence,
 * Tokenizer.texts_to_sequences, pad_sequences), reading the saved tokenizer.json as Keras's
 * `tokenizer_from_json` does, and stock tfjs-layers on the saved model.json. Nothing here imports rnn's
 * tokenizer, encoder or predictor; test/text/tokenizer.test.ts checks this encoder against Keras's goldens.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { TF } from '../src/backend/index.js';

/** The parts of a Keras tokenizer.json that encoding reads. */
export interface KerasTokenizerJson {
  numWords: number | null;
  filters: string;
  lower: boolean;
  split: string;
  oovToken: string | null;
  wordIndex: Map<string, number>;
}

/** Reads a tokenizer.json as `tokenizer_from_json` does (its word_index is a JSON string inside the config). */
export function readKerasTokenizer(file: string): KerasTokenizerJson {
  return parseKerasTokenizer(readFileSync(file, 'utf8'));
}

/** The text of a tokenizer.json read as `tokenizer_from_json` does. */
export function parseKerasTokenizer(text: string): KerasTokenizerJson {
  const c = (JSON.parse(text) as { config: Record<string, unknown> }).config;
  return {
    numWords: (c.num_words as number | null) ?? null,
    filters: c.filters as string,
    lower: c.lower as boolean,
    split: c.split as string,
    oovToken: (c.oov_token as string | null) ?? null,
    wordIndex: new Map(Object.entries(JSON.parse(c.word_index as string) as Record<string, number>)),
  };
}

/**
 * Keras's text_to_word_sequence: `str.translate` maps every filter character to `split` at once (an inserted
 * `split` is not filtered again), then split on it, empty strings dropped.
 */
export function kerasWords(text: string, filters: string, lower: boolean, split: string): string[] {
  const s = lower ? text.toLowerCase() : text;
  const filtered = new Set(filters);
  const translated = Array.from(s, (ch) => (filtered.has(ch) ? split : ch)).join('');
  return translated.split(split).filter((w) => w.length > 0);
}

/** Keras's texts_to_sequences for one text, and the counts rnn reports beside a prediction. */
export function kerasSequence(t: KerasTokenizerJson, text: string): { ids: number[]; words: number; unknown: number } {
  const words = kerasWords(text, t.filters, t.lower, t.split);
  const oov = t.oovToken === null ? undefined : t.wordIndex.get(t.oovToken);
  const ids: number[] = [];
  let unknown = 0;
  for (const w of words) {
    const i = t.wordIndex.get(w);
    if (i !== undefined && (t.numWords === null || i < t.numWords)) ids.push(i);
    else {
      unknown++;
      if (oov !== undefined) ids.push(oov);
    }
  }
  return { ids, words: words.length, unknown };
}

/** Keras's pad_sequences for one sequence (value 0). */
export function kerasPad(ids: readonly number[], maxlen: number, padding: 'pre' | 'post', truncating: 'pre' | 'post'): number[] {
  const kept = ids.length <= maxlen ? [...ids] : truncating === 'pre' ? ids.slice(ids.length - maxlen) : ids.slice(0, maxlen);
  const pad = Array<number>(maxlen - kept.length).fill(0);
  return padding === 'pre' ? [...pad, ...kept] : [...kept, ...pad];
}

/**
 * Stock tfjs-layers' probabilities for texts on a saved model directory: `tf.loadLayersModel` on its model.json
 * (the stock recurrent layers, not rnn's fused ones), ids from {@link kerasSequence} and {@link kerasPad} with
 * the preprocessing metadata.json records.
 */
export async function stockPredictions(
  tf: TF,
  dir: string,
  texts: readonly string[],
): Promise<{ probability: number; probabilities: number[]; words: number; unknownWords: number; truncatedIds: number }[]> {
  const meta = JSON.parse(readFileSync(path.join(dir, 'metadata.json'), 'utf8')) as {
    preprocessing: { maxlen: number; padding: 'pre' | 'post'; truncating: 'pre' | 'post' };
  };
  const { maxlen, padding, truncating } = meta.preprocessing;
  const tok = readKerasTokenizer(path.join(dir, 'tokenizer.json'));
  // IMDB's HTML line breaks are spaces before tokenizing, in training and prediction alike.
  const seqs = texts.map((t) => kerasSequence(tok, t.replace(/<br\s*\/?>/gi, ' ')));
  const model = await tf.loadLayersModel(`file://${path.join(dir, 'model.json')}`);
  try {
    const x = tf.tensor2d(
      seqs.map((s) => kerasPad(s.ids, maxlen, padding, truncating)),
      [seqs.length, maxlen],
      'int32',
    );
    const y = model.predict(x) as import('@tensorflow/tfjs').Tensor;
    const p = y.dataSync();
    const k = y.shape[1] ?? 1;
    x.dispose();
    y.dispose();
    // Dense(1, sigmoid): the probability of the second label; Dense(k, softmax): every class's, and the largest.
    return seqs.map((s, i) => ({
      probabilities: Array.from(p.subarray(i * k, (i + 1) * k)),
      probability: k === 1 ? p[i]! : Math.max(...p.subarray(i * k, (i + 1) * k)),
      words: s.words,
      unknownWords: s.unknown,
      truncatedIds: Math.max(0, s.ids.length - maxlen),
    }));
  } finally {
    model.dispose();
  }
}
