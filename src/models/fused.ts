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
 * {@link fuseRecurrentLayers}), the whole sequence is one call into the addon each way instead
 * ({@link onednnOp}), on any backend, for a layer returning its last state.
 *
 * Each op returns the last state [B, U] or, built with `{ sequences: true }`, every step's output [B, T, U]
 * (returnSequences); a goBackwards layer runs it on its input reversed in time, as tfjs-layers does. So
 * Bidirectional and pooled models (their layers inside a Bidirectional, returning sequences) run fused too.
 *
 * Supported configuration (anything else keeps the stock `call`): returnState and stateful false; no
 * dropout; bias on; activation tanh; recurrent activation sigmoid (LSTM/GRU); no mask and no initial state
 * passed at call time. GRU is tfjs's reset_after=false GRU.
 */
import type { LayersModel, Tensor, Tensor1D, Tensor2D, Tensor3D, layers } from '@tensorflow/tfjs';
import { tfOps, type TF, type TfOps } from '../backend/index.js';
import { SequenceCache, type Kernels, type OnednnAddon, type OnednnSequence } from '../kernels/index.js';
import { cellOfLayerClass, type CellType } from '../cells.js';

type Layer = layers.Layer;
/** x [B, T, D], W, R, b → the last state [B, U], or the output sequence [B, T, U] (see {@link OpOptions}). */
type Op = (x: Tensor3D, W: Tensor2D, R: Tensor2D, b: Tensor1D) => Tensor2D | Tensor3D;

/** What a fused op returns. */
export interface OpOptions {
  /** Every step's output [B, T, U] (tfjs-layers' returnSequences), batch-major; else the last state [B, U]. */
  sequences: boolean;
}

const LAST_STATE: OpOptions = Object.freeze({ sequences: false });

interface RnnCellVars {
  kernel: { read(): Tensor2D };
  recurrentKernel: { read(): Tensor2D };
  bias: { read(): Tensor1D } | null;
}

/** Shifts a stacked [T, B, U] sequence one step later, with zeros at t = 0 (the h_{t-1} of each step). */
function previous(tf: TF, seq: Tensor3D): Tensor3D {
  const [T, B, U] = seq.shape;
  return tf.concat([tf.zeros([1, B, U]), tf.slice(seq, [0, 0, 0], [T - 1, B, U])], 0) as Tensor3D;
}

/** x [B, T, D] → time-major rows [T·B, D]. */
function timeMajorRows(tf: TF, x: Tensor3D): Tensor2D {
  const [B, T, D] = x.shape;
  return tf.reshape(tf.transpose(x, [1, 0, 2]), [T * B, D]);
}

/** Gradients that every cell shares once the per-step pre-activation gradients dZ [T·B, G] are stacked. */
function weightGrads(tf: TF, x: Tensor3D, W: Tensor2D, dZ: Tensor2D): { dx: Tensor3D; dW: Tensor2D; db: Tensor1D } {
  const [B, T, D] = x.shape;
  const dW = tf.matMul(timeMajorRows(tf, x), dZ, true, false) as Tensor2D;
  const db = tf.sum(dZ, 0) as Tensor1D;
  const dx = tf.transpose(tf.reshape(tf.matMul(dZ, W, false, true), [T, B, D]), [1, 0, 2]) as Tensor3D;
  return { dx, dW, db };
}

/** [dx, dW, dR, db] from the per-step pre-activation gradients of a cell whose recurrent input is h_{t-1}. */
function gradsFromSteps(tf: TF, x: Tensor3D, W: Tensor2D, H: Tensor3D, dzs: Tensor[], G: number): Tensor[] {
  const [T, B, U] = H.shape;
  const dZ = tf.reshape(tf.stack(dzs), [T * B, G]) as Tensor2D;
  const dR = tf.matMul(tf.reshape(previous(tf, H), [T * B, U]), dZ, true, false);
  const { dx, dW, db } = weightGrads(tf, x, W, dZ);
  return [dx, dW, dR, db];
}

