/**
 * Self-training (`rnn train --unlabeled`): a first model (the teacher), trained as the options say, labels
 * unlabeled texts; each class keeps the teacher's most confident share of the texts it predicts as that class
 * (its pseudo-labels), and a second model (the student), from the same start, trains on the labeled reviews
 * and those. Yarowsky 1995; Lee 2013 (pseudo-labels); Xie et al. 2020 (a student with noise: here word
 * dropout). What is kept and how it scored is chosen by validation: docs/experiments.md. Pure.
 */
import { textFingerprint } from '../data/texts.js';
import { BINARY_CLASSES } from '../models/index.js';
import { probabilitiesPerRow } from '../predict/index.js';

/** The pseudo-labels kept: texts of the pool (by index) and the class each is labeled with. */
export interface PseudoLabels {
  /** Indices into the pool, class by class, the most confident first. */
  index: number[];
  /** The class of each, as `index`. */
  label: number[];
  /** How many the teacher predicted as each class, and how many of each were kept. */
  predicted: number[];
  kept: number[];
}

/**
 * For each class, the most confident `share` (rounded down) of the texts the teacher predicts as that class.
 * `probs` is the predictor's layout: one probability of class 1 a row for two classes, one per class for k ≥ 3.
 * The confidence is the predicted class's probability; ties keep the pool's order.
 */
export function pickPseudoLabels(probs: Float32Array, classes: number, share: number): PseudoLabels {
  if (!(share > 0 && share <= 1)) throw new Error(`a share of pseudo-labels must be in (0, 1], got ${share}`);
  const per = probabilitiesPerRow(classes);
  const n = probs.length / per;
  const byClass: { i: number; p: number }[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < n; i++) {
    let c = 0;
    let p: number;
    if (classes === BINARY_CLASSES) {
      const q = probs[i]!;
      c = q >= 0.5 ? 1 : 0;
      p = c === 1 ? q : 1 - q;
    } else {
      p = probs[i * per]!;
      for (let j = 1; j < per; j++) {
        if (probs[i * per + j]! > p) {
          p = probs[i * per + j]!;
          c = j;
        }
      }
    }
    byClass[c]!.push({ i, p });
  }
  const out: PseudoLabels = { index: [], label: [], predicted: [], kept: [] };
  byClass.forEach((rows, c) => {
    rows.sort((a, b) => b.p - a.p || a.i - b.i);
    const keep = Math.floor(rows.length * share);
    for (const r of rows.slice(0, keep)) {
      out.index.push(r.i);
      out.label.push(c);
    }
    out.predicted.push(rows.length);
    out.kept.push(keep);
  });
  return out;
}

/**
 * The unlabeled texts that are not among `labeled` (the run's training and validation reviews, by their
 * fingerprints: a review's text never gets a pseudo-label beside its label, and validation stays unseen), in
 * their order, with their indices in `texts`.
 */
export function unlabeledPool(texts: readonly string[], labeled: readonly string[]): { texts: string[]; from: number[] } {
  const seen = new Set(labeled.map(textFingerprint));
  const out: { texts: string[]; from: number[] } = { texts: [], from: [] };
  texts.forEach((t, i) => {
    if (!seen.has(textFingerprint(t))) {
      out.texts.push(t);
      out.from.push(i);
    }
  });
  return out;
}
