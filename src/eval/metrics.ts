/** Classification metrics on plain arrays (no tfjs): the numbers `rnn eval` reports. */

/** Binary classification metrics at threshold 0.5 (positive = label 1). */
export interface Metrics {
  /** Keras binary cross-entropy (probabilities clipped to [1e-7, 1 - 1e-7]). */
  loss: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  /** Area under the ROC curve (ties counted half, like scikit-learn's roc_auc_score). */
  rocAuc: number;
  /** Counts: true/false positives/negatives. */
  confusion: { tp: number; fp: number; tn: number; fn: number };
  count: number;
}

export function computeMetrics(probs: Float32Array | number[], labels: ArrayLike<number>): Metrics {
  const p = probs instanceof Float32Array ? probs : Float32Array.from(probs);
  const c = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < p.length; i++) {
    const pred = p[i]! > 0.5 ? 1 : 0;
    const y = labels[i];
    if (pred === 1 && y === 1) c.tp++;
    else if (pred === 1) c.fp++;
    else if (y === 0) c.tn++;
    else c.fn++;
  }
  const { loss, acc } = lossAndAccuracy(p, labels);
  const precision = c.tp + c.fp > 0 ? c.tp / (c.tp + c.fp) : 0;
  const recall = c.tp + c.fn > 0 ? c.tp / (c.tp + c.fn) : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { loss, accuracy: acc, precision, recall, f1, rocAuc: rocAuc(p, labels), confusion: c, count: p.length };
}

/** ROC-AUC by ranks (Mann–Whitney U) with average ranks for ties; NaN when only one class is present. */
export function rocAuc(probs: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = probs.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => probs[a]! - probs[b]!);
  let pos = 0;
  let rankSumPos = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && probs[idx[j + 1]!] === probs[idx[i]!]) j++;
    const avgRank = (i + j + 2) / 2; // ranks are 1-based
    for (let k = i; k <= j; k++) {
      if (labels[idx[k]!] === 1) {
        pos++;
        rankSumPos += avgRank;
      }
    }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return Number.NaN;
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Keras's binary cross-entropy (probabilities clipped to [1e-7, 1 - 1e-7]) and accuracy at 0.5. */
export function lossAndAccuracy(probs: Float32Array, labels: ArrayLike<number>): { loss: number; acc: number } {
  const eps = 1e-7;
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < probs.length; i++) {
    const p = Math.min(1 - eps, Math.max(eps, probs[i]!));
    const y = labels[i]!;
    loss += -(y * Math.log(p) + (1 - y) * Math.log(1 - p));
    if ((probs[i]! > 0.5 ? 1 : 0) === y) correct++;
  }
  return { loss: loss / probs.length, acc: correct / probs.length };
}

/** Accuracy of the reviews whose length (in words) falls in [min, max]. */
export interface LengthBucket {
  /** Inclusive bounds in words; `max` null means no upper bound. */
  min: number;
  max: number | null;
  count: number;
  /** NaN when the bucket is empty. */
  accuracy: number;
}

/** Length buckets around maxlen: up to maxlen/2, up to maxlen, up to 2·maxlen, longer (truncated ones start above maxlen). */
export function lengthBounds(maxlen: number): [number, number | null][] {
  const half = Math.floor(maxlen / 2);
  return [
    [0, half],
    [half + 1, maxlen],
    [maxlen + 1, 2 * maxlen],
    [2 * maxlen + 1, null],
  ];
}

export function accuracyByLength(
  probs: ArrayLike<number>,
  labels: ArrayLike<number>,
  words: ArrayLike<number>,
  bounds: [number, number | null][],
): LengthBucket[] {
  // One probability per review (binary: class 1 above 0.5), or k per review (the most probable class).
  const k = probs.length / labels.length;
  const predicted = (i: number): number => {
    if (k === 1) return probs[i]! > 0.5 ? 1 : 0;
    let best = 0;
    for (let c = 1; c < k; c++) if (probs[i * k + c]! > probs[i * k + best]!) best = c;
    return best;
  };
  return bounds.map(([min, max]) => {
    let count = 0;
    let correct = 0;
    for (let i = 0; i < labels.length; i++) {
      const w = words[i]!;
      if (w < min || (max !== null && w > max)) continue;
      count++;
      if (predicted(i) === labels[i]) correct++;
    }
    return { min, max, count, accuracy: count > 0 ? correct / count : Number.NaN };
  });
}