/**
 * The gradient reaching step t's output from outside the recurrence, or undefined: for the last state, dy at
 * the last step only; for the output sequence, dy[:, t] at every step.
 */
function outputGrads(tf: TF, dy: Tensor, T: number, o: OpOptions): (t: number) => Tensor2D | undefined {
  if (!o.sequences) return (t) => (t === T - 1 ? (dy as Tensor2D) : undefined);
  const dys = tf.unstack(dy, 1) as Tensor2D[];
  return (t) => dys[t];
}

/** A step's output as the op returns it: the stacked [T, B, U] states batch-major, or the last one. */
function output(tf: TF, H: Tensor3D, h: Tensor2D, o: OpOptions): Tensor2D | Tensor3D {
  return o.sequences ? (tf.transpose(H, [1, 0, 2]) as Tensor3D) : h;
}

/** All timesteps' input projections x·W + b as T tensors [B, G]. */
function projectInputs(tf: TF, x: Tensor3D, W: Tensor2D, b: Tensor1D): Tensor2D[] {
  const [B, T] = x.shape;
  const G = W.shape[1];
  const xw = tf.add(tf.matMul(timeMajorRows(tf, x), W), b);
  return tf.unstack(tf.reshape(xw, [T, B, G])) as Tensor2D[];
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
}

export function stepOps(tf: TF): StepOps {
  const k = tfOps(tf);
  if (!k) {
    return {
      matMul: (a, b, ta = false, tb = false) => tf.matMul(a as Tensor2D, b as Tensor2D, ta, tb),
      add: (a, b) => tf.add(a, b) as Tensor2D,
      mul: (a, b) => tf.mul(a, b) as Tensor2D,
      tanh: (a) => tf.tanh(a) as Tensor2D,
    };
  }
  const T = { name: 'T', type: k.binding.TF_ATTR_TYPE, value: k.binding.TF_FLOAT };
  const mm = (ta: boolean, tb: boolean) => [
    T,
    { name: 'transpose_a', type: k.binding.TF_ATTR_BOOL, value: ta },
    { name: 'transpose_b', type: k.binding.TF_ATTR_BOOL, value: tb },
  ];
  const attrs = { ff: mm(false, false), ft: mm(false, true), tf: mm(true, false), tt: mm(true, true) };
  return {
    matMul: (a, b, ta = false, tb = false) =>
      k.executeSingleOutput('MatMul', attrs[`${ta ? 't' : 'f'}${tb ? 't' : 'f'}`], [a, b]) as Tensor2D,
    add: (a, b) => k.executeSingleOutput('AddV2', [T], [a, b]) as Tensor2D,
    mul: (a, b) => k.executeSingleOutput('Mul', [T], [a, b]) as Tensor2D,
    tanh: (a) => k.executeSingleOutput('Tanh', [T], [a]) as Tensor2D,
  };
}

/** SimpleRNN: h_t = tanh(x_t W + h_{t-1} R + b). */
export function simpleRnnOp(tf: TF, o: OpOptions = LAST_STATE): Op {
  const op = stepOps(tf);
  const plus = (a: Tensor2D, b: Tensor2D | undefined): Tensor2D => (b ? op.add(a, b) : a);
  return tf.customGrad((...args: unknown[]) => {
    const [x, W, R, b, save] = args as [Tensor3D, Tensor2D, Tensor2D, Tensor1D, (t: Tensor[]) => void];
    const { y, H } = tf.tidy(() => {
      const xs = projectInputs(tf, x, W, b);
      let h = op.tanh(xs[0]!);
      const hs: Tensor2D[] = [h];
      for (let t = 1; t < xs.length; t++) {
        h = op.tanh(op.add(xs[t]!, op.matMul(h, R)));
        hs.push(h);
      }
      const H = tf.stack(hs) as Tensor3D;
      return { y: output(tf, H, h, o), H };
    });
    save([x, W, R, H]);
    H.dispose();
    return {
      value: y,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [xs, Ws, Rs, Hs] = saved as [Tensor3D, Tensor2D, Tensor2D, Tensor3D];
        const [T, , U] = Hs.shape;
        const D = tf.unstack(tf.sub(1, tf.square(Hs))) as Tensor2D[];
        const dzs: Tensor2D[] = new Array(T);
        const dys = outputGrads(tf, dy, T, o);
        let dh = dys(T - 1)!;
        for (let t = T - 1; t >= 0; t--) {
          const dz = op.mul(dh, D[t]!);
          dzs[t] = dz;
          if (t > 0) dh = plus(op.matMul(dz, Rs, false, true), dys(t - 1));
        }
        return gradsFromSteps(tf, xs, Ws, Hs, dzs, U);
      },
    };
  }) as unknown as Op;
}

