/**
 * Training checkpoints (written when `rnn train` is interrupted): `checkpoint.json` (options, data, position,
 * random-number state, history) and `state.bin` (model weights, Adam's state, the best epoch's weights, the
 * weight average).
 * Written to a temporary sibling and renamed into place; kept beside the model directory, never inside it,
 * so the model that was there stays intact.
 */
import type { ImdbTarget } from '../data/labels.js';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.js';
import { replaceDir, tempSibling } from '../util/fs.js';
import type { DataSourceInfo } from '../data/index.js';
import type { TrainOptions } from '../train/options.js';
import type { TrainCheckpoint } from '../train/types.js';

export const CHECKPOINT_FORMAT_VERSION = 1;

/** Where `rnn train --out DIR` keeps its checkpoint: `DIR.checkpoint`. */
export function checkpointDirFor(out: string): string {
  return `${path.resolve(out)}.checkpoint`;
}

interface TensorEntry {
  group: 'weights' | 'optimizer' | 'best' | 'average';
  name?: string;
  shape?: number[];
  dtype: 'float32' | 'int32';
  /** Offset and length in elements of 4 bytes in state.bin. */
  offset: number;
  length: number;
}

/** checkpoint.json. */
export interface CheckpointMeta {
  formatVersion: number;
  createdAt: string;
  /** The options of the interrupted run (a resumed run uses exactly these). */
  options: TrainOptions;
  /** The model directory the finished run will write. */
  out: string;
  /** The data flags given (no `data`: the default dataset) and what they gave, so a resume reads the same reviews. */
  data: {
    flags: {
      data?: string;
      textColumn?: string;
      labelColumn?: string;
      testSplit?: number;
      splitColumn?: string;
      target?: ImdbTarget;
      labels?: string[];
    };
    source: DataSourceInfo;
  };
  /** The training position and everything else of {@link TrainCheckpoint} but the arrays. */
  state: Omit<TrainCheckpoint, 'weights' | 'optimizer' | 'bestWeights' | 'average'> & { averageUpdates?: number };
  tensors: TensorEntry[];
}

export async function saveCheckpoint(
  dir: string,
  meta: Omit<CheckpointMeta, 'formatVersion' | 'createdAt' | 'state' | 'tensors'>,
  ckpt: TrainCheckpoint,
): Promise<void> {
  const { weights, optimizer, bestWeights, average, ...rest } = ckpt;
  const state: CheckpointMeta['state'] = average ? { ...rest, averageUpdates: average.updates } : rest;
  const tensors: TensorEntry[] = [];
  const parts: Uint8Array[] = [];
  let offset = 0;
  const add = (group: TensorEntry['group'], data: Float32Array | Int32Array, extra: Partial<TensorEntry> = {}): void => {
    tensors.push({ group, dtype: data instanceof Int32Array ? 'int32' : 'float32', offset, length: data.length, ...extra });
    parts.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    offset += data.length;
  };
  weights.forEach((w) => add('weights', w));
  optimizer.forEach((w) => add('optimizer', w.data, { name: w.name, shape: w.shape, dtype: w.dtype }));
  bestWeights?.forEach((w) => add('best', w));
  average?.weights.forEach((w) => add('average', w));
  const full: CheckpointMeta = { formatVersion: CHECKPOINT_FORMAT_VERSION, createdAt: new Date().toISOString(), ...meta, state, tensors };
  const target = path.resolve(dir);
  await fsp.mkdir(path.dirname(target), { recursive: true });
  const staged = tempSibling(target);
  await fsp.mkdir(staged);
  try {
    await fsp.writeFile(path.join(staged, 'state.bin'), Buffer.concat(parts));
    await fsp.writeFile(path.join(staged, 'checkpoint.json'), JSON.stringify(full) + '\n');
    await replaceDir(staged, target);
  } finally {
    await fsp.rm(staged, { recursive: true, force: true });
  }
}

/**
 * Brings the options of a checkpoint written by an earlier rnn to today's shape, so that it resumes as it
 * was trained: before `--clip-norm` there was no clip (null), before `--word-dropout` no word dropout (0),
 * before `--ema` no weight average (null). Before k classes every run was binary, which is what options
 * without `classes` and `classWeight` mean (2 classes, no class weights), so those need nothing. Today's
 * checkpoints pass through unchanged.
 */
export function migrateCheckpoint(meta: CheckpointMeta): CheckpointMeta {
  const o = meta.options as Partial<TrainOptions> & Pick<TrainOptions, 'cell'>;
  const options: TrainOptions = {
    ...(o as TrainOptions),
    clipNorm: o.clipNorm === undefined ? null : o.clipNorm,
    wordDropout: o.wordDropout ?? 0,
    ema: o.ema === undefined ? null : o.ema,
  };
  return { ...meta, options };
}

export async function loadCheckpoint(dir: string): Promise<{ meta: CheckpointMeta; checkpoint: TrainCheckpoint }> {
  const abs = path.resolve(dir);
  const fix = 'Pass --resume the .checkpoint directory an interrupted `rnn train` named, or start again without --resume';
  let metaText: string;
  try {
    metaText = await fsp.readFile(path.join(abs, 'checkpoint.json'), 'utf8');
  } catch {
    throw new UserError('CHECKPOINT_NOT_FOUND', `${abs} is not a training checkpoint (no checkpoint.json)`, fix);
  }
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(metaText) as CheckpointMeta;
  } catch (e) {
    throw new UserError('CHECKPOINT_INVALID', `${path.join(abs, 'checkpoint.json')} is not valid JSON (${(e as Error).message})`, fix);
  }
  if (meta.formatVersion !== CHECKPOINT_FORMAT_VERSION || !Array.isArray(meta.tensors) || !meta.state || !meta.options) {
    throw new UserError(
      'CHECKPOINT_INVALID',
      `${path.join(abs, 'checkpoint.json')} is not a checkpoint of format version ${CHECKPOINT_FORMAT_VERSION}`,
      fix,
    );
  }
  const bin = await fsp.readFile(path.join(abs, 'state.bin')).catch(() => undefined);
  const elements = meta.tensors.reduce((s, t) => Math.max(s, t.offset + t.length), 0);
  if (!bin || bin.byteLength !== elements * 4) {
    throw new UserError(
      'CHECKPOINT_INVALID',
      `${path.join(abs, 'state.bin')} is missing or has the wrong size (expected ${elements * 4} bytes)`,
      fix,
    );
  }
  const buf = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  const view = (t: TensorEntry): Float32Array | Int32Array =>
    t.dtype === 'int32' ? new Int32Array(buf, t.offset * 4, t.length) : new Float32Array(buf, t.offset * 4, t.length);
  const of = (g: TensorEntry['group']): TensorEntry[] => meta.tensors.filter((t) => t.group === g);
  const best = of('best');
  const { averageUpdates, ...state } = meta.state;
  return {
    meta: migrateCheckpoint(meta),
    checkpoint: {
      ...state,
      weights: of('weights').map((t) => view(t) as Float32Array),
      optimizer: of('optimizer').map((t) => ({ name: t.name!, shape: t.shape!, dtype: t.dtype, data: view(t) })),
      bestWeights: best.length > 0 ? best.map((t) => view(t) as Float32Array) : undefined,
      average:
        averageUpdates !== undefined ? { updates: averageUpdates, weights: of('average').map((t) => view(t) as Float32Array) } : undefined,
    },
  };
}
