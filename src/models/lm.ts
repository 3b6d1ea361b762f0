/**
 * The language model `rnn pretrain` trains: the classifier's Embedding and recurrent layer (the same builders,
 * names, shapes and seeded initializers, so the weights transfer to `rnn train --init`), the recurrent layer
 * returning its output at every step, then Dense(vocabSize) giving the next word's logits at every step.
 * Built from stock tfjs-layers, so the saved model loads with `tf.loadLayersModel`; the recurrent layer runs
 * fused on the run's kernels for sequence outputs (TensorFlow's block kernels on the native backend).
 */
import type { LayersModel } from '@tensorflow/tfjs';
import type { TF } from '../backend/index.js';
import type { Kernels } from '../kernels/index.js';
import type { CellType } from '../cells.js';
import { fuseRecurrentLayers } from './fused.js';
import { buildQuietly, embeddingLayer, recurrentLayer, type RecurrentImpl } from './index.js';

/** The language model's shapes: the classifier's (cell, vocabulary, embedding size, units) and the window it reads. */
export interface LanguageModelShape {
  cell: CellType;
  vocabSize: number;
  embeddingDim: number;
  units: number;
  /** Steps of one training window (truncated back-propagation through time). */
  bptt: number;
  seed: number;
  layers: RecurrentImpl;
}

/** Name of the output layer: the next word's logits. */
export const LM_OUTPUT = 'lm_output';

export function buildLanguageModel(tf: TF, o: LanguageModelShape, kernels: Kernels): LayersModel {
  const model = buildQuietly(tf, () =>
    tf.sequential({
      name: `lm_${o.cell}`,
      layers: [
        embeddingLayer(tf, o, o.bptt),
        recurrentLayer(tf, o, true),
        tf.layers.dense({ units: o.vocabSize, kernelInitializer: tf.initializers.glorotUniform({ seed: o.seed + 4 }), name: LM_OUTPUT }),
      ],
    }),
  );
  if (o.layers === 'fused') fuseRecurrentLayers(tf, model, kernels);
  return model;
}

/** The layers of a language model: embedding, recurrent layer, output. */
export function lmLayers(model: LayersModel): {
  embedding: LayersModel['layers'][number];
  recurrent: LayersModel['layers'][number];
  output: LayersModel['layers'][number];
} {
  const [embedding, recurrent, output] = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  if (!embedding || !recurrent || !output || output.name !== LM_OUTPUT) throw new Error('not an rnn language model');
  return { embedding, recurrent, output };
}
