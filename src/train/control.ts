/**
 * Training control without tfjs: which epoch is best (the weights `rnn train` keeps), when to stop early,
 * and the learning rate of each epoch. Pure, so the rules are tested on plain numbers.
 */

/** The epoch metric that decides which weights are best. */
export const MONITORS = ['val_acc', 'val_loss', 'acc', 'loss'] as const;
export type Monitor = (typeof MONITORS)[number];

/** Learning-rate schedules (per epoch, but `slanted`: per step). */
export type LrSchedule =
  | { kind: 'constant' }
  /** Keras ReduceLROnPlateau: multiply by `factor` after `patience` epochs without improvement, not below `minLr`. */
  | { kind: 'plateau'; factor: number; patience: number; minLr: number }
  /** lr · gamma^(epoch-1). */
  | { kind: 'exponential'; gamma: number }
  /** Cosine decay from lr (first epoch) towards `minLr` (reached after the last epoch). */
  | { kind: 'cosine'; minLr: number }
  /**
   * Slanted triangular (Howard & Ruder 2018, ULMFiT), per step: a linear rise from lr/`ratio` to lr over the first
   * `cutFrac` of the run's steps, then a linear fall back to lr/`ratio` at its last step.
   */
  | { kind: 'slanted'; cutFrac: number; ratio: number };

export const LR_SCHEDULE_DEFAULTS = {
  plateau: { factor: 0.5, patience: 1, minLr: 1e-6 },
  exponential: { gamma: 0.5 },
  cosine: { minLr: 0 },
  // ULMFiT's: cut_frac 0.1, ratio 32
  slanted: { cutFrac: 0.1, ratio: 32 },
} as const;

/** `constant`, `plateau[:FACTOR[:PATIENCE]]`, `exponential[:GAMMA]`, `cosine` or `slanted[:CUT_FRAC[:RATIO]]`, as written on the command line. */
export function describeSchedule(s: LrSchedule): string {
  switch (s.kind) {
    case 'constant':
      return 'constant';
    case 'plateau':
      return `plateau:${s.factor}:${s.patience}`;
    case 'exponential':
      return `exponential:${s.gamma}`;
    case 'cosine':
      return 'cosine';
    case 'slanted':
      return `slanted:${s.cutFrac}:${s.ratio}`;
  }
}

/** The optimizer and regularization of a run, as `rnn info` and `rnn compare` print them: `adam lr 0.001 (cosine), clip norm 1, word dropout 0.4, weight average (ema 0.995)`. */
export function describeRecipe(o: {
  lr: number;
  lrSchedule?: LrSchedule;
  clipNorm?: number | null;
  wordDropout?: number;
  ema?: number | null;
}): string {
  return (
    `adam lr ${o.lr} (${describeSchedule(o.lrSchedule ?? { kind: 'constant' })})` +
    (typeof o.clipNorm === 'number' ? `, clip norm ${o.clipNorm}` : '') +
    (o.wordDropout ? `, word dropout ${o.wordDropout}` : '') +
    (o.ema ? `, weight average (ema ${o.ema})` : '')
  );
}

/** Whether larger is better for a monitored metric. */
export function higherIsBetter(m: Monitor): boolean {
  return m === 'val_acc' || m === 'acc';
}

/**
 * Tracks the best value of the monitored metric: `update` returns true when the epoch improves on the
 * best so far (the first epoch always does), and counts the epochs since the last improvement.
 */
export class BestTracker {
  best: number | undefined;
  bestEpoch = 0;
  /** Epochs since the last improvement. */
  wait = 0;

  constructor(readonly monitor: Monitor) {}

  /** What a checkpoint needs to continue the tracking. */
  snapshot(): { best: number | null; bestEpoch: number; wait: number } {
    return { best: this.best ?? null, bestEpoch: this.bestEpoch, wait: this.wait };
  }

  restore(s: { best: number | null; bestEpoch: number; wait: number }): void {
    this.best = s.best ?? undefined;
    this.bestEpoch = s.bestEpoch;
    this.wait = s.wait;
  }

  update(epoch: number, value: number): boolean {
    const better = this.best === undefined || (higherIsBetter(this.monitor) ? value > this.best : value < this.best);
    if (better && Number.isFinite(value)) {
      this.best = value;
      this.bestEpoch = epoch;
      this.wait = 0;
      return true;
    }
    this.wait++;
    return false;
  }
}

/** Learning rate for each step: `lrAt(epoch, step, steps)` before the step, `afterEpoch(improved)` after each epoch. */
export class LrScheduler {
  private current: number;
  private wait = 0;

  constructor(
    private readonly schedule: LrSchedule,
    private readonly base: number,
    private readonly epochs: number,
  ) {
    this.current = base;
  }

  /** What a checkpoint needs to continue the schedule. */
  snapshot(): { current: number; wait: number } {
    return { current: this.current, wait: this.wait };
  }

  restore(s: { current: number; wait: number }): void {
    this.current = s.current;
    this.wait = s.wait;
  }

  /**
   * The rate of step `step` (0-based) of the `steps` an epoch has, in epoch `epoch` (1-based): the epoch's rate,
   * or for `slanted` the step's place in the whole run.
   */
  lrAt(epoch: number, step: number, steps: number): number {
    const s = this.schedule;
    switch (s.kind) {
      case 'constant':
      case 'plateau':
        return this.current;
      case 'exponential':
        return this.base * s.gamma ** (epoch - 1);
      case 'cosine':
        return s.minLr + ((this.base - s.minLr) * (1 + Math.cos((Math.PI * (epoch - 1)) / this.epochs))) / 2;
      case 'slanted': {
        const total = this.epochs * steps;
        const t = (epoch - 1) * steps + step;
        const cut = Math.max(1, Math.floor(total * s.cutFrac));
        const p = t < cut ? t / cut : 1 - (t - cut) / Math.max(1, total - 1 - cut);
        return (this.base * (1 + p * (s.ratio - 1))) / s.ratio;
      }
    }
  }

  /** Reports whether the finished epoch improved the monitored metric (only `plateau` uses it). */
  afterEpoch(improved: boolean): void {
    const s = this.schedule;
    if (s.kind !== 'plateau') return;
    if (improved) {
      this.wait = 0;
      return;
    }
    this.wait++;
    if (this.wait >= s.patience) {
      this.current = Math.max(s.minLr, this.current * s.factor);
      this.wait = 0;
    }
  }
}