/**
 * LSTM (gates i, f, c, o as in tfjs and Keras): the candidate's tanh is computed as 2·sigmoid(2z) − 1,
 * so one sigmoid covers all four gates per step (the candidate columns of W, R and b are doubled).
 */
export function lstmOp(tf: TF, o: OpOptions = LAST_STATE): Op {
  return tf.customGrad((...args: unknown[]) => {
    const [x, W, R, b, save] = args as [Tensor3D, Tensor2D, Tensor2D, Tensor1D, (t: Tensor[]) => void];
    const U = R.shape[0];
    const { y, S, C, H } = tf.tidy(() => {
      const scale = tf.concat([tf.ones([2 * U]), tf.fill([U], 2), tf.ones([U])]);
      const xs = projectInputs(tf, x, tf.mul(W, scale), tf.mul(b, scale));
      const Rs = tf.mul(R, scale);
      const ss: Tensor2D[] = [];
      const cs: Tensor2D[] = [];
      const hs: Tensor2D[] = [];
      let h: Tensor2D | undefined;
      let c: Tensor2D | undefined;
      for (let t = 0; t < xs.length; t++) {
        const s = tf.sigmoid(h ? tf.add(xs[t]!, tf.matMul(h, Rs)) : xs[t]!) as Tensor2D;
        const [i, f, sc, o] = tf.split(s, 4, 1) as Tensor2D[];
        const g = tf.sub(tf.mul(sc!, 2), 1);
        c = (c ? tf.add(tf.mul(f!, c), tf.mul(i!, g)) : tf.mul(i!, g)) as Tensor2D;
        h = tf.mul(o!, tf.tanh(c)) as Tensor2D;
        ss.push(s);
        cs.push(c);
        hs.push(h);
      }
      const H = tf.stack(hs) as Tensor3D;
      return { y: output(tf, H, h!, o), S: tf.stack(ss) as Tensor3D, C: tf.stack(cs) as Tensor3D, H };
    });
    save([x, W, R, S, C, H]);
    for (const t of [S, C, H]) t.dispose();
    return {
      value: y,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [xs, Ws, Rs, Ss, Cs, Hs] = saved as [Tensor3D, Tensor2D, Tensor2D, Tensor3D, Tensor3D, Tensor3D];
        const T = Cs.shape[0];
        const TC = tf.tanh(Cs);
        const tc = tf.unstack(TC) as Tensor2D[];
        const dtc = tf.unstack(tf.sub(1, tf.square(TC))) as Tensor2D[];
        // d gate / d pre-activation, in the i, f, c, o layout: s(1 − s), and 1 − g² = 4·s(1 − s) for the candidate.
        const dscale = tf.concat([tf.ones([2 * U]), tf.fill([U], 4), tf.ones([U])]);
        const DS = tf.unstack(tf.mul(tf.mul(Ss, tf.sub(1, Ss)), dscale)) as Tensor2D[];
        const [I, F, SC, O] = tf.split(Ss, 4, 2) as Tensor3D[];
        const iS = tf.unstack(I!) as Tensor2D[];
        const fS = tf.unstack(F!) as Tensor2D[];
        const gS = tf.unstack(tf.sub(tf.mul(SC!, 2), 1)) as Tensor2D[];
        const oS = tf.unstack(O!) as Tensor2D[];
        const cPrev = tf.unstack(previous(tf, Cs)) as Tensor2D[];
        const dzs: Tensor2D[] = new Array(T);
        const dys = outputGrads(tf, dy, T, o);
        let dh = dys(T - 1)!;
        let dc: Tensor2D | undefined;
        for (let t = T - 1; t >= 0; t--) {
          const dO = tf.mul(dh, tc[t]!);
          const fromH = tf.mul(tf.mul(dh, oS[t]!), dtc[t]!);
          const dct = dc ? tf.add(dc, fromH) : fromH;
          const dA = tf.concat([tf.mul(dct, gS[t]!), tf.mul(dct, cPrev[t]!), tf.mul(dct, iS[t]!), dO], 1);
          const dz = tf.mul(dA, DS[t]!) as Tensor2D;
          dzs[t] = dz;
          if (t > 0) {
            const dyPrev = dys(t - 1);
            const dhR = tf.matMul(dz, Rs, false, true);
            dh = (dyPrev ? tf.add(dhR, dyPrev) : dhR) as Tensor2D;
            dc = tf.mul(dct, fS[t]!) as Tensor2D;
          }
        }
        return gradsFromSteps(tf, xs, Ws, Hs, dzs, 4 * U);
      },
    };
  }) as unknown as Op;
}

