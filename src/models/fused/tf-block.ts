/**
 * The fused LSTM and GRU on the native backend: TensorFlow's own block kernels called by name through tfjs-node,
 * one kernel per step each way (LSTMBlockCell / LSTMBlockCellGrad, GRUBlockCell / GRUBlockCellGrad), with the
 * weights repacked per batch for TensorFlow's gate order and the weight, bias and input gradients as single large
 * matMuls after the loop. {@link blockKernelOp} runs the steps for either cell; a {@link BlockCell} says what
 * differs: the kernels, the state carried between steps, the weight layout and the final gradients.
 */
import type { Tensor, Tensor1D, Tensor2D, Tensor3D } from '@tensorflow/tfjs';
import type { TF, TfOps } from '../../backend/index.js';
import { LAST_STATE, output, outputGrads, previous, stepOps, tapedOp, timeMajorRows, type Op, type OpOptions, type StepOps } from './op.js';

/** One of TensorFlow's kernels, called by name. */
interface Kernel {
  name: string;
  attrs: unknown[];
  outputs: number;
}

/** What the last step of the backward hands {@link BlockCell.grads}. */
interface Steps<P> {
  /** The op's input x [B, T, D] as time-major rows [T·B, D]. */
  X: Tensor2D;
  /** h_{t-1} of every step [T, B, U]. */
  Hprev: Tensor3D;
  /** The forward kernel's outputs, stacked over time [T, B, ·]. */
  forward: Tensor3D[];
  /** What {@link BlockCell.keep} kept of every step's Grad outputs, stacked over time [T, B, ·]. */
  kept: Tensor3D[];
  p: P;
  T: number;
  B: number;
  D: number;
  U: number;
}

/**
 * A cell on a pair of TensorFlow's block kernels. The forward kernel of step t takes x_t, the state the step before
 * left (zeros at t = 0) and the weights, and returns its outputs, h_t last. The Grad kernel takes x_t, that state,
 * the weights, the step's outputs but h_t, and the gradient of the state the step left; it returns gradients.
 */
interface BlockCell<P> {
  forward: Kernel;
  grad: Kernel;
  /** The forward outputs a step hands the next, h_t last: [cs, h] for the LSTM, [h] for the GRU. */
  state: readonly number[];
  /** The weights in the kernels' layout (once per batch each way). */
  pack(W: Tensor2D, R: Tensor2D, bias: Tensor1D, U: number): P;
  /** The packed weights in the order the kernels take them. */
  weights(p: P): Tensor[];
  /** Of one step's Grad outputs: what {@link grads} needs of every step, and (t > 0) the gradient of the state the step before left, without the output's own gradient. */
  backward(p: P, D: number, U: number, op: StepOps): { keep(g: Tensor[]): Tensor[]; before(g: Tensor[]): Tensor[] };
  /** [dx, dW, dR, db] in tfjs's layout. */
  grads(s: Steps<P>): Tensor[];
}

