/**
 * A training run's result to disk: the model directory (model, tokenizer, metadata, curves) when it
 * finished, or a checkpoint beside it when it was interrupted. Reads the result of src/train; never trains.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { TF } from '../backend/index.js';
import type { DataFlags, DataSourceInfo } from '../data/index.js';
import type { TrainResult } from '../train/types.js';
import { summarize } from '../models/index.js';
import {
  LAST_CHECKPOINT,
  METADATA_FORMAT_VERSION,
  preprocessingOf,
  saveModelDir,
  type ModelMetadata,
  type UnsavedMetadata,
} from './model-dir.js';
import { checkpointDirFor, saveCheckpoint } from './checkpoint.js';
import { INIT_FINGERPRINTS, UNLABELED_FINGERPRINTS, type InitRecord } from './lm-record.js';
import type { TextSourceInfo } from '../data/texts.js';

/** What metadata.json records about where a run happened. */
export interface RunEnvironment {
  source: DataSourceInfo;
  /** The data flags the reviews came from (no `data`: the default dataset); a checkpoint records them for --resume. */
  dataFlags?: DataFlags;
  /** The backend, and what the recurrent layers ran on (`describeKernels`). */
  backend: { name: string; tensorflow?: string; recurrentKernels: string };
  versions: ModelMetadata['versions'];
  /** The language model the run started from (`--init`), and its text fingerprints to keep beside the model. */
  init?: { record: InitRecord; fingerprintFile: Uint8Array };
  /** Self-training's unlabeled texts (`--unlabeled`), and their fingerprints to keep beside the model. */
  unlabeled?: { source: TextSourceInfo; fingerprintFile: Uint8Array };
}

export interface SavedRun {
  /** The saved model's metadata (absent when the run was interrupted). */
  metadata?: ModelMetadata;
  dir: string;
  /** When interrupted: where the checkpoint was saved (`rnn train --resume` it). */
  checkpoint?: string;
}

/** What the training step ran on, as metadata.json says it. */
const TRAINING_STEP: Record<TrainResult['step'], string> = {
  onednn: "rnn's oneDNN addon (embedding, recurrent layer, dense, loss, Adam)",
  tfjs: 'tfjs trainOnBatch',
};

/** The metadata of a finished training run. */
export function trainingMetadata(result: TrainResult, env: RunEnvironment): UnsavedMetadata {
  const o = result.options;
  const s = summarize(result.model);
  // Fused layers run on the run's kernels, bidirectional and pooled ones too (the fused tfjs ops without oneDNN).
  const kernels = o.layers === 'stock' ? 'stock tfjs-layers' : env.backend.recurrentKernels;
  return {
    formatVersion: METADATA_FORMAT_VERSION,
    createdAt: new Date().toISOString(),
    cell: o.cell,
    labels: result.labels,
    ...(result.classWeights && { classWeights: result.classWeights }),
    ...(env.init && { init: env.init.record }),
    ...(result.selfTraining && env.unlabeled && { selfTraining: { source: env.unlabeled.source, ...result.selfTraining } }),
    hyperParameters: o,
    preprocessing: preprocessingOf(o),
    dataset: {
      ...env.source,
      trainReviews: result.counts.train,
      validationReviews: result.counts.validation,
      repeatsDropped: result.counts.repeatsDropped,
      truncatedShare: result.truncatedShare,
    },
    params: { total: s.totalParams, trainable: s.trainableParams },
    history: result.history,
    weights: {
      epoch: result.weightsEpoch,
      bestEpoch: result.bestEpoch,
      monitor: o.monitor,
      stoppedEarly: result.stoppedEarly,
      lastCheckpoint: result.lastWeights ? LAST_CHECKPOINT : null,
    },
    timings: {
      tokenizeSeconds: result.seconds.tokenize,
      trainSeconds: result.seconds.train,
      totalSeconds: result.seconds.total,
      secondsPerEpoch: result.history.reduce((a, e) => a + e.seconds, 0) / Math.max(1, result.history.length),
    },
    samplesPerSec: result.samplesPerSec,
    backend: {
      name: env.backend.name,
      tensorflow: env.backend.tensorflow,
      recurrentKernels: kernels,
      trainingStep: TRAINING_STEP[result.step],
    },
    versions: env.versions,
  };
}

/**
 * Saves a training run to `dir`: the model directory when it finished (removing `resumedFrom`, the
 * checkpoint it continued, once saved), or the checkpoint beside `dir` ({@link checkpointDirFor}) when it
 * was interrupted, leaving `dir` as it was. The model is disposed when interrupted or when saving fails.
 */
export async function saveTrainingRun(
  tf: TF,
  result: TrainResult,
  dir: string,
  env: RunEnvironment,
  resumedFrom?: string,
): Promise<SavedRun> {
  if (result.interrupted) {
    const ckptDir = checkpointDirFor(dir);
    try {
      await saveCheckpoint(
        ckptDir,
        {
          options: result.options,
          out: path.resolve(dir),
          data: { flags: env.dataFlags ?? {}, source: env.source, ...(env.unlabeled && { unlabeled: env.unlabeled.source }) },
        },
        result.interrupted,
      );
    } finally {
      result.model.dispose();
    }
    return { dir, checkpoint: ckptDir };
  }
  try {
    const metadata = await saveModelDir(tf, dir, result.model, result.tokenizer, trainingMetadata(result, env), {
      lastWeights: result.lastWeights,
      files: {
        ...(env.init && { [INIT_FINGERPRINTS]: env.init.fingerprintFile }),
        ...(env.unlabeled && { [UNLABELED_FINGERPRINTS]: env.unlabeled.fingerprintFile }),
      },
    });
    if (resumedFrom) await fsp.rm(resumedFrom, { recursive: true, force: true });
    return { metadata, dir };
  } catch (e) {
    result.model.dispose();
    throw e;
  }
}
