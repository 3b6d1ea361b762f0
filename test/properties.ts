/**
 * What the property-based tests (fast-check) share: their fixed seed and run counts, and generators of
 * review-like text. PROPERTY_SEED is fixed so CI runs the same cases every time; RNN_PROPERTY_SEED explores
 * others (a failure prints the seed and path that reproduce it).
 */
import fc from 'fast-check';

/** The seed of every property test: RNN_PROPERTY_SEED, else a fixed one. */
export const PROPERTY_SEED = Number(process.env.RNN_PROPERTY_SEED ?? 31_2026);

/** fast-check's options: the fixed seed and a modest number of runs (the unit lane stays fast). */
export function propertyOptions(o: { numRuns?: number } = {}): { seed: number; numRuns: number } {
  return { seed: PROPERTY_SEED, numRuns: o.numRuns ?? 150 };
}

/** Words that recur, so fitted vocabularies are hit, in several scripts and cases. */
const WORDS = [
  'the',
  'film',
  'Film',
  'FILM',
  'good',
  'bad',
  "isn't",
  'naïve',
  'ÉCOLE',
  'İstanbul',
  'straße',
  'ΣΟΦΙΑ',
  '映画',
  '🎬',
  '10/10',
  '1990',
  '__proto__',
  'constructor',
];
const PUNCTUATION = [
  '!',
  '!!!',
  '...',
  '?!',
  ' - ',
  '--',
  '(',
  ')',
  '"',
  "'",
  ',',
  ';',
  ':',
  '<br />',
  '<br/>',
  '\t',
  '\n',
  '\r\n',
  '  ',
  '\u00a0',
  '\u3000',
];

/**
 * Review-like text: words from a small vocabulary, punctuation runs, HTML breaks, whitespace of several kinds,
 * and arbitrary Unicode (graphemes of any script, and arbitrary code points including lone surrogates), from
 * empty to a few hundred characters.
 */
export function reviewText(): fc.Arbitrary<string> {
  const piece = fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...WORDS) },
    { weight: 3, arbitrary: fc.constantFrom(...PUNCTUATION) },
    { weight: 3, arbitrary: fc.constant(' ') },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) },
  );
  return fc.array(piece, { maxLength: 40 }).map((parts) => parts.join(''));
}
