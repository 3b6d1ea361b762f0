/**
 * Training checkpoints (written when `rnn train` is interrupted): `checkpoint.json` (options, data, position,
 * random-number state, history) and `state.bin` (model weights, Adam's state, the best epoch's weights, the
 * weight average).
 * Written to a temporary sibling and renamed into place; kept beside the model directory, never inside it,
 * so the model that was there stays intact.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.js';
import { FileRefused, readBoundedFile, writeDirStaged, writingTo } from '../util/fs.js';
import { MAX_JSON_BYTES } from './read.js';
import type { DataFlags, DataSourceInfo } from '../data/index.js';
import type { TextSourceInfo } from '../data/texts.js';
import type { TrainOptions } from '../train/options.js';
import type { EpochLog, TrainCheckpoint } from '../train/types.js';

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

/** Which command wrote a checkpoint: `rnn train` (absent, as before) or `rnn pretrain`. */
export type CheckpointKind = 'train' | 'pretrain';

/** checkpoint.json: of `rnn train` (options `O` = TrainOptions, epoch logs `H` = EpochLog) or of `rnn pretrain` (`kind`). */
export interface CheckpointMeta<O = TrainOptions, H = EpochLog> {
  formatVersion: number;
  createdAt: string;
  /** `pretrain` for `rnn pretrain`'s checkpoints; absent for `rnn train`'s. */
  kind?: 'pretrain';
  /** The options of the interrupted run (a resumed run uses exactly these). */
  options: O;
  /** The model directory the finished run will write. */
  out: string;
  /** The data flags given (no `data`: the default dataset) and what they gave, so a resume reads the same reviews. */
  data: {
    flags: DataFlags & { allowTestText?: boolean };
    source: DataSourceInfo | TextSourceInfo;
    /** Self-training's unlabeled texts (`rnn train --unlabeled`), so a resume reads the same ones. */
    unlabeled?: TextSourceInfo;
  };
  /** The training position and everything else of {@link TrainCheckpoint} but the arrays. */
  state: Omit<TrainCheckpoint<H>, 'weights' | 'optimizer' | 'bestWeights' | 'average'> & { averageUpdates?: number };
  tensors: TensorEntry[];
}

export async function saveCheckpoint<O, H>(
  dir: string,
  meta: Omit<CheckpointMeta<O, H>, 'formatVersion' | 'createdAt' | 'state' | 'tensors'>,
  ckpt: TrainCheckpoint<H>,
): Promise<void> {
  const { weights, optimizer, bestWeights, average, ...rest } = ckpt;
  const state: CheckpointMeta<O, H>['state'] = average ? { ...rest, averageUpdates: average.updates } : rest;
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
  const full: CheckpointMeta<O, H> = {
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    createdAt: new Date().toISOString(),
    ...meta,
    state,
    tensors,
  };
  const target = path.resolve(dir);
  await writingTo(
    target,
    () =>
      writeDirStaged(target, async (staged) => {
        await fsp.writeFile(path.join(staged, 'state.bin'), Buffer.concat(parts));
        await fsp.writeFile(path.join(staged, 'checkpoint.json'), JSON.stringify(full) + '\n');
      }),
    `no checkpoint was saved, and the model directory ${meta.out} is unchanged`,
  );
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

/** A checkpoint of `rnn train`. */
export async function loadCheckpoint(dir: string): Promise<{ meta: CheckpointMeta; checkpoint: TrainCheckpoint }> {
  const { meta, checkpoint } = await loadCheckpointOf<TrainOptions, EpochLog>(dir, 'train');
  return { meta: migrateCheckpoint(meta), checkpoint };
}

/** A checkpoint of `rnn train` or `rnn pretrain` (`kind`): one of the other command is refused, naming the command to resume it with. */
export async function loadCheckpointOf<O, H>(
  dir: string,
  kind: CheckpointKind,
): Promise<{ meta: CheckpointMeta<O, H>; checkpoint: TrainCheckpoint<H> }> {
  const abs = path.resolve(dir);
  const fix = `Pass --resume the .checkpoint directory an interrupted \`rnn ${kind}\` named, or start again without --resume`;
  let metaText: string;
  try {
    metaText = (await readBoundedFile(path.join(abs, 'checkpoint.json'), MAX_JSON_BYTES)).toString('utf8');
  } catch (e) {
    if (e instanceof FileRefused) throw new UserError('CHECKPOINT_INVALID', e.message, fix);
    throw new UserError('CHECKPOINT_NOT_FOUND', `${abs} is not a training checkpoint (no checkpoint.json)`, fix);
  }
  let meta: CheckpointMeta<O, H>;
  try {
    meta = JSON.parse(metaText) as CheckpointMeta<O, H>;
  } catch (e) {
    throw new UserError('CHECKPOINT_INVALID', `${path.join(abs, 'checkpoint.json')} is not valid JSON (${(e as Error).message})`, fix);
  }
  if (meta?.formatVersion !== CHECKPOINT_FORMAT_VERSION || !Array.isArray(meta.tensors) || !meta.state || !meta.options) {
    throw new UserError(
      'CHECKPOINT_INVALID',
      `${path.join(abs, 'checkpoint.json')} is not a checkpoint of format version ${CHECKPOINT_FORMAT_VERSION}`,
      fix,
    );
  }
  // Every field of the type rnn writes, and every tensor's place, shape and size consistent: else one clear line.
  const bad = (why: string) =>
    new UserError('CHECKPOINT_INVALID', `${path.join(abs, 'checkpoint.json')} is not an rnn checkpoint: ${why}`, fix);
  const written: CheckpointKind = meta.kind === 'pretrain' ? 'pretrain' : 'train';
  if (written !== kind) {
    throw new UserError(
      'CHECKPOINT_INVALID',
      `${abs} is a checkpoint of \`rnn ${written}\`, not of \`rnn ${kind}\``,
      `Resume it with \`rnn ${written} --resume ${dir}\``,
    );
  }
  const { CheckpointJson, PretrainCheckpointJson, schemaProblem } = await import('./schemas.js'); // Ajv loads when a checkpoint is read
  const problem = schemaProblem(kind === 'pretrain' ? PretrainCheckpointJson : CheckpointJson, meta);
  if (problem) throw bad(problem);
  const wrong = meta.tensors.findIndex(
    (t) =>
      !Number.isSafeInteger(t.offset + t.length) ||
      (t.shape !== undefined && t.shape.reduce((a, b) => a * b, 1) !== t.length) ||
      (t.group === 'optimizer' && (t.name === undefined || t.shape === undefined)),
  );
  if (wrong >= 0) throw bad(`tensors.${wrong} has a shape that does not match its length, or an optimizer weight without a name and shape`);
  const elements = meta.tensors.reduce((s, t) => Math.max(s, t.offset + t.length), 0);
  const bin = await readBoundedFile(path.join(abs, 'state.bin'), elements * 4).catch(() => undefined);
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
    meta,
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
