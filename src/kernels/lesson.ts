/**
 * The lesson model (Embedding → SimpleRNN/LSTM/GRU → Dense(1, sigmoid)) whole on rnn's oneDNN kernels: what
 * its training step (src/train/onednn-step.ts) and its predictor (src/predict/onednn.ts) share. The
 * parameters are plain Float32Arrays in the model's trainable-weight order.
 */

/** Embeddings [V·D], kernel [D·G·U], recurrent kernel [U·G·U], bias [G·U], dense kernel [U], dense bias [1]. */
export type LessonParams = [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];

/** Trainable weights of the lesson model, in the order above. */
export const LESSON_PARAMS = 6;

/** Dense(1, sigmoid) over the last hidden states h [B·U]: the probabilities (in double precision). */
export function denseSigmoid(h: Float32Array, B: number, U: number, Wd: Float32Array, bd: Float32Array): Float64Array {
  const p = new Float64Array(B);
  for (let i = 0; i < B; i++) {
    let z = bd[0]!;
    for (let u = 0; u < U; u++) z += h[i * U + u]! * Wd[u]!;
    p[i] = 1 / (1 + Math.exp(-z));
  }
  return p;
}