/** GRU, tfjs's (reset_after=false) form, gates z, r, h: h_t = z·h_{t-1} + (1 − z)·tanh(x W_h + (r·h_{t-1}) R_h + b_h). */
export function gruOp(tf: TF, o: OpOptions = LAST_STATE): Op {
  return tf.customGrad((...args: unknown[]) => {
    const [x, W, R, b, save] = args as [Tensor3D, Tensor2D, Tensor2D, Tensor1D, (t: Tensor[]) => void];
    const U = R.shape[0];
    const { y, ZR, HH, H, RH } = tf.tidy(() => {
      const xs = projectInputs(tf, x, W, b);
      const [Rzr, Rh] = tf.split(R, [2 * U, U], 1) as Tensor2D[];
      const zrs: Tensor2D[] = [];
      const hhs: Tensor2D[] = [];
      const hs: Tensor2D[] = [];
      const rhs: Tensor2D[] = [];
      let h: Tensor2D | undefined;
      for (let t = 0; t < xs.length; t++) {
        const [xzr, xh] = tf.split(xs[t]!, [2 * U, U], 1) as Tensor2D[];
        const zr = tf.sigmoid(h ? tf.add(xzr!, tf.matMul(h, Rzr!)) : xzr!) as Tensor2D;
        const [z, r] = tf.split(zr, 2, 1) as Tensor2D[];
        const rh = (h ? tf.mul(r!, h) : tf.zerosLike(r!)) as Tensor2D;
        const hh = tf.tanh(h ? tf.add(xh!, tf.matMul(rh, Rh!)) : xh!) as Tensor2D;
        h = (h ? tf.add(hh, tf.mul(z!, tf.sub(h, hh))) : tf.sub(hh, tf.mul(z!, hh))) as Tensor2D;
        zrs.push(zr);
        hhs.push(hh);
        hs.push(h);
        rhs.push(rh);
      }
      const H = tf.stack(hs) as Tensor3D;
      return {
        y: output(tf, H, h!, o),
        ZR: tf.stack(zrs) as Tensor3D,
        HH: tf.stack(hhs) as Tensor3D,
        H,
        RH: tf.stack(rhs) as Tensor3D,
      };
    });
    save([x, W, R, ZR, HH, H, RH]);
    for (const t of [ZR, HH, H, RH]) t.dispose();
    return {
      value: y,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [xs, Ws, Rs, ZRs, HHs, Hs, RHs] = saved as [Tensor3D, Tensor2D, Tensor2D, Tensor3D, Tensor3D, Tensor3D, Tensor3D];
        const [T, B] = HHs.shape;
        const [Rzr, Rh] = tf.split(Rs, [2 * U, U], 1) as Tensor2D[];
        const [Z, Rg] = tf.split(ZRs, 2, 2) as Tensor3D[];
        const Hprev = previous(tf, Hs);
        const zS = tf.unstack(Z!) as Tensor2D[];
        const rS = tf.unstack(Rg!) as Tensor2D[];
        const dzrS = tf.unstack(tf.mul(ZRs, tf.sub(1, ZRs))) as Tensor2D[];
        // dh/dhh_pre = (1 − z)(1 − hh²); dh/dz = h_{t-1} − hh.
        const dhhS = tf.unstack(tf.mul(tf.sub(1, Z!), tf.sub(1, tf.square(HHs)))) as Tensor2D[];
        const hmhhS = tf.unstack(tf.sub(Hprev, HHs)) as Tensor2D[];
        const hPrevS = tf.unstack(Hprev) as Tensor2D[];
        const dzrs: Tensor2D[] = new Array(T);
        const dhhs: Tensor2D[] = new Array(T);
        const dys = outputGrads(tf, dy, T, o);
        let dh = dys(T - 1)!;
        for (let t = T - 1; t >= 0; t--) {
          const dhhPre = tf.mul(dh, dhhS[t]!) as Tensor2D;
          const drh = t > 0 ? tf.matMul(dhhPre, Rh!, false, true) : undefined;
          const dr = drh ? tf.mul(drh, hPrevS[t]!) : tf.zerosLike(dh);
          const dzrPre = tf.mul(tf.concat([tf.mul(dh, hmhhS[t]!), dr], 1), dzrS[t]!) as Tensor2D;
          dzrs[t] = dzrPre;
          dhhs[t] = dhhPre;
          if (drh) {
            const dyPrev = dys(t - 1);
            const terms = [tf.mul(dh, zS[t]!), tf.mul(drh, rS[t]!), tf.matMul(dzrPre, Rzr!, false, true)];
            dh = tf.addN(dyPrev ? [...terms, dyPrev] : terms) as Tensor2D;
          }
        }
        const dZR = tf.reshape(tf.stack(dzrs), [T * B, 2 * U]) as Tensor2D;
        const dHH = tf.reshape(tf.stack(dhhs), [T * B, U]) as Tensor2D;
        const dRzr = tf.matMul(tf.reshape(Hprev, [T * B, U]), dZR, true, false);
        const dRh = tf.matMul(tf.reshape(RHs, [T * B, U]), dHH, true, false);
        const { dx, dW, db } = weightGrads(tf, xs, Ws, tf.concat([dZR, dHH], 1) as Tensor2D);
        return [dx, dW, tf.concat([dRzr, dRh], 1), db];
      },
    };
  }) as unknown as Op;
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
  const op = stepOps(tf);
  const plus = (a: Tensor2D, d: Tensor2D | undefined): Tensor2D => (d ? op.add(a, d) : a);
  const cellAttrs = [
    { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
    { name: 'forget_bias', type: b.TF_ATTR_FLOAT, value: 0 },
    { name: 'cell_clip', type: b.TF_ATTR_FLOAT, value: -1 },
    { name: 'use_peephole', type: b.TF_ATTR_BOOL, value: false },
  ];
  const gradAttrs = [
    { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
    { name: 'use_peephole', type: b.TF_ATTR_BOOL, value: false },
  ];
  const packed = (W: Tensor2D, R: Tensor2D, bias: Tensor1D, U: number) => {
    const idx = icfoIndex(tf, U);
    return { idx, w: tf.gather(tf.concat([W, R], 0), idx, 1) as Tensor2D, bias: tf.gather(bias, idx) as Tensor1D, peep: tf.zeros([U]) };
  };
  return tf.customGrad((...args: unknown[]) => {
    const [x, W, R, bias, save] = args as [Tensor3D, Tensor2D, Tensor2D, Tensor1D, (t: Tensor[]) => void];
    const B = x.shape[0];
    const U = R.shape[0];
    const { y, stacks } = tf.tidy(() => {
      const p = packed(W, R, bias, U);
      const xs = tf.unstack(tf.transpose(x, [1, 0, 2])) as Tensor2D[];
      let cs: Tensor = tf.zeros([B, U]);
      let h: Tensor = tf.zeros([B, U]);
      const seq: Tensor[][] = [[], [], [], [], [], [], []];
      for (const xt of xs) {
        const out = k.executeMultipleOutputs('LSTMBlockCell', cellAttrs, [xt, cs, h, p.w, p.peep, p.peep, p.peep, p.bias], 7);
        out.forEach((t, j) => seq[j]!.push(t));
        cs = out[1]!;
        h = out[6]!;
      }
      const stacks = seq.map((s) => tf.stack(s) as Tensor3D);
      return { y: output(tf, stacks[6]!, h as Tensor2D, o), stacks };
    });
    save([x, W, R, bias, ...stacks]);
    for (const t of stacks) t.dispose();
    return {
      value: y,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [xs3, Ws, Rs, bs, ...st] = saved as [Tensor3D, Tensor2D, Tensor2D, Tensor1D, ...Tensor3D[]];
        const [Is, CSs, Fs, Os, CIs, COs, Hs] = st as Tensor3D[];
        const [Bn, T, Dn] = xs3.shape;
        const p = packed(Ws, Rs, bs, U);
        const wh = tf.slice(p.w, [Dn, 0], [U, 4 * U]) as Tensor2D;
        const xs = tf.unstack(tf.transpose(xs3, [1, 0, 2]));
        const [i, cs, f, og, ci, co] = [Is, CSs, Fs, Os, CIs, COs].map((s) => tf.unstack(s!));
        const Hprev = previous(tf, Hs!);
        const hPrev = tf.unstack(Hprev);
        const csPrev = tf.unstack(previous(tf, CSs!));
        const dzs: Tensor[] = new Array(T);
        const dys = outputGrads(tf, dy, T, o);
        let dh: Tensor = dys(T - 1)!;
        let dcs: Tensor = tf.zeros([Bn, U]);
        for (let t = T - 1; t >= 0; t--) {
          const [dcsPrev, dicfo] = k.executeMultipleOutputs(
            'LSTMBlockCellGrad',
            gradAttrs,
            [
              xs[t]!,
              csPrev[t]!,
              hPrev[t]!,
              p.w,
              p.peep,
              p.peep,
              p.peep,
              p.bias,
              i![t]!,
              cs![t]!,
              f![t]!,
              og![t]!,
              ci![t]!,
              co![t]!,
              dcs,
              dh,
            ],
            5,
          );
          dzs[t] = dicfo!;
          if (t > 0) {
            dh = plus(op.matMul(dicfo!, wh, false, true), dys(t - 1));
            dcs = dcsPrev!;
          }
        }
        const dZ = tf.reshape(tf.stack(dzs), [T * Bn, 4 * U]) as Tensor2D;
        const xh = tf.concat([timeMajorRows(tf, xs3), tf.reshape(Hprev, [T * Bn, U])], 1) as Tensor2D;
        const dWfull = tf.gather(tf.matMul(xh, dZ, true, false), p.idx, 1);
        const [dW, dR] = tf.split(dWfull, [Dn, U], 0);
        const db = tf.gather(tf.sum(dZ, 0), p.idx);
        const wx = tf.slice(p.w, [0, 0], [Dn, 4 * U]) as Tensor2D;
        const dx = tf.transpose(tf.reshape(tf.matMul(dZ, wx, false, true), [T, Bn, Dn]), [1, 0, 2]);
        return [dx, dW!, dR!, db];
      },
    };
  }) as unknown as Op;
}

