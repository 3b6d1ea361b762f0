/** Explains one review with the model's predictor (occlusion: src/explain/occlusion.ts). */
import type { TF } from '../backend/index.js';
import { createPredictor, predictArrays, runnable, PREDICT_BATCH_SIZE, type InferenceModel } from '../predict/index.js';
import { planExplanation, type ExplainClass, type Explanation } from './occlusion.js';

/** Explains one review; `batchSize` rows are predicted at a time; `choice` picks the class a model of k ≥ 3 classes explains (default the predicted one). */
export function explainText(tf: TF, m: InferenceModel, text: string, batchSize = PREDICT_BATCH_SIZE, choice?: ExplainClass): Explanation {
  const plan = planExplanation(m, text, choice);
  return plan.finish(predictArrays(createPredictor(tf, runnable(m), m.metadata.preprocessing.maxlen), plan.ids, batchSize));
}
