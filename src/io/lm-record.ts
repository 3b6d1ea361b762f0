/**
 * What a classifier's metadata.json records of the language model it started from, and what both record of the
 * texts a language model read (types and file names only: src/io/model-dir.ts and src/io/lm-dir.ts share them).
 */
import type { TextSourceInfo } from '../data/texts.js';

/** What a language model read: the source, how many texts, how they were split, and their fingerprints' hash. */
export type LanguageModelTexts = TextSourceInfo & {
  /** Texts used (training and held out; `--limit` keeps fewer than the source has) and texts the source had. */
  texts: number;
  available: number;
  trainTexts: number;
  heldOutTexts: number;
  trainTokens: number;
  heldOutTokens: number;
  /** SHA-256 of {@link TEXT_FINGERPRINTS}. */
  fingerprintsSha256: string;
};

/** What a classifier's metadata.json records of the language model it started from (`rnn train --init`). */
export interface InitRecord {
  /** The language model directory (absolute) and the SHA-256 of its weights.bin and tokenizer.json. */
  path: string;
  weightsSha256: string;
  tokenizerSha256: string;
  /** The texts it was pretrained on. */
  texts: LanguageModelTexts;
  /** Its held-out perplexity (of the epoch it kept). */
  perplexity?: number;
}

/** The fingerprints of a language model's texts kept beside a classifier trained from it (`lm-texts.fp`), or undefined. */
export const INIT_FINGERPRINTS = 'lm-texts.fp';

/** The fingerprints of the unlabeled texts a self-trained classifier's teacher labeled (`rnn train --unlabeled`), kept beside it. */
export const UNLABELED_FINGERPRINTS = 'unlabeled-texts.fp';