/** The op of a block cell: the steps forward, the Grad kernel back through them, then the cell's gradients. */
function blockKernelOp<P>(tf: TF, k: TfOps, cell: BlockCell<P>, o: OpOptions): Op {
  const op = stepOps(tf);
  const h = cell.forward.outputs - 1;
  return tapedOp(
    tf,
    (x, W, R, bias) => {
      const B = x.shape[0];
      const U = R.shape[0];
      const weights = cell.weights(cell.pack(W, R, bias, U));
      const xs = tf.unstack(tf.transpose(x, [1, 0, 2]));
      let state: Tensor[] = cell.state.map(() => tf.zeros([B, U]));
      const seq: Tensor[][] = Array.from({ length: cell.forward.outputs }, () => []);
      for (const xt of xs) {
        const out = k.executeMultipleOutputs(cell.forward.name, cell.forward.attrs, [xt, ...state, ...weights], cell.forward.outputs);
        out.forEach((t, j) => seq[j]!.push(t));
        state = cell.state.map((j) => out[j]!);
      }
      const stacks = seq.map((s) => tf.stack(s) as Tensor3D);
      return { y: output(tf, stacks[h]!, state.at(-1) as Tensor2D, o), saved: stacks };
    },
    (dy, [x, W, R, bias], saved) => {
      const forward = saved as Tensor3D[];
      const [B, T, D] = x.shape;
      const U = R.shape[0];
      const p = cell.pack(W, R, bias, U);
      const weights = cell.weights(p);
      const step = cell.backward(p, D, U, op);
      const xs = tf.unstack(tf.transpose(x, [1, 0, 2]));
      const before = cell.state.map((j) => previous(tf, forward[j]!));
      const beforeSteps = before.map((s) => tf.unstack(s));
      const outputSteps = forward.slice(0, h).map((s) => tf.unstack(s));
      const kept: Tensor[][] = [];
      const dys = outputGrads(tf, dy, T, o);
      let dState: Tensor[] = cell.state.map((_, i) => (i === cell.state.length - 1 ? dys(T - 1)! : tf.zeros([B, U])));
      for (let t = T - 1; t >= 0; t--) {
        const inputs = [xs[t]!, ...beforeSteps.map((s) => s[t]!), ...weights, ...outputSteps.map((s) => s[t]!), ...dState];
        const g = k.executeMultipleOutputs(cell.grad.name, cell.grad.attrs, inputs, cell.grad.outputs);
        step.keep(g).forEach((grad, j) => ((kept[j] ??= new Array<Tensor>(T))[t] = grad));
        if (t > 0) {
          const d = step.before(g);
          d[d.length - 1] = op.plus(d.at(-1) as Tensor2D, dys(t - 1));
          dState = d;
        }
      }
      const stacked = kept.map((s) => tf.stack(s) as Tensor3D);
      return cell.grads({ X: timeMajorRows(tf, x), Hprev: before.at(-1)!, forward, kept: stacked, p, T, B, D, U });
    },
  );
}

/** Column order tfjs (i, f, c, o) ⇄ TensorFlow's LSTMBlockCell (i, c, f, o): swapping the middle blocks, its own inverse. */
function icfoIndex(tf: TF, U: number): Tensor1D {
  const idx = new Int32Array(4 * U);
  for (let k = 0; k < U; k++) {
    idx[k] = k;
    idx[U + k] = 2 * U + k;
    idx[2 * U + k] = U + k;
    idx[3 * U + k] = 3 * U + k;
  }
  return tf.tensor1d(idx, 'int32');
}

/**
 * LSTM on TensorFlow's LSTMBlockCell (forward, one kernel per step) and LSTMBlockCellGrad (backward, one
 * kernel plus the h·Rᵀ product per step); weight and input gradients are single matMuls after the loop.
 */
export function lstmKernelOp(tf: TF, k: TfOps, o: OpOptions = LAST_STATE): Op {
  const b = k.binding;
  const T = { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT };
  const noPeephole = { name: 'use_peephole', type: b.TF_ATTR_BOOL, value: false };
  type Packed = { idx: Tensor1D; w: Tensor2D; bias: Tensor1D; peep: Tensor };
  const cell: BlockCell<Packed> = {
    forward: {
      name: 'LSTMBlockCell',
      attrs: [
        T,
        { name: 'forget_bias', type: b.TF_ATTR_FLOAT, value: 0 },
        { name: 'cell_clip', type: b.TF_ATTR_FLOAT, value: -1 },
        noPeephole,
      ],
      outputs: 7, // i, cs, f, o, ci, co, h
    },
    grad: { name: 'LSTMBlockCellGrad', attrs: [T, noPeephole], outputs: 5 }, // cs_prev_grad, dicfo, 3 peephole grads
    state: [1, 6],
    pack: (W, R, bias, U) => {
      const idx = icfoIndex(tf, U);
      return { idx, w: tf.gather(tf.concat([W, R], 0), idx, 1) as Tensor2D, bias: tf.gather(bias, idx) as Tensor1D, peep: tf.zeros([U]) };
    },
    weights: (p) => [p.w, p.peep, p.peep, p.peep, p.bias],
    backward: (p, D, U, op) => {
      const wh = tf.slice(p.w, [D, 0], [U, 4 * U]) as Tensor2D;
      return { keep: (g) => [g[1]!], before: (g) => [g[0]!, op.matMul(g[1]!, wh, false, true)] };
    },
    grads: ({ X, Hprev, kept: [dicfo], p, T, B, D, U }) => {
      const dZ = tf.reshape(dicfo!, [T * B, 4 * U]) as Tensor2D;
      const xh = tf.concat([X, tf.reshape(Hprev, [T * B, U])], 1) as Tensor2D;
      const dWfull = tf.gather(tf.matMul(xh, dZ, true, false), p.idx, 1);
      const [dW, dR] = tf.split(dWfull, [D, U], 0);
      const db = tf.gather(tf.sum(dZ, 0), p.idx);
      const wx = tf.slice(p.w, [0, 0], [D, 4 * U]) as Tensor2D;
      const dx = tf.transpose(tf.reshape(tf.matMul(dZ, wx, false, true), [T, B, D]), [1, 0, 2]);
      return [dx, dW!, dR!, db];
    },
  };
  return blockKernelOp(tf, k, cell, o);
}

