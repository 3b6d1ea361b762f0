/** Commander option parsers: flags are validated here, with messages that say what is allowed. */
import { InvalidArgumentError } from 'commander';
import { CELLS, RECURRENT_IMPLS, type CellType, type RecurrentImpl } from '../models/index.js';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('Expected a whole number of at least 1.');
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('Expected a whole number of at least 0.');
  return n;
}

export function positiveFloat(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('Expected a number greater than 0.');
  return n;
}

export function fraction(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError('Expected a number from 0 up to (not including) 1.');
  return n;
}

export function cell(value: string): CellType {
  const v = value.toLowerCase();
  if (!(CELLS as readonly string[]).includes(v)) throw new InvalidArgumentError(`Allowed cells are ${CELLS.join(', ')}.`);
  return v as CellType;
}

export function recurrentImpl(value: string): RecurrentImpl {
  if (!(RECURRENT_IMPLS as readonly string[]).includes(value)) throw new InvalidArgumentError(`Allowed values are ${RECURRENT_IMPLS.join(', ')}.`);
  return value as RecurrentImpl;
}
