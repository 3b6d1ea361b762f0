/**
 * Saved models without loading tfjs: what `rnn info` and `rnn list` show. Reads metadata.json and the
 * last evaluation (`eval.json`, written by `rnn eval`).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.js';
import { readJsonIfExists, recoverReplacedDir, writeJsonAtomic } from '../util/fs.js';
import type { CheckpointMeta } from './checkpoint.js';
import { parseJson, readJsonFile, readText } from './read.js';
import type { ModelMetrics } from '../eval/classes.js';
import { readLanguageModelMetadata, type LanguageModelMetadata } from './lm-dir.js';
import { refuseLanguageModel } from './model-dir.js';
import { checkMetadata, HISTORY_SVG, LAST_CHECKPOINT, METADATA_FORMAT_VERSION, type ModelMetadata } from './model-dir.js';

export const EVAL_RECORD = 'eval.json';

/** eval.json: the last `rnn eval` of a model. */
export interface EvalRecord {
  evaluatedAt: string;
  /** Where the test reviews came from, how many were scored, and what they were (absent before rnn said). */
  data: { path: string; reviews: number; scope?: 'test split' | 'held-out rows' | 'training data' | 'pretraining text' };
  /** A binary model's metrics or a k-class model's (accuracy, macro- and weighted-F1, per-class figures, …). */
  metrics: ModelMetrics;
  samplesPerSec: number;
}

/**
 * The last `rnn eval` of the model in `dir` (its eval.json), undefined when it was never evaluated. A record that
 * is not one `rnn eval` wrote (not a regular file, not JSON, a field of another type) is MODEL_EVAL_INVALID,
 * naming the field: its figures are shown by `rnn info`, `rnn list`, the exported page and `/v1/model`.
 */
export async function readEvalRecord(dir: string): Promise<EvalRecord | undefined> {
  const file = path.join(dir, EVAL_RECORD);
  if (!(await fsp.lstat(file).catch(() => undefined))) return undefined;
  const fix = `Run \`rnn eval --model ${dir}\` again to rewrite it, or delete it`;
  const record = parseJson<unknown>(await readText(file, fix, 'MODEL_EVAL_INVALID'), file, fix, 'MODEL_EVAL_INVALID');
  // The schemas (and Ajv) load when a record is read, not at every command's start-up.
  const { EvalJson, schemaProblem } = await import('./schemas.js');
  const problem = schemaProblem(EvalJson, record);
  if (problem) throw new UserError('MODEL_EVAL_INVALID', `${file} is not an evaluation rnn eval wrote: ${problem}`, fix);
  return record as EvalRecord;
}

/** The confusion matrix of the last `rnn eval` of a model of k ≥ 3 labels, beside its eval.json. */
export const CONFUSION_SVG = 'confusion.svg';

/** Records an evaluation beside the model (atomically). */
export async function writeEvalRecord(dir: string, record: EvalRecord): Promise<void> {
  await writeJsonAtomic(path.join(dir, EVAL_RECORD), record);
}

/** A saved model as `rnn info` describes it. */
export interface ModelInfo {
  dir: string;
  metadata: ModelMetadata;
  evaluation?: EvalRecord;
  files: { name: string; bytes: number }[];
  /** Paths of extra artifacts present: the learning curves and the last-epoch checkpoint. */
  historySvg?: string;
  lastCheckpoint?: string;
}

export async function readModelInfo(dir: string): Promise<ModelInfo> {
  const abs = path.resolve(dir);
  await recoverReplacedDir(abs);
  const st = await fsp.stat(abs).catch(() => undefined);
  if (!st?.isDirectory())
    throw new UserError('MODEL_NOT_FOUND', `model directory ${abs} does not exist`, 'Train one with `rnn train` or pass --model DIR');
  await refuseLanguageModel(abs);
  const fix = `Retrain with \`rnn train --out ${dir}\` or pass --model with a complete model directory`;
  const metadata = await readJsonFile<ModelMetadata>(path.join(abs, 'metadata.json'), fix);
  if (metadata?.formatVersion !== METADATA_FORMAT_VERSION || typeof metadata.cell !== 'string' || !Array.isArray(metadata.history)) {
    throw new UserError(
      'MODEL_METADATA_INVALID',
      `${path.join(abs, 'metadata.json')} is not an rnn metadata file of format version ${METADATA_FORMAT_VERSION}`,
      fix,
    );
  }
  await checkMetadata(metadata, path.join(abs, 'metadata.json'), fix);
  const evaluation = await readEvalRecord(abs);
  const files: ModelInfo['files'] = [];
  for (const name of (await fsp.readdir(abs)).sort()) {
    const s = await fsp.stat(path.join(abs, name));
    if (s.isFile()) files.push({ name, bytes: s.size });
  }
  const has = async (p: string): Promise<string | undefined> => ((await fsp.stat(p).catch(() => undefined)) ? p : undefined);
  return {
    dir: abs,
    metadata,
    evaluation,
    files,
    historySvg: await has(path.join(abs, HISTORY_SVG)),
    lastCheckpoint: await has(path.join(abs, LAST_CHECKPOINT, 'metadata.json')).then((p) => p && path.dirname(p)),
  };
}