/**
 * GRU on TensorFlow's GRUBlockCell / GRUBlockCellGrad: one kernel per step each way. TensorFlow orders the
 * gates r, u (u = tfjs's z) and keeps the candidate's weights apart; tfjs packs z, r, h.
 */
export function gruKernelOp(tf: TF, k: TfOps, o: OpOptions = LAST_STATE): Op {
  const attrs = [{ name: 'T', type: k.binding.TF_ATTR_TYPE, value: k.binding.TF_FLOAT }];
  const op = stepOps(tf);
  const plus = (a: Tensor2D, d: Tensor2D | undefined): Tensor2D => (d ? op.add(a, d) : a);
  const packed = (W: Tensor2D, R: Tensor2D, bias: Tensor1D) => {
    const [wz, wr, wh] = tf.split(W, 3, 1) as Tensor2D[];
    const [rz, rr, rh] = tf.split(R, 3, 1) as Tensor2D[];
    const [bz, br, bh] = tf.split(bias, 3, 0) as Tensor1D[];
    return {
      wru: tf.concat([tf.concat([wr!, wz!], 1), tf.concat([rr!, rz!], 1)], 0) as Tensor2D,
      wc: tf.concat([wh!, rh!], 0) as Tensor2D,
      bru: tf.concat([br!, bz!]) as Tensor1D,
      bc: bh!,
    };
  };
  return tf.customGrad((...args: unknown[]) => {
    const [x, W, R, bias, save] = args as [Tensor3D, Tensor2D, Tensor2D, Tensor1D, (t: Tensor[]) => void];
    const [B] = x.shape;
    const U = R.shape[0];
    const { y, stacks } = tf.tidy(() => {
      const p = packed(W, R, bias);
      const xs = tf.unstack(tf.transpose(x, [1, 0, 2]));
      let h: Tensor = tf.zeros([B, U]);
      const seq: Tensor[][] = [[], [], [], []];
      for (const xt of xs) {
        const out = k.executeMultipleOutputs('GRUBlockCell', attrs, [xt, h, p.wru, p.wc, p.bru, p.bc], 4);
        out.forEach((t, j) => seq[j]!.push(t));
        h = out[3]!;
      }
      const stacks = seq.map((s) => tf.stack(s) as Tensor3D);
      return { y: output(tf, stacks[3]!, h as Tensor2D, o), stacks };
    });
    save([x, W, R, bias, ...stacks]);
    for (const t of stacks) t.dispose();
    return {
      value: y,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [xs3, Ws, Rs, bs, Rg, Ug, Cg, Hs] = saved as Tensor3D[];
        const [Bn, T, Dn] = xs3!.shape;
        const p = packed(Ws as unknown as Tensor2D, Rs as unknown as Tensor2D, bs as unknown as Tensor1D);
        const xs = tf.unstack(tf.transpose(xs3!, [1, 0, 2]));
        const Hprev = previous(tf, Hs!);
        const hPrev = tf.unstack(Hprev);
        const [r, u, c] = [Rg!, Ug!, Cg!].map((s) => tf.unstack(s));
        const dxs: Tensor[] = new Array(T);
        const drus: Tensor[] = new Array(T);
        const dcs: Tensor[] = new Array(T);
        const dys = outputGrads(tf, dy, T, o);
        let dh: Tensor = dys(T - 1)!;
        for (let t = T - 1; t >= 0; t--) {
          const [dx, dhPrev, dcBar, druBar] = k.executeMultipleOutputs(
            'GRUBlockCellGrad',
            attrs,
            [xs[t]!, hPrev[t]!, p.wru, p.wc, p.bru, p.bc, r![t]!, u![t]!, c![t]!, dh],
            4,
          );
          dxs[t] = dx!;
          drus[t] = druBar!;
          dcs[t] = dcBar!;
          if (t > 0) dh = plus(dhPrev as Tensor2D, dys(t - 1));
        }
        const dRU = tf.reshape(tf.stack(drus), [T * Bn, 2 * U]) as Tensor2D;
        const dC = tf.reshape(tf.stack(dcs), [T * Bn, U]) as Tensor2D;
        const X = timeMajorRows(tf, xs3!);
        const dwru = tf.matMul(tf.concat([X, tf.reshape(Hprev, [T * Bn, U])], 1), dRU, true, false);
        const dwc = tf.matMul(tf.concat([X, tf.reshape(tf.mul(Rg!, Hprev), [T * Bn, U])], 1), dC, true, false);
        const [dwr, dwz] = tf.split(dwru, 2, 1);
        const dWfull = tf.concat([dwz!, dwr!, dwc], 1);
        const [dW, dR] = tf.split(dWfull, [Dn, U], 0);
        const [dbr, dbz] = tf.split(tf.sum(dRU, 0), 2, 0);
        const db = tf.concat([dbz!, dbr!, tf.sum(dC, 0)]);
        const dx = tf.transpose(tf.stack(dxs), [1, 0, 2]);
        return [dx, dW!, dR!, db];
      },
    };
  }) as unknown as Op;
}

