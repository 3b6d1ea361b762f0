/**
 * Metrics of a k-class classifier on plain arrays (no tfjs): what `rnn eval` reports for three or more
 * labels. The true labels are class indices (0..k−1) into the label set; the predictions are an n×k matrix
 * of probabilities, row-major (row i: review i's probability of each class, in label order), and the
 * predicted class is each row's largest (the first one on a tie, like NumPy's argmax). Conventions follow
 * scikit-learn's, against which test/fixtures/metrics_golden.py checks them:
 *
 * - precision, recall and F1 of a class are 0 when undefined (no review predicted as it, none of it, or
 *   both): scikit-learn's `zero_division=0`. F1 is 2·tp / (2·tp + fp + fn).
 * - macro-F1 is the unweighted mean over every label of the set (`labels=range(k)`), a label without
 *   reviews or predictions included (with F1 0); weighted-F1 weighs each label's F1 by its support.
 * - log loss is the mean of −ln p(true class), with p clipped to [ε, 1 − ε], ε = {@link LOG_LOSS_EPSILON}
 *   (scikit-learn's `log_loss` on float64 input; rows are not renormalized).
 * - numeric labels (stars, ratings) also give the mean absolute error of the predicted label's value (in
 *   label units: predicting 7 for a 9 is off by 2) and the share within one step, where one step is one
 *   position in label order (adjacent labels: IMDB's ratings 4 and 7 are one step apart).
 *
 * The binary metrics (src/eval/metrics.ts: one probability per review, threshold 0.5, ROC-AUC) are separate.
 */
import type { Metrics } from './metrics.js';

/** ε of the log loss's clipping: float64's machine epsilon, 2⁻⁵² (what scikit-learn's `log_loss` uses for float64 probabilities). */
export const LOG_LOSS_EPSILON = Number.EPSILON;

/** The labels the metrics are about (structurally src/data's LabelSet). */
export interface MetricLabels {
  names: readonly string[];
  numeric: boolean;
}

/** One label's figures. */
export interface ClassStats {
  label: string;
  /** Of the reviews predicted as this label, the share that are (0 when none was predicted). */
  precision: number;
  /** Of the reviews of this label, the share predicted as it (0 when there are none). */
  recall: number;
  /** 2·tp / (2·tp + fp + fn), 0 when that is 0/0. */
  f1: number;
  /** Reviews of this label. */
  support: number;
}

/** k-class metrics of n reviews. */
export interface ClassMetrics {
  count: number;
  accuracy: number;
  /** Unweighted mean of the per-label F1 over every label of the set. */
  macroF1: number;
  /** Per-label F1 weighted by support. */
  weightedF1: number;
  /** Mean −ln p(true label), probabilities clipped to [ε, 1 − ε] ({@link LOG_LOSS_EPSILON}). */
  logLoss: number;
  /** Per label, in label order. */
  perClass: ClassStats[];
  /** k×k counts: `confusion[t][p]` reviews of true label t predicted as p (rows true, columns predicted). */
  confusion: number[][];
  /** Numeric labels: mean |value(predicted) − value(true)|, in label units. */
  meanAbsoluteError?: number;
  /** Numeric labels: share of reviews whose predicted label is the true one or adjacent to it in label order. */
  withinOneStep?: number;
}

/** Each row's predicted class: the index of its largest probability (the first on a tie). */
export function predictedClasses(probs: ArrayLike<number>, k: number): Int32Array {
  const n = probs.length / k;
  if (!Number.isInteger(n)) throw new Error(`${probs.length} probabilities are not rows of ${k}`);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (probs[i * k + c]! > probs[i * k + best]!) best = c;
    out[i] = best;
  }
  return out;
}

/** The k×k confusion matrix of true and predicted class indices (rows true, columns predicted). */
export function confusionMatrix(truth: ArrayLike<number>, predicted: ArrayLike<number>, k: number): number[][] {
  const m = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < truth.length; i++) m[truth[i]!]![predicted[i]!]!++;
  return m;
}

/** scikit-learn's `zero_division=0`: a ratio whose denominator is 0 is 0. */
function ratio(a: number, b: number): number {
  return b > 0 ? a / b : 0;
}

/**
 * Accuracy, macro- and weighted-F1, per-label precision/recall/F1/support, the confusion matrix, log loss,
 * and for numeric labels the mean absolute error and the share within one step, of `probs` (n×k, row-major)
 * against `labels` (n class indices).
 */
export function computeClassMetrics(probs: ArrayLike<number>, labels: ArrayLike<number>, set: MetricLabels): ClassMetrics {
  const k = set.names.length;
  const n = labels.length;
  if (probs.length !== n * k) throw new Error(`expected ${n}×${k} probabilities, got ${probs.length}`);
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= k) throw new Error(`label ${y} of review ${i} is not a class index below ${k}`);
  }
  const predicted = predictedClasses(probs, k);
  const confusion = confusionMatrix(labels, predicted, k);
  let correct = 0;
  let logLoss = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    if (predicted[i] === y) correct++;
    const p = Math.min(1 - LOG_LOSS_EPSILON, Math.max(LOG_LOSS_EPSILON, probs[i * k + y]!));
    logLoss -= Math.log(p);
  }
  const perClass: ClassStats[] = set.names.map((label, c) => {
    const tp = confusion[c]![c]!;
    const support = confusion[c]!.reduce((a, b) => a + b, 0);
    const predictedAs = confusion.reduce((a, row) => a + row[c]!, 0);
    return {
      label,
      precision: ratio(tp, predictedAs),
      recall: ratio(tp, support),
      f1: ratio(2 * tp, support + predictedAs),
      support,
    };
  });
  const out: ClassMetrics = {
    count: n,
    accuracy: ratio(correct, n),
    macroF1: ratio(
      perClass.reduce((a, s) => a + s.f1, 0),
      k,
    ),
    weightedF1: ratio(
      perClass.reduce((a, s) => a + s.f1 * s.support, 0),
      n,
    ),
    logLoss: ratio(logLoss, n),
    perClass,
    confusion,
  };
  if (set.numeric) {
    const value = set.names.map(Number);
    let absolute = 0;
    let near = 0;
    for (let i = 0; i < n; i++) {
      const y = labels[i]!;
      const p = predicted[i]!;
      absolute += Math.abs(value[p]! - value[y]!);
      if (Math.abs(p - y) <= 1) near++;
    }
    out.meanAbsoluteError = ratio(absolute, n);
    out.withinOneStep = ratio(near, n);
  }
  return out;
}

/** A binary model's metrics (loss, accuracy, precision, recall, F1, ROC-AUC, confusion) or a k-class model's. */
export type ModelMetrics = Metrics | ClassMetrics;

/** Whether these are a k-class model's metrics. */
export function isClassMetrics(m: ModelMetrics): m is ClassMetrics {
  return 'macroF1' in m;
}
