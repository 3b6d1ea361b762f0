/**
 * The fused ops on tfjs ops, for any backend: all timesteps' input projections are one large matMul before the
 * loop, a step is only h·R plus the gate math, and the weight and input gradients are single large matMuls over
 * the stacked per-step gate gradients after the loop. SimpleRNN runs this way on the native backend too (its
 * step ops are TensorFlow's, called by name: {@link stepOps}); LSTM and GRU run there on TensorFlow's block
 * kernels instead (tf-block.ts).
 */
import type { Tensor, Tensor1D, Tensor2D, Tensor3D } from '@tensorflow/tfjs';
import type { TF } from '../../backend/index.js';
import { LAST_STATE, output, outputGrads, previous, stepOps, tapedOp, timeMajorRows, type Op, type OpOptions } from './op.js';

/** All timesteps' input projections x·W + b as T tensors [B, G]. */
function projectInputs(tf: TF, x: Tensor3D, W: Tensor2D, b: Tensor1D): Tensor2D[] {
  const [B, T] = x.shape;
  const G = W.shape[1];
  const xw = tf.add(tf.matMul(timeMajorRows(tf, x), W), b);
  return tf.unstack(tf.reshape(xw, [T, B, G])) as Tensor2D[];
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

/** SimpleRNN: h_t = tanh(x_t W + h_{t-1} R + b). */
export function simpleRnnOp(tf: TF, o: OpOptions = LAST_STATE): Op {
  const op = stepOps(tf);
  return tapedOp(
    tf,
    (x, W, R, b) => {
      const xs = projectInputs(tf, x, W, b);
      let h = op.tanh(xs[0]!);
      const hs: Tensor2D[] = [h];
      for (let t = 1; t < xs.length; t++) {
        h = op.tanh(op.add(xs[t]!, op.matMul(h, R)));
        hs.push(h);
      }
      const H = tf.stack(hs) as Tensor3D;
      return { y: output(tf, H, h, o), saved: [H] };
    },
    (dy, [x, W, R], saved) => {
      const H = saved[0] as Tensor3D;
      const [T, , U] = H.shape;
      const D = tf.unstack(tf.sub(1, tf.square(H))) as Tensor2D[];
      const dzs: Tensor2D[] = new Array(T);
      const dys = outputGrads(tf, dy, T, o);
      let dh = dys(T - 1)!;
      for (let t = T - 1; t >= 0; t--) {
        const dz = op.mul(dh, D[t]!);
        dzs[t] = dz;
        if (t > 0) dh = op.plus(op.matMul(dz, R, false, true), dys(t - 1));
      }
      return gradsFromSteps(tf, x, W, H, dzs, U);
    },
  );
}

/**
 * LSTM (gates i, f, c, o as in tfjs and Keras): the candidate's tanh is computed as 2·sigmoid(2z) − 1,
 * so one sigmoid covers all four gates per step (the candidate columns of W, R and b are doubled).
 */
export function lstmOp(tf: TF, o: OpOptions = LAST_STATE): Op {
  return tapedOp(
    tf,
    (x, W, R, b) => {
      const U = R.shape[0];
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
      return { y: output(tf, H, h!, o), saved: [tf.stack(ss), tf.stack(cs), H] };
    },
    (dy, [x, W, R], saved) => {
      const [S, C, H] = saved as Tensor3D[];
      const U = R.shape[0];
      const T = C!.shape[0];
      const TC = tf.tanh(C!);
      const tc = tf.unstack(TC) as Tensor2D[];
      const dtc = tf.unstack(tf.sub(1, tf.square(TC))) as Tensor2D[];
      // d gate / d pre-activation, in the i, f, c, o layout: s(1 − s), and 1 − g² = 4·s(1 − s) for the candidate.
      const dscale = tf.concat([tf.ones([2 * U]), tf.fill([U], 4), tf.ones([U])]);
      const DS = tf.unstack(tf.mul(tf.mul(S!, tf.sub(1, S!)), dscale)) as Tensor2D[];
      const [I, F, SC, O] = tf.split(S!, 4, 2) as Tensor3D[];
      const iS = tf.unstack(I!) as Tensor2D[];
      const fS = tf.unstack(F!) as Tensor2D[];
      const gS = tf.unstack(tf.sub(tf.mul(SC!, 2), 1)) as Tensor2D[];
      const oS = tf.unstack(O!) as Tensor2D[];
      const cPrev = tf.unstack(previous(tf, C!)) as Tensor2D[];
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
          const dhR = tf.matMul(dz, R, false, true);
          dh = (dyPrev ? tf.add(dhR, dyPrev) : dhR) as Tensor2D;
          dc = tf.mul(dct, fS[t]!) as Tensor2D;
        }
      }
      return gradsFromSteps(tf, x, W, H!, dzs, 4 * U);
    },
  );
}

/** GRU, tfjs's (reset_after=false) form, gates z, r, h: h_t = z·h_{t-1} + (1 − z)·tanh(x W_h + (r·h_{t-1}) R_h + b_h). */
export function gruOp(tf: TF, o: OpOptions = LAST_STATE): Op {
  return tapedOp(
    tf,
    (x, W, R, b) => {
      const U = R.shape[0];
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
      return { y: output(tf, H, h!, o), saved: [tf.stack(zrs), tf.stack(hhs), H, tf.stack(rhs)] };
    },
    (dy, [x, W, R], saved) => {
      const [ZR, HH, H, RH] = saved as Tensor3D[];
      const U = R.shape[0];
      const [T, B] = HH!.shape;
      const [Rzr, Rh] = tf.split(R, [2 * U, U], 1) as Tensor2D[];
      const [Z, Rg] = tf.split(ZR!, 2, 2) as Tensor3D[];
      const Hprev = previous(tf, H!);
      const zS = tf.unstack(Z!) as Tensor2D[];
      const rS = tf.unstack(Rg!) as Tensor2D[];
      const dzrS = tf.unstack(tf.mul(ZR!, tf.sub(1, ZR!))) as Tensor2D[];
      // dh/dhh_pre = (1 − z)(1 − hh²); dh/dz = h_{t-1} − hh.
      const dhhS = tf.unstack(tf.mul(tf.sub(1, Z!), tf.sub(1, tf.square(HH!)))) as Tensor2D[];
      const hmhhS = tf.unstack(tf.sub(Hprev, HH!)) as Tensor2D[];
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
      const dRh = tf.matMul(tf.reshape(RH!, [T * B, U]), dHH, true, false);
      const { dx, dW, db } = weightGrads(tf, x, W, tf.concat([dZR, dHH], 1) as Tensor2D);
      return [dx, dW, tf.concat([dRzr, dRh], 1), db];
    },
  );
}
