/** Dataset statistics for `rnn data`: counts per split and label, review lengths, share truncated. Pure. */
import { Tokenizer } from '../text/tokenizer.js';
import { imbalanceRatio, isBinaryLabels, labelCounts, type LabelSet } from './labels.js';
import type { LoadedData, Review, Split } from './types.js';

/** Reviews of one label in a split. */
export interface LabelCount {
  label: string;
  reviews: number;
}

export interface SplitStats {
  reviews: number;
  /** Binary sentiment ({@link BINARY_LABELS}): positive reviews. */
  positive?: number;
  /** Binary sentiment: negative reviews. */
  negative?: number;
  /** Any other label set: reviews per label, in label order (a label without reviews counts 0). */
  byLabel?: LabelCount[];
  /** With `byLabel`: the largest label's reviews over the smallest's (null when a label has none). */
  imbalance?: number | null;
  /** Words per review (Keras tokenization): percentiles. */
  words: { min: number; p50: number; p90: number; p95: number; max: number; mean: number };
  /** Share of reviews with more than `maxlen` ids (vocabulary of `numWords`, fitted on train): these get truncated. */
  truncatedShare: number;
}

export interface DataStats {
  maxlen: number;
  numWords: number;
  /** Distinct words in the training split. */
  vocabulary: number;
  /** The label set, unless it is binary sentiment (whose splits count positive and negative reviews, as always). */
  labels?: LabelSet;
  splits: Partial<Record<Split, SplitStats>>;
}

function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))]!;
}

/** Counts by label: positive and negative for binary sentiment, else `byLabel` (in label order) and the imbalance. */
function labelStats(reviews: readonly Review[], labels: LabelSet): Pick<SplitStats, 'positive' | 'negative' | 'byLabel' | 'imbalance'> {
  if (isBinaryLabels(labels)) {
    const positive = reviews.filter((r) => r.label === 1).length;
    return { positive, negative: reviews.length - positive };
  }
  const counts = labelCounts(reviews, labels.names.length);
  const ratio = imbalanceRatio(counts);
  return {
    byLabel: counts.map((n, c) => ({ label: labels.names[c]!, reviews: n })),
    imbalance: Number.isFinite(ratio) ? ratio : null,
  };
}

export function datasetStats(data: LoadedData, maxlen: number, numWords: number): DataStats {
  const tok = new Tokenizer({ numWords }).fitOnTexts((data.train.length ? data.train : data.test).map((r) => r.text));
  const stats: DataStats = {
    maxlen,
    numWords,
    vocabulary: tok.wordIndex.size,
    ...(isBinaryLabels(data.labels) ? {} : { labels: { names: [...data.labels.names], numeric: data.labels.numeric } }),
    splits: {},
  };
  for (const split of ['train', 'test'] as const) {
    const reviews: Review[] = data[split];
    if (reviews.length === 0) continue;
    // One review at a time: only the lengths are kept (a 1 GB CSV would not fit as id lists).
    const lengths = new Int32Array(reviews.length);
    let truncated = 0;
    reviews.forEach((r, i) => {
      const s = tok.textToSequenceWithStats(r.text);
      lengths[i] = s.words;
      if (s.ids.length > maxlen) truncated++;
    });
    lengths.sort();
    stats.splits[split] = {
      reviews: reviews.length,
      ...labelStats(reviews, data.labels),
      words: {
        min: lengths[0]!,
        p50: percentile(lengths, 0.5),
        p90: percentile(lengths, 0.9),
        p95: percentile(lengths, 0.95),
        max: lengths[lengths.length - 1]!,
        mean: lengths.reduce((a, b) => a + b, 0) / lengths.length,
      },
      truncatedShare: truncated / reviews.length,
    };
  }
  return stats;
}
