/** A training run to a model directory: train, then save model, tokenizer, metadata and curves atomically. */
import type { TF } from '../backend/index.js';
import type { DataSourceInfo, Review } from '../data/index.js';
import { saveModelDir, trainingMetadata, type ModelMetadata } from '../io/model-dir.js';
import { fusedKernels } from '../models/fused.js';
import { train, type TrainCallbacks, type TrainOptions, type TrainResult } from './index.js';

/** What metadata.json records about where a run happened. */
export interface RunEnvironment {
  source: DataSourceInfo;
  backend: { name: string; tensorflow?: string };
  versions: ModelMetadata['versions'];
}

export interface SavedRun {
  /** The trained model (holding the saved epoch's weights) and the rest of the result; dispose `result.model`. */
  result: TrainResult;
  metadata: ModelMetadata;
  dir: string;
}

export async function trainToDir(tf: TF, reviews: readonly Review[], options: TrainOptions, dir: string, env: RunEnvironment, cb: TrainCallbacks = {}): Promise<SavedRun> {
  const result = await train(tf, reviews, options, cb);
  try {
    const kernels = options.layers === 'fused' ? fusedKernels(tf) : 'stock tfjs-layers';
    const metadata = await saveModelDir(tf, dir, result.model, result.tokenizer, trainingMetadata(result, env.source, { ...env.backend, recurrentKernels: kernels }, env.versions), {
      lastWeights: result.lastWeights,
    });
    return { result, metadata, dir };
  } catch (e) {
    result.model.dispose();
    throw e;
  }
}
