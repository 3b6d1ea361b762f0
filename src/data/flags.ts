import type { ImdbTarget } from './labels.js';

/**
 * The data flags of a command (`--data`, `--text-column`, …) as given: what `rnn train` records in a run and a
 * checkpoint so that `--resume` and `rnn eval` read the same reviews. No `data`: the default dataset.
 */
export interface DataFlags {
  data?: string;
  textColumn?: string;
  labelColumn?: string;
  /** train, compare: the share of a CSV's rows held out for testing (undefined: the default). */
  testSplit?: number;
  /** train, compare: a CSV column marking rows train or test; eval: the one the model's split used. */
  splitColumn?: string;
  /** aclImdb: label by polarity (undefined: the default) or rating. */
  target?: ImdbTarget;
  /** `--labels a,b,c`: the label names in class-index order (and the only labels allowed). */
  labels?: string[];
}
