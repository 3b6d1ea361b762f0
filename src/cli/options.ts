/** Commander option parsers: flags are validated here, with messages that say what is allowed. */
import { InvalidArgumentError } from 'commander';
import { RECURRENT_IMPLS, type RecurrentImpl } from '../models/index.js';
import { CELLS, isCell, type CellType } from '../cells.js';
import { LR_SCHEDULE_DEFAULTS, MONITORS, type LrSchedule, type Monitor } from '../train/control.js';
import { PRESET_NAMES, type PresetName } from '../train/options.js';
import { labelNamesProblem } from '../data/labels.js';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1)
    throw new InvalidArgumentError('Expected a whole number of at least 1.');
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('Expected a whole number of at least 0.');
  return n;
}

/** Longest delay a Node timer takes (2³¹ − 1 ms, about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Milliseconds for a timer: 0 up to {@link MAX_TIMER_MS}. */
export function milliseconds(value: string): number {
  const n = nonNegativeInt(value);
  if (n > MAX_TIMER_MS) throw new InvalidArgumentError(`Expected at most ${MAX_TIMER_MS} milliseconds.`);
  return n;
}

/** Milliseconds for a timer: 1 up to {@link MAX_TIMER_MS}. */
export function positiveMilliseconds(value: string): number {
  const n = positiveInt(value);
  if (n > MAX_TIMER_MS) throw new InvalidArgumentError(`Expected at most ${MAX_TIMER_MS} milliseconds.`);
  return n;
}

/** `value` as a finite number that `ok` accepts, else commander's error saying it expected `expected`. */
function numberWhere(value: string, ok: (n: number) => boolean, expected: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || !ok(n)) throw new InvalidArgumentError(`Expected ${expected}.`);
  return n;
}

export function positiveFloat(value: string): number {
  return numberWhere(value, (n) => n > 0, 'a number greater than 0');
}

export function fraction(value: string): number {
  return numberWhere(value, (n) => n >= 0 && n < 1, 'a number from 0 up to (not including) 1');
}

/** A share of something, above 0 and up to 1 (all of it). */
export function share(value: string): number {
  return numberWhere(value, (n) => n > 0 && n <= 1, 'a number above 0, up to 1');
}

export function momentum(value: string): number {
  return numberWhere(value, (n) => n > 0 && n < 1, 'a number between 0 and 1 (e.g. 0.995)');
}

export function cell(value: string): CellType {
  const v = value.toLowerCase();
  if (!isCell(v)) throw new InvalidArgumentError(`Allowed cells are ${CELLS.join(', ')}.`);
  return v;
}

export function recurrentImpl(value: string): RecurrentImpl {
  if (!(RECURRENT_IMPLS as readonly string[]).includes(value))
    throw new InvalidArgumentError(`Allowed values are ${RECURRENT_IMPLS.join(', ')}.`);
  return value as RecurrentImpl;
}

export function monitor(value: string): Monitor {
  if (!(MONITORS as readonly string[]).includes(value)) throw new InvalidArgumentError(`Allowed metrics are ${MONITORS.join(', ')}.`);
  return value as Monitor;
}

const SCHEDULE_USAGE =
  'Expected constant, plateau[:FACTOR[:PATIENCE]], exponential[:GAMMA], cosine or slanted[:CUT_FRAC[:RATIO]] (e.g. plateau:0.5:1).';

/** `--lr-schedule`: constant | plateau[:FACTOR[:PATIENCE]] | exponential[:GAMMA] | cosine | slanted[:CUT_FRAC[:RATIO]]. */
export function lrSchedule(value: string): LrSchedule {
  const [kind, ...args] = value.trim().toLowerCase().split(':');
  const num = (s: string | undefined, ok: (n: number) => boolean): number | undefined => {
    if (s === undefined) return undefined;
    const n = Number(s);
    if (s.trim() === '' || !Number.isFinite(n) || !ok(n)) throw new InvalidArgumentError(SCHEDULE_USAGE);
    return n;
  };
  const factorOk = (n: number): boolean => n > 0 && n < 1;
  switch (kind) {
    case 'constant':
    case 'cosine':
      if (args.length > 0) break;
      return kind === 'constant' ? { kind } : { kind, ...LR_SCHEDULE_DEFAULTS.cosine };
    case 'plateau': {
      if (args.length > 2) break;
      const d = LR_SCHEDULE_DEFAULTS.plateau;
      return {
        kind,
        factor: num(args[0], factorOk) ?? d.factor,
        patience: num(args[1], (n) => Number.isInteger(n) && n >= 1) ?? d.patience,
        minLr: d.minLr,
      };
    }
    case 'exponential':
      if (args.length > 1) break;
      return { kind, gamma: num(args[0], factorOk) ?? LR_SCHEDULE_DEFAULTS.exponential.gamma };
    case 'slanted': {
      if (args.length > 2) break;
      const d = LR_SCHEDULE_DEFAULTS.slanted;
      return { kind, cutFrac: num(args[0], factorOk) ?? d.cutFrac, ratio: num(args[1], (n) => n >= 1) ?? d.ratio };
    }
  }
  throw new InvalidArgumentError(SCHEDULE_USAGE);
}

/**
 * A comma-separated list of names out of `allowed` (`noun`: what one is called in messages), distinct, in the
 * order given; `normalize` applies to each name first.
 */
function distinctList<T extends string>(value: string, allowed: readonly T[], noun: string, normalize = (s: string) => s): T[] {
  const parts = value
    .split(',')
    .map((s) => normalize(s.trim()))
    .filter((s) => s !== '');
  if (parts.length === 0) throw new InvalidArgumentError(`Expected a comma-separated list of ${allowed.join(', ')}.`);
  const out: T[] = [];
  for (const p of parts) {
    if (!(allowed as readonly string[]).includes(p))
      throw new InvalidArgumentError(`Unknown ${noun} "${p}"; allowed ${noun}s are ${allowed.join(', ')}.`);
    if (!out.includes(p as T)) out.push(p as T);
  }
  return out;
}

/** `--cells simplernn,lstm,gru` (compare, bench): distinct cells in the order given (case-insensitive). */
export function cellList(value: string): CellType[] {
  return distinctList(value, CELLS, 'cell', (s) => s.toLowerCase());
}

/** `--presets lesson,best` (compare): distinct presets in the order given. */
export function presetList(value: string): PresetName[] {
  return distinctList(value, PRESET_NAMES, 'preset');
}

/** `--labels negative,neutral,positive`: two or more distinct label names, in class-index order (src/data/labels.ts). */
export function labelList(value: string): string[] {
  const names = value.split(',').map((s) => s.trim());
  const problem = labelNamesProblem(names);
  if (problem)
    throw new InvalidArgumentError(`Expected comma-separated label names, each once (e.g. negative,neutral,positive): ${problem}.`);
  return names;
}

/** A Keras 3 archive's path: Keras opens only files named `*.keras`. */
export function kerasFile(value: string): string {
  if (!/\.keras$/i.test(value.trim())) throw new InvalidArgumentError('Expected a file name ending in .keras (Keras 3 opens only those).');
  return value.trim();
}

/** `--classes K`: 2 (a binary head) or more. */
export function classCount(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 2) throw new InvalidArgumentError('Expected a whole number of at least 2.');
  return n;
}
