/** Explains one review with the model's predictor (occlusion: src/explain/occlusion.ts). */
import type { TF } from '../backend/index.js';
import { createPredictor, predictArrays, runnable, PREDICT_BATCH_SIZE, type InferenceModel } from '../predict/index.js';
import { planExplanation, type Explanation } from './occlusion.js';

/** Explains one review; `batchSize` rows are predicted at a time. */
export function explainText(tf: TF, m: InferenceModel, text: string, batchSize = PREDICT_BATCH_SIZE): Explanation {
  const plan = planExplanation(m, text);
  return plan.finish(predictArrays(createPredictor(tf, runnable(m), m.metadata.preprocessing.maxlen), plan.ids, batchSize));
}
