/**
 * Fused recurrent layers: the stock tfjs-layers SimpleRNN / LSTM / GRU (same weights, same config, same
 * class names, so saved models load with stock `tf.loadLayersModel`), with their `call` replaced by a
 * whole-sequence forward and a hand-written backward (BPTT) through `tf.customGrad`.
 *
 * Why: stock tfjs-layers runs each timestep as a dozen small ops forward and again on the gradient tape;
 * at tfjs-node's 20–30 µs per op that, not arithmetic, is the cost. Here all timesteps' input projections
 * are one large matMul before the loop, a step is only h·R plus the gate math, and the weight and input
 * gradients are single large matMuls over the stacked per-step gate gradients after the loop. On the
 * native backend LSTM and GRU steps are TensorFlow's own LSTMBlockCell / GRUBlockCell kernels (and their
 * Grad kernels), and SimpleRNN's per-step ops are TensorFlow ops called by name; on other backends
 * everything is tfjs ops. With rnn's oneDNN kernels (the {@link Kernels} value given to
 * {@link fuseRecurrentLayers}), the whole sequence is one call into the addon each way instead, on any
 * backend, returning the last state or every step's output.
 *
 * Each op returns the last state [B, U] or, built with `{ sequences: true }`, every step's output [B, T, U]
 * (returnSequences); a goBackwards layer runs it on its input reversed in time, as tfjs-layers does. So
 * Bidirectional and pooled models (their layers inside a Bidirectional, returning sequences) run fused too.
 *
 * Supported configuration (anything else keeps the stock `call`): returnState and stateful false; no
 * dropout; bias on; activation tanh; recurrent activation sigmoid (LSTM/GRU); no mask and no initial state
 * passed at call time. GRU is tfjs's reset_after=false GRU.
 *
 * This module chooses the op and puts it into the layers; the ops live in fused/ by kernel family: tfjs-ops.ts
 * (tfjs ops, any backend), tf-block.ts (TensorFlow's LSTM/GRU block kernels), onednn.ts (rnn's addon), and
 * op.ts (what they share).
 */
import type { LayersModel, Tensor, Tensor1D, Tensor2D, Tensor3D, layers } from '@tensorflow/tfjs';
import { tfOps, type TF } from '../backend/index.js';
import type { Kernels } from '../kernels/index.js';
import { cellOfLayerClass, type CellType } from '../cells.js';
import type { Op, OpOptions } from './fused/op.js';
import { gruOp, lstmOp, simpleRnnOp } from './fused/tfjs-ops.js';
import { gruKernelOp, lstmKernelOp } from './fused/tf-block.js';
import { onednnOp } from './fused/onednn.js';

type Layer = layers.Layer;

interface RnnCellVars {
  kernel: { read(): Tensor2D };
  recurrentKernel: { read(): Tensor2D };
  bias: { read(): Tensor1D } | null;
}

/** The tfjs implementation of each cell: TensorFlow's block kernels on the native backend, tfjs ops elsewhere. */
const OPS: Record<CellType, (tf: TF, o: OpOptions) => Op> = {
  simplernn: simpleRnnOp,
  lstm: (tf, o) => {
    const k = tfOps(tf);
    return k ? lstmKernelOp(tf, k, o) : lstmOp(tf, o);
  },
  gru: (tf, o) => {
    const k = tfOps(tf);
    return k ? gruKernelOp(tf, k, o) : gruOp(tf, o);
  },
};

/** The op a layer runs on `kernels`. */
function makeOp(tf: TF, cell: CellType, kernels: Kernels, o: OpOptions): Op {
  return kernels.name === 'onednn' ? onednnOp(tf, kernels.addon, cell, o) : OPS[cell](tf, o);
}

/** Whether a layer's configuration is one the fused ops compute exactly. */
export function fusable(layer: Layer): boolean {
  const cls = layer.getClassName();
  if (cellOfLayerClass(cls) === undefined) return false;
  const c = layer.getConfig() as Record<string, unknown>;
  const ok =
    !c.return_state &&
    !c.returnState &&
    !c.stateful &&
    (c.use_bias ?? c.useBias) !== false &&
    !(Number(c.dropout ?? 0) > 0) &&
    !(Number(c.recurrent_dropout ?? c.recurrentDropout ?? 0) > 0) &&
    (c.activation ?? 'tanh') === 'tanh' &&
    (cls === 'SimpleRNN' || (c.recurrent_activation ?? c.recurrentActivation) === 'sigmoid');
  return ok;
}

/** A model layer's recurrent layers: itself, or a Bidirectional wrapper's forward and backward layers. */
function recurrentLayers(layer: Layer): Layer[] {
  const b = layer as unknown as { forwardLayer?: Layer; backwardLayer?: Layer };
  return layer.getClassName() === 'Bidirectional' && b.forwardLayer && b.backwardLayer ? [b.forwardLayer, b.backwardLayer] : [layer];
}

/**
 * Replaces the `call` of every fusable recurrent layer of `model` (inside Bidirectional wrappers too: theirs
 * call their two layers' `call`) with the fused op on `kernels` (in place). Weights, config and class names
 * are untouched, so `model.save()` writes exactly what the stock layers would. Returns the names of the
 * layers that were fused.
 */
export function fuseRecurrentLayers(tf: TF, model: LayersModel, kernels: Kernels): string[] {
  const fused: string[] = [];
  for (const layer of model.layers.flatMap(recurrentLayers)) {
    if (!fusable(layer)) continue;
    const cell = cellOfLayerClass(layer.getClassName())!;
    const c = layer.getConfig() as Record<string, unknown>;
    const o: OpOptions = { sequences: Boolean(c.return_sequences ?? c.returnSequences) };
    const backwards = Boolean(c.go_backwards ?? c.goBackwards);
    const ops = new Map<string, Op>();
    const vars = (layer as unknown as { cell: RnnCellVars }).cell;
    const stock = layer.call.bind(layer);
    layer.call = (inputs: Tensor | Tensor[], kwargs: Record<string, unknown>) => {
      if (kwargs?.mask != null || kwargs?.initialState != null) return stock(inputs, kwargs);
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as Tensor3D;
      const backend = tf.getBackend();
      if (!ops.has(backend)) ops.set(backend, makeOp(tf, cell, kernels, o));
      const op = ops.get(backend)!;
      const [W, R, b] = [vars.kernel.read(), vars.recurrentKernel.read(), vars.bias!.read()];
      // tfjs-layers' goBackwards: the input reversed in time, the outputs in the order they were computed.
      return backwards ? tf.tidy(() => op(tf.reverse(x, 1), W, R, b)) : op(x, W, R, b);
    };
    fused.push(layer.name);
  }
  return fused;
}
