/**
 * What every fused op shares, whichever kernels it runs on: its type ({@link Op}), what it returns
 * ({@link OpOptions}), the scaffold of an op computed with tfjs or TensorFlow ops and a hand-written backward
 * ({@link tapedOp}), the few step ops on the native backend ({@link stepOps}), and small tensor helpers.
 */
import type { Tensor, Tensor1D, Tensor2D, Tensor3D } from '@tensorflow/tfjs';
import { tfOps, type TF } from '../../backend/index.js';

/** x [B, T, D], W, R, b → the last state [B, U], or the output sequence [B, T, U] (see {@link OpOptions}). */
export type Op = (x: Tensor3D, W: Tensor2D, R: Tensor2D, b: Tensor1D) => Tensor2D | Tensor3D;

/** What a fused op returns. */
export interface OpOptions {
  /** Every step's output [B, T, U] (tfjs-layers' returnSequences), batch-major; else the last state [B, U]. */
  sequences: boolean;
}

export const LAST_STATE: OpOptions = Object.freeze({ sequences: false });

/** An op's inputs x, W, R, b, as its forward gets them and its backward gets them back. */
export type OpInputs = [x: Tensor3D, W: Tensor2D, R: Tensor2D, b: Tensor1D];

/** What a forward returns: the op's value, and the tensors its backward needs besides the inputs (a type, not an interface: tf.tidy returns it). */
export type Forward = { y: Tensor2D | Tensor3D; saved: Tensor[] };

/**
 * An op through `tf.customGrad`: `forward` runs in a tidy; the inputs and what it saves are kept for
 * `backward` (only while a gradient tape records), which returns [dx, dW, dR, db] for the gradient dy of the value.
 */
export function tapedOp(
  tf: TF,
  forward: (...inputs: OpInputs) => Forward,
  backward: (dy: Tensor, inputs: OpInputs, saved: Tensor[]) => Tensor[],
): Op {
  return tf.customGrad((...args: unknown[]) => {
    const [x, W, R, b, save] = args as [...OpInputs, (t: Tensor[]) => void];
    const { y, saved } = tf.tidy(() => forward(x, W, R, b));
    save([x, W, R, b, ...saved]);
    for (const t of saved) t.dispose();
    return {
      value: y,
      gradFunc: (dy: Tensor, kept: Tensor[]) => {
        const [xs, Ws, Rs, bs, ...rest] = kept;
        return backward(dy, [xs, Ws, Rs, bs] as OpInputs, rest);
      },
    };
  }) as unknown as Op;
}

/** Shifts a stacked [T, B, U] sequence one step later, with zeros at t = 0 (the h_{t-1} of each step). */
export function previous(tf: TF, seq: Tensor3D): Tensor3D {
  const [T, B, U] = seq.shape;
  return tf.concat([tf.zeros([1, B, U]), tf.slice(seq, [0, 0, 0], [T - 1, B, U])], 0) as Tensor3D;
}

/** x [B, T, D] → time-major rows [T·B, D]. */
export function timeMajorRows(tf: TF, x: Tensor3D): Tensor2D {
  const [B, T, D] = x.shape;
  return tf.reshape(tf.transpose(x, [1, 0, 2]), [T * B, D]);
}

/**
 * The gradient reaching step t's output from outside the recurrence, or undefined: for the last state, dy at
 * the last step only; for the output sequence, dy[:, t] at every step.
 */
export function outputGrads(tf: TF, dy: Tensor, T: number, o: OpOptions): (t: number) => Tensor2D | undefined {
  if (!o.sequences) return (t) => (t === T - 1 ? (dy as Tensor2D) : undefined);
  const dys = tf.unstack(dy, 1) as Tensor2D[];
  return (t) => dys[t];
}

/** A step's output as the op returns it: the stacked [T, B, U] states batch-major, or the last one. */
export function output(tf: TF, H: Tensor3D, h: Tensor2D, o: OpOptions): Tensor2D | Tensor3D {
  return o.sequences ? (tf.transpose(H, [1, 0, 2]) as Tensor3D) : h;
}

/**
 * The few ops a recurrent step needs, 2-D only. On the native backend they are TensorFlow's own ops called
 * by name (a tfjs `matMul` goes through BatchMatMul and reshapes: ~110 µs here, where TensorFlow's MatMul
 * takes ~30 µs; `tanh` 32 µs through the tfjs engine against 10 µs direct); elsewhere tfjs ops.
 */
export interface StepOps {
  matMul(a: Tensor, b: Tensor, transposeA?: boolean, transposeB?: boolean): Tensor2D;
  add(a: Tensor, b: Tensor): Tensor2D;
  mul(a: Tensor, b: Tensor): Tensor2D;
  tanh(a: Tensor): Tensor2D;
  /** a + d, or a when there is no d (a step's state gradient plus the gradient its output receives, if any). */
  plus(a: Tensor2D, d: Tensor2D | undefined): Tensor2D;
}

export function stepOps(tf: TF): StepOps {
  const k = tfOps(tf);
  if (!k) {
    const add = (a: Tensor, b: Tensor): Tensor2D => tf.add(a, b) as Tensor2D;
    return {
      matMul: (a, b, ta = false, tb = false) => tf.matMul(a as Tensor2D, b as Tensor2D, ta, tb),
      add,
      mul: (a, b) => tf.mul(a, b) as Tensor2D,
      tanh: (a) => tf.tanh(a) as Tensor2D,
      plus: (a, d) => (d ? add(a, d) : a),
    };
  }
  const T = { name: 'T', type: k.binding.TF_ATTR_TYPE, value: k.binding.TF_FLOAT };
  const mm = (ta: boolean, tb: boolean) => [
    T,
    { name: 'transpose_a', type: k.binding.TF_ATTR_BOOL, value: ta },
    { name: 'transpose_b', type: k.binding.TF_ATTR_BOOL, value: tb },
  ];
  const attrs = { ff: mm(false, false), ft: mm(false, true), tf: mm(true, false), tt: mm(true, true) };
  const add = (a: Tensor, b: Tensor): Tensor2D => k.executeSingleOutput('AddV2', [T], [a, b]) as Tensor2D;
  return {
    matMul: (a, b, ta = false, tb = false) =>
      k.executeSingleOutput('MatMul', attrs[`${ta ? 't' : 'f'}${tb ? 't' : 'f'}`], [a, b]) as Tensor2D,
    add,
    mul: (a, b) => k.executeSingleOutput('Mul', [T], [a, b]) as Tensor2D,
    tanh: (a) => k.executeSingleOutput('Tanh', [T], [a]) as Tensor2D,
    plus: (a, d) => (d ? add(a, d) : a),
  };
}