/** Sequences kept per layer (one per input shape: training batches, the last short batch, validation). */
const MAX_SEQUENCES = 6;

/**
 * The whole sequence in one call to rnn's oneDNN addon, forward and backward. Data crosses as Float32Arrays
 * (x and dx are 6.5 MB per batch of 64 × 256 × 100; reading x out of TensorFlow takes ~3 ms here, which is
 * why the lesson model's training and prediction skip this op: src/train/onednn-step.ts, src/predict/onednn.ts). With no gradient
 * tape running (predict, evaluate, validation) the inference primitive runs and nothing is saved.
 */
export function onednnOp(tf: TF, addon: OnednnAddon, cell: CellType): Op {
  const cache = new SequenceCache(addon, MAX_SEQUENCES);
  const sequence = (x: Tensor3D, U: number): OnednnSequence => cache.get(cell, x.shape[1], x.shape[0], x.shape[2], U);
  const f32 = (t: Tensor): Float32Array => t.dataSync() as Float32Array;
  const train = tf.customGrad((...args: unknown[]) => {
    const [x, W, R, b] = args as [Tensor3D, Tensor2D, Tensor2D, Tensor1D];
    const U = R.shape[0];
    const s = sequence(x, U);
    const h = s.forward(f32(x), f32(W), f32(R), f32(b), true);
    const generation = s.generation;
    return {
      value: tf.tensor2d(h, [x.shape[0], U]),
      gradFunc: (dy: Tensor) => {
        const [dx, dW, dR, db] = s.backward(f32(dy), generation);
        return [tf.tensor3d(dx, x.shape), tf.tensor2d(dW, W.shape), tf.tensor2d(dR, R.shape), tf.tensor1d(db)];
      },
    };
  }) as unknown as Op;
  return (x, W, R, b) => {
    if (tf.engine().isTapeOn()) return train(x, W, R, b);
    const U = R.shape[0];
    return tf.tensor2d(sequence(x, U).forward(f32(x), f32(W), f32(R), f32(b), false), [x.shape[0], U]);
  };
}

/** The tfjs implementation of each cell: TensorFlow's kernels on the native backend, tfjs ops elsewhere. */
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

/**
 * The op a layer runs on `kernels`. {@link onednnOp} returns only the last state, so a layer returning its
 * output sequence runs the tfjs op even with the oneDNN kernels (such a model normally runs whole on them
 * instead: src/train/onednn-step.ts, src/predict/onednn.ts).
 */
function makeOp(tf: TF, cell: CellType, kernels: Kernels, o: OpOptions): Op {
  return kernels.name === 'onednn' && !o.sequences ? onednnOp(tf, kernels.addon, cell) : OPS[cell](tf, o);
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