/**
 * GRU on TensorFlow's GRUBlockCell / GRUBlockCellGrad: one kernel per step each way. TensorFlow orders the
 * gates r, u (u = tfjs's z) and keeps the candidate's weights apart; tfjs packs z, r, h.
 */
export function gruKernelOp(tf: TF, k: TfOps, o: OpOptions = LAST_STATE): Op {
  const attrs = [{ name: 'T', type: k.binding.TF_ATTR_TYPE, value: k.binding.TF_FLOAT }];
  type Packed = { wru: Tensor2D; wc: Tensor2D; bru: Tensor1D; bc: Tensor1D };
  const cell: BlockCell<Packed> = {
    forward: { name: 'GRUBlockCell', attrs, outputs: 4 }, // r, u, c, h
    grad: { name: 'GRUBlockCellGrad', attrs, outputs: 4 }, // d_x, d_h_prev, d_c_bar, d_r_bar_u_bar
    state: [3],
    pack: (W, R, bias) => {
      const [wz, wr, wh] = tf.split(W, 3, 1) as Tensor2D[];
      const [rz, rr, rh] = tf.split(R, 3, 1) as Tensor2D[];
      const [bz, br, bh] = tf.split(bias, 3, 0) as Tensor1D[];
      return {
        wru: tf.concat([tf.concat([wr!, wz!], 1), tf.concat([rr!, rz!], 1)], 0) as Tensor2D,
        wc: tf.concat([wh!, rh!], 0) as Tensor2D,
        bru: tf.concat([br!, bz!]) as Tensor1D,
        bc: bh!,
      };
    },
    weights: (p) => [p.wru, p.wc, p.bru, p.bc],
    backward: () => ({ keep: (g) => [g[0]!, g[3]!, g[2]!], before: (g) => [g[1]!] }),
    grads: ({ X, Hprev, forward: [Rg], kept: [dxs, drus, dcs], T, B, D, U }) => {
      const dRU = tf.reshape(drus!, [T * B, 2 * U]) as Tensor2D;
      const dC = tf.reshape(dcs!, [T * B, U]) as Tensor2D;
      const dwru = tf.matMul(tf.concat([X, tf.reshape(Hprev, [T * B, U])], 1), dRU, true, false);
      const dwc = tf.matMul(tf.concat([X, tf.reshape(tf.mul(Rg!, Hprev), [T * B, U])], 1), dC, true, false);
      const [dwr, dwz] = tf.split(dwru, 2, 1);
      const dWfull = tf.concat([dwz!, dwr!, dwc], 1);
      const [dW, dR] = tf.split(dWfull, [D, U], 0);
      const [dbr, dbz] = tf.split(tf.sum(dRU, 0), 2, 0);
      const db = tf.concat([dbz!, dbr!, tf.sum(dC, 0)]);
      const dx = tf.transpose(dxs!, [1, 0, 2]);
      return [dx, dW!, dR!, db];
    },
  };
  return blockKernelOp(tf, k, cell, o);
}