/** A language model directory (`rnn pretrain`) as `rnn info` and `rnn list` describe it. */
export interface LanguageModelInfo {
  dir: string;
  metadata: LanguageModelMetadata;
  files: { name: string; bytes: number }[];
}

async function filesOf(abs: string): Promise<{ name: string; bytes: number }[]> {
  const files: { name: string; bytes: number }[] = [];
  for (const name of (await fsp.readdir(abs)).sort()) {
    const s = await fsp.stat(path.join(abs, name));
    if (s.isFile()) files.push({ name, bytes: s.size });
  }
  return files;
}

/** Whether a directory's metadata.json says it is a language model. */
async function isLanguageModel(abs: string): Promise<boolean> {
  const meta = await readJsonIfExists<{ kind?: unknown }>(path.join(abs, 'metadata.json')).catch(() => undefined);
  return meta?.kind === 'language-model';
}

export async function readLanguageModelInfo(dir: string): Promise<LanguageModelInfo> {
  const abs = path.resolve(dir);
  return { dir: abs, metadata: await readLanguageModelMetadata(abs), files: await filesOf(abs) };
}

/** `rnn info`'s reading: a classifier's {@link ModelInfo} or a language model's. */
export async function readAnyModelInfo(dir: string): Promise<{ classifier: ModelInfo } | { languageModel: LanguageModelInfo }> {
  const abs = path.resolve(dir);
  await recoverReplacedDir(abs);
  if (await isLanguageModel(abs)) return { languageModel: await readLanguageModelInfo(abs) };
  return { classifier: await readModelInfo(abs) };
}

/** One row of `rnn list`. */
export interface ModelListing {
  /** Path relative to the models directory. */
  name: string;
  dir: string;
  /** True for the model `models/latest` points at. */
  latest: boolean;
  info?: ModelInfo;
  /** A language model's, instead of {@link info}. */
  languageModel?: LanguageModelInfo;
  /** Why the directory could not be read as a model. */
  error?: string;
  /** For an interrupted training run's checkpoint: where it stopped. */
  checkpoint?: { cell: string; epoch: number; epochs: number; createdAt: string; command: 'train' | 'pretrain' };
}

/**
 * Model directories under `modelsDir` (two levels deep, so `models/compare/lstm` is found), newest first.
 * `last/` checkpoints and temporary directories are skipped; broken models are listed with their error, and
 * checkpoints of interrupted runs (`NAME.checkpoint`) with where they stopped.
 */
export async function listModels(modelsDir: string): Promise<ModelListing[]> {
  const root = path.resolve(modelsDir);
  let latest: string | undefined;
  try {
    latest = path.resolve(root, await fsp.readlink(path.join(root, 'latest')));
  } catch {
    latest = undefined;
  }
  const found: ModelListing[] = [];
  const visit = async (dir: string, depth: number): Promise<void> => {
    const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (!e.isDirectory() || e.name.startsWith('.') || e.name === LAST_CHECKPOINT) continue;
      const sub = path.join(dir, e.name);
      const hasMeta = await fsp.stat(path.join(sub, 'metadata.json')).then(
        () => true,
        () => false,
      );
      const hasModel = await fsp.stat(path.join(sub, 'model.json')).then(
        () => true,
        () => false,
      );
      const ckpt = await readJsonIfExists<CheckpointMeta>(path.join(sub, 'checkpoint.json'));
      if (ckpt?.state && ckpt.options) {
        found.push({
          name: path.relative(root, sub),
          dir: sub,
          latest: false,
          checkpoint: {
            cell: ckpt.options.cell,
            epoch: ckpt.state.epoch,
            epochs: ckpt.options.epochs,
            createdAt: ckpt.createdAt,
            command: ckpt.kind === 'pretrain' ? 'pretrain' : 'train',
          },
        });
        continue;
      }
      if (hasMeta || hasModel) {
        const row: ModelListing = { name: path.relative(root, sub), dir: sub, latest: sub === latest };
        try {
          if (await isLanguageModel(sub)) row.languageModel = await readLanguageModelInfo(sub);
          else row.info = await readModelInfo(sub);
        } catch (err) {
          row.error = (err as Error).message;
        }
        found.push(row);
      } else if (depth < 2) {
        await visit(sub, depth + 1);
      }
    }
  };
  await visit(root, 1);
  const created = (r: ModelListing): string =>
    r.info?.metadata.createdAt ?? r.languageModel?.metadata.createdAt ?? r.checkpoint?.createdAt ?? '';
  return found.sort((a, b) => created(b).localeCompare(created(a)) || a.name.localeCompare(b.name));
}
