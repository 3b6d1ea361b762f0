/** A training run to a model directory: train, then save model, tokenizer, metadata and curves atomically. */
import type { TF } from '../backend/index.js';
import type { DataSourceInfo, Review } from '../data/index.js';
import { saveModelDir, trainingMetadata, type ModelMetadata } from '../io/model-dir.js';
import { fusedKernels } from '../models/fused.js';
import { train, type TrainCallbacks, type TrainCheckpoint, type TrainOptions, type TrainResult } from './index.js';
import { checkpointDirFor, saveCheckpoint } from '../io/checkpoint.js';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

/** What metadata.json records about where a run happened. */
export interface RunEnvironment {
  source: DataSourceInfo;
  /** The data flags the reviews came from (no `data`: the default dataset); a checkpoint records them for --resume. */
  dataFlags?: { data?: string; textColumn?: string; labelColumn?: string };
  backend: { name: string; tensorflow?: string };
  versions: ModelMetadata['versions'];
}

export interface SavedRun {
  /** The trained model (holding the saved epoch's weights) and the rest of the result; dispose `result.model`. */
  result: TrainResult;
  /** The saved model's metadata (absent when the run was interrupted). */
  metadata?: ModelMetadata;
  dir: string;
  /** When interrupted: where the checkpoint was saved (`rnn train --resume` it). */
  checkpoint?: string;
}

/** A checkpoint to continue from, and its directory (removed once the resumed run has saved its model). */
export interface ResumeFrom {
  checkpoint: TrainCheckpoint;
  dir: string;
}

/**
 * Trains and saves the model directory. When `cb.shouldStop` interrupts training, the model directory is
 * left as it was and a checkpoint is saved beside it instead ({@link checkpointDirFor}).
 */
export async function trainToDir(tf: TF, reviews: readonly Review[], options: TrainOptions, dir: string, env: RunEnvironment, cb: TrainCallbacks = {}, resume?: ResumeFrom): Promise<SavedRun> {
  const result = await train(tf, reviews, options, cb, resume?.checkpoint);
  if (result.interrupted) {
    const ckptDir = checkpointDirFor(dir);
    try {
      await saveCheckpoint(ckptDir, { options, out: path.resolve(dir), data: { flags: env.dataFlags ?? {}, source: env.source } }, result.interrupted);
    } finally {
      result.model.dispose();
    }
    return { result, dir, checkpoint: ckptDir };
  }
  try {
    const kernels = options.layers === 'fused' ? fusedKernels(tf) : 'stock tfjs-layers';
    const metadata = await saveModelDir(tf, dir, result.model, result.tokenizer, trainingMetadata(result, env.source, { ...env.backend, recurrentKernels: kernels, trainingStep: result.step === 'onednn' ? "rnn's oneDNN addon (embedding, recurrent layer, dense, loss, Adam)" : 'tfjs trainOnBatch' }, env.versions), {
      lastWeights: result.lastWeights,
    });
    if (resume) await fsp.rm(resume.dir, { recursive: true, force: true });
    return { result, metadata, dir };
  } catch (e) {
    result.model.dispose();
    throw e;
  }
}
