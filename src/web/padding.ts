/**
 * Forward passes that compute each step once (the exported page's model runner).
 *
 * A review padded at the front ('pre') runs `maxlen - length` steps on the padding id before its own: those
 * steps see the same input for every review, so the recurrent state after k of them is the same for every
 * review of the model. {@link paddedForward} computes it once for every k (one pass of an all-padding row, step
 * by step through each recurrent layer), and each row starts from the state after its padding.
 *
 * Rows that begin alike share more than their padding: an explanation's rows are one review with one word
 * left out each, so the row without word i has the review's own ids up to i. The rows run step by step through
 * each recurrent layer, and at every step rows whose ids so far are the same are one row of the batch (a prefix
 * tree, split where their ids part): a review of n words and its n occluded rows cost about n²/2 row-steps
 * instead of (n + 1) · maxlen, and nothing is computed for the padding.
 *
 * It holds for Embedding (no mask) → unidirectional SimpleRNN/LSTM/GRU layers (stacked or not; the last one
 * returns its final output) → Dense/Dropout layers. A bidirectional layer reads the padding after the review
 * and a pooled model pools the padding's outputs too, a masked embedding skips the padding anyway and 'post'
 * padding comes after the review: those run the whole padded sequence, as `model.predict` does, and say why.
 *
 * Stock tfjs only (the page's `tf`, or tfjs-node's in the tests): the model is the one `tf.loadLayersModel`
 * reads, untouched; the steps read its layers' weights and use their activations ({@link Step}).
 */
import type * as TFJS from '@tensorflow/tfjs';
import { GATES, cellOfLayerClass } from '../cells.js';

/** What of tfjs is used (the page's global `tf`, or tfjs-node's in the tests). */
type TF = Pick<
  typeof TFJS,
  | 'tidy'
  | 'gather'
  | 'zeros'
  | 'concat'
  | 'split'
  | 'matMul'
  | 'add'
  | 'sub'
  | 'mul'
  | 'sigmoid'
  | 'tensor1d'
  | 'tensor2d'
  | 'dispose'
  | 'getBackend'
>;
type Tensor = TFJS.Tensor;
type Layer = TFJS.layers.Layer;
/** What of a tfjs-layers recurrent layer's cell is used: its activations (the weights come from the layer). */
interface Cell {
  activation: { apply(x: Tensor): Tensor };
  /** LSTM and GRU only. */
  recurrentActivation?: { apply(x: Tensor): Tensor };
}

/** What runs the model over padded rows of ids. */
export interface PaddedForward {
  /** The model's outputs for `ids` (rows of `maxlen` padded ids, row-major), as `model.predict` lays them out. */
  probabilities(ids: Int32Array): Float32Array;
  /** The same, in slices that a caller can stop between. */
  run(ids: Int32Array): ForwardRun;
  /** Whether rows run only their real steps, prefixes shared; else why not (then each row runs all `maxlen` steps). */
  shortcut: { used: true } | { used: false; reason: string };
  /** Frees the padding states. */
  dispose(): void;
}

/** What a run over rows gives when it is done. */
export interface ForwardResult {
  /** The model's outputs for the rows, as `model.predict` lays them out. */
  outputs: Float32Array;
  /**
   * Recurrent steps computed, one per row and time step (with the shortcut: once per distinct prefix, so rows
   * that share their first ids share those steps; without it: rows × maxlen).
   */
  rowSteps: number;
}

/**
 * A run of the model over rows, in slices: each `next()` computes one time step (with the shortcut) or one
 * chunk of rows (without it), so a caller can stop between them (`return()` frees what it holds).
 */
export type ForwardRun = Generator<void, ForwardResult, void>;

/** Where and with which id the model's input is padded (the model's preprocessing). */
export interface PaddingOf {
  maxlen: number;
  padding: 'pre' | 'post';
  /** The padding id (Keras's `value`; 0 unless set). */
  value?: number;
}

/** Layers after the last recurrent one that act on each row alone. */
const HEAD = new Set(['Dense', 'Dropout', 'Activation']);
/** Layers that are the identity when predicting. */
const IDENTITY = new Set(['Dropout', 'SpatialDropout1D', 'GaussianNoise', 'GaussianDropout']);

interface Plan {
  embedding: Layer;
  recurrent: (Layer & { cell: Cell })[];
  head: Layer[];
}

const configOf = (l: Layer): Record<string, unknown> => l.getConfig() as Record<string, unknown>;

/** The layers the shortcut runs, or why it does not hold for this model. */
function planOf(model: TFJS.LayersModel, pad: PaddingOf): Plan | string {
  if (pad.padding !== 'pre') return "the model is padded at the end ('post'), after the review's own steps";
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer' && !IDENTITY.has(l.getClassName()));
  const [embedding, ...rest] = layers;
  if (!embedding || embedding.getClassName() !== 'Embedding') return 'the model does not start with an Embedding';
  if (configOf(embedding).mask_zero ?? configOf(embedding).maskZero)
    return 'the embedding masks the padding (its steps are skipped anyway)';
  const recurrent: Plan['recurrent'] = [];
  let i = 0;
  for (; i < rest.length && !HEAD.has(rest[i]!.getClassName()); i++) {
    const l = rest[i]!;
    const c = configOf(l);
    if (l.getClassName() === 'Bidirectional') return 'a bidirectional layer reads the padding after the review';
    if (/Pooling1D$/.test(l.getClassName())) return "the model pools over time, padding steps' outputs included";
    if (!cellOfLayerClass(l.getClassName())) return `the model has a ${l.getClassName()} layer`;
    if (c.go_backwards ?? c.goBackwards) return 'a recurrent layer reads backwards (the padding last)';
    if (c.stateful) return 'a recurrent layer is stateful';
    recurrent.push(l as Plan['recurrent'][number]);
  }
  const head = rest.slice(i);
  if (recurrent.length === 0) return 'the model has no recurrent layer';
  if (head.some((l) => !HEAD.has(l.getClassName()))) return 'layers after the recurrent ones are not all Dense';
  const sequences = recurrent.map((l) => Boolean(configOf(l).return_sequences ?? configOf(l).returnSequences));
  if (sequences.slice(0, -1).some((s) => !s) || sequences[sequences.length - 1]) {
    return 'the last recurrent layer returns sequences (or an earlier one does not)';
  }
  return { embedding, recurrent, head };
}

/** The embedding matrix [vocabulary, dim]. */
const embeddings = (plan: Plan): Tensor => plan.embedding.getWeights()[0]!;

/**
 * One recurrent layer's step, its weights read once and split by gate. The inputs' projection x·W + b is apart
 * from the step, so that rows reading the same id share it (at any step an explanation's rows read one or two
 * distinct ids), and each gate has its own matrices, so that no step splits a tensor.
 *
 * The arithmetic is tfjs-layers' cells' (SimpleRNNCell, LSTMCell, GRUCell without reset_after, the only GRU
 * tfjs-layers has) at inference, where their dropout is the identity, with the layer's own activations; only
 * sums are taken in another order (rounding, ~1e-7), and on the wasm backend tanh is computed as 2σ(2x) − 1:
 * there tfjs's tanh runs std::tanh element by element and its sigmoid is XNNPACK's vectorized one (on
 * [231, 128]: 471 µs against 73 µs, Node 20).
 */
interface Step {
  /** Its states: h (and an LSTM's c), each [rows, units]. */
  states: number;
  units: number;
  /** Each gate's x·W + b for inputs [n, dim]: one [n, units] per gate. */
  project(x: Tensor): Tensor[];
  /** The next states from each gate's projected inputs [rows, units] and the states; the first is the output. */
  next(px: Tensor[], states: Tensor[]): Tensor[];
  dispose(): void;
}

function stepOf(tf: TF, layer: Plan['recurrent'][number]): Step {
  const cell = cellOfLayerClass(layer.getClassName())!; // planOf kept recurrent layers of rnn's cells only
  const gates = GATES[cell];
  const [kernel, recurrentKernel, bias] = layer.getWeights() as [Tensor, Tensor, Tensor?];
  const units = recurrentKernel.shape[0]!;
  const w = tf.split(kernel, gates, 1);
  const u = tf.split(recurrentKernel, gates, 1);
  const b = bias ? tf.split(bias, gates, 0) : [];
  const own = layer.cell.activation;
  const act =
    configOf(layer).activation === 'tanh' && tf.getBackend() === 'wasm'
      ? (x: Tensor): Tensor => tf.sub(tf.mul(tf.sigmoid(tf.mul(x, 2)), 2), 1)
      : (x: Tensor): Tensor => own.apply(x);
  const rec = (x: Tensor): Tensor => layer.cell.recurrentActivation!.apply(x);
  const gate = (g: number, px: Tensor[], h: Tensor): Tensor => tf.add(px[g]!, tf.matMul(h, u[g]!));
  const next: Step['next'] =
    cell === 'lstm'
      ? (px, [h, c]) => {
          const c2 = tf.add(tf.mul(rec(gate(1, px, h!)), c!), tf.mul(rec(gate(0, px, h!)), act(gate(2, px, h!))));
          return [tf.mul(rec(gate(3, px, h!)), act(c2)), c2];
        }
      : cell === 'gru'
        ? (px, [h]) => {
            const z = rec(gate(0, px, h!));
            const r = rec(gate(1, px, h!));
            const candidate = act(tf.add(px[2]!, tf.matMul(tf.mul(r, h!), u[2]!)));
            return [tf.add(tf.mul(z, h!), tf.mul(tf.sub(1, z), candidate))];
          }
        : (px, [h]) => [act(gate(0, px, h!))];
  return {
    states: cell === 'lstm' ? 2 : 1,
    units,
    project: (x) => w.map((wg, g) => (b[g] ? tf.add(tf.matMul(x, wg), b[g]!) : tf.matMul(x, wg))),
    next,
    dispose: () => tf.dispose([...w, ...u, ...b]),
  };
}

/**
 * The states of every recurrent layer after k = 0..maxlen padding steps: per layer, per state (h; h and c for
 * an LSTM), [maxlen + 1, units] values whose row k is the state after k padding steps.
 */
function paddingStates(tf: TF, plan: Plan, steps: Step[], pad: PaddingOf): Float32Array[][] {
  const states = tf.tidy(() => {
    const x0 = tf.gather(embeddings(plan), [pad.value ?? 0]);
    let inputs: Tensor[] = Array.from({ length: pad.maxlen }, () => x0);
    return steps.map((step) => {
      let states: Tensor[] = Array.from({ length: step.states }, () => tf.zeros([1, step.units]));
      const all: Tensor[][] = states.map((s) => [s]);
      const outputs: Tensor[] = [];
      let px: Tensor[] = [];
      inputs.forEach((x, k) => {
        if (k === 0 || x !== inputs[k - 1]) px = step.project(x); // the first layer reads the same input at every step
        states = step.next(px, states);
        outputs.push(states[0]!);
        states.forEach((s, j) => all[j]!.push(s));
      });
      inputs = outputs;
      return all.map((list) => tf.concat(list, 0));
    });
  });
  return states.map((layer) =>
    layer.map((t) => {
      const values = t.dataSync() as Float32Array;
      t.dispose();
      return values;
    }),
  );
}

/** Rows run per chunk when the whole sequence runs (no shortcut). */
const FULL_CHUNK = 32;

/** Runs every row over all `maxlen` steps with `model.predict`, a chunk of rows per slice. */
function* fullSequences(tf: TF, model: TFJS.LayersModel, maxlen: number, ids: Int32Array): ForwardRun {
  const rows = ids.length / maxlen;
  const parts: Float32Array[] = [];
  for (let r = 0; r < rows; r += FULL_CHUNK) {
    if (r > 0) yield;
    const n = Math.min(FULL_CHUNK, rows - r);
    parts.push(
      tf.tidy(
        () =>
          (
            model.predict(tf.tensor2d(ids.subarray(r * maxlen, (r + n) * maxlen), [n, maxlen], 'int32')) as Tensor
          ).dataSync() as Float32Array,
      ),
    );
  }
  const outputs = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (outputs.set(p, at), at + p.length), 0);
  return { outputs, rowSteps: rows * maxlen };
}

/** A one-hot matrix [rows, columns] as a tensor: row i has a 1 in column `column[i]` (a matMul by it copies rows exactly). */
function oneHot(tf: TF, column: ArrayLike<number>, columns: number): Tensor {
  const m = new Float32Array(column.length * columns);
  for (let i = 0; i < column.length; i++) m[i * columns + column[i]!] = 1;
  return tf.tensor2d(m, [column.length, columns]);
}

/**
 * Runs the rows step by step from the state after their padding, rows with the same ids so far as one row of
 * the batch (see the module's comment); one time step per slice. A group keeps its row of the states while
 * it lives; where its rows part, the others get new rows at the end, copied by a one-hot matMul (tfjs's wasm
 * gather and slice move ~25 ns an element, a matMul by a one-hot matrix of a few rows a few µs).
 */
function* sharedPrefixes(tf: TF, plan: Plan, steps: Step[], padding: Float32Array[][], pad: PaddingOf, ids: Int32Array): ForwardRun {
  const { maxlen } = pad;
  const value = pad.value ?? 0;
  const rows = ids.length / maxlen;
  // Where each row's own ids begin (after its run of padding ids), and the rows in that order.
  const begin = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let k = 0;
    while (k < maxlen && ids[r * maxlen + k] === value) k++;
    begin[r] = k;
  }
  const order = Array.from({ length: rows }, (_, r) => r).sort((a, b) => begin[a]! - begin[b]!);
  /** Rows whose ids so far are the same; row i of every state is group i's. */
  const groups: number[][] = [];
  /** Per layer, per state: [groups, units]. */
  let states: Tensor[][] = steps.map(() => []);
  let next = 0;
  let rowSteps = 0;
  // The first layer's projected inputs, per gate: x·W + b once for each distinct id the rows read.
  const column = new Map<number, number>();
  for (let r = 0; r < rows; r++) {
    for (let t = begin[r]!; t < maxlen; t++) {
      const id = ids[r * maxlen + t]!;
      if (!column.has(id)) column.set(id, column.size);
    }
  }
  const units0 = steps[0]!.units;
  const projected: Float32Array[] =
    column.size === 0
      ? []
      : tf
          .tidy(() => steps[0]!.project(tf.gather(embeddings(plan), tf.tensor1d([...column.keys()], 'int32'))))
          .map((t) => {
            const values = t.dataSync() as Float32Array;
            t.dispose();
            return values;
          });
  /** The rows joining at step t (their padding ends there) become one group, with the padding's state after t steps. */
  const join = (t: number): Float32Array[][] | undefined => {
    const joining: number[] = [];
    while (next < rows && begin[order[next]!] === t) joining.push(order[next++]!);
    if (joining.length === 0) return undefined;
    groups.push(joining);
    return padding.map((layer, l) => layer.map((all) => all.subarray(t * steps[l]!.units, (t + 1) * steps[l]!.units)));
  };
  /** The states with rows added at the end: a joining group's padding state, then copies of the parting groups' rows. */
  const grow = (joined: Float32Array[][] | undefined, copies: number[]): Tensor[][] =>
    states.map((layer, l) =>
      (layer.length ? layer : Array.from({ length: steps[l]!.states }, () => undefined)).map((s, j) => {
        let grown = s;
        if (joined) {
          const row = tf.tensor2d(joined[l]![j]!, [1, steps[l]!.units]);
          grown = grown ? tf.concat([grown, row], 0) : row;
        }
        if (copies.length) grown = tf.concat([grown!, tf.matMul(oneHot(tf, copies, grown!.shape[0]!), grown!)], 0);
        return grown!;
      }),
    );
  try {
    for (let t = rows > 0 ? begin[order[0]!]! : maxlen; t < maxlen; t++) {
      const before = states;
      states = tf.tidy(() => {
        const joined = join(t);
        // Each group parts by the id its rows read at t: the first part keeps the group's row.
        const copies: number[] = [];
        const parted: number[][] = [];
        const read: number[] = []; // the id each group reads, the parted ones after the rest
        const partedRead: number[] = [];
        groups.forEach((g, i) => {
          const by = new Map<number, number[]>();
          for (const r of g) {
            const id = ids[r * maxlen + t]!;
            const same = by.get(id);
            if (same) same.push(r);
            else by.set(id, [r]);
          }
          let first = true;
          for (const [id, members] of by) {
            if (first) {
              groups[i] = members;
              read[i] = id;
              first = false;
            } else {
              copies.push(i);
              parted.push(members);
              partedRead.push(id);
            }
          }
        });
        groups.push(...parted);
        read.push(...partedRead);
        const grown = grow(joined, copies);
        // The first layer's inputs: the projected rows of the ids read, one row per group (exact copies).
        const distinct = [...new Set(read)];
        const at = read.map((id) => distinct.indexOf(id));
        const pick = distinct.length > 1 ? oneHot(tf, at, distinct.length) : undefined;
        let px: Tensor[] = projected.map((p) => {
          const rowsOf = new Float32Array(distinct.length * units0);
          distinct.forEach((id, k) => rowsOf.set(p.subarray(column.get(id)! * units0, (column.get(id)! + 1) * units0), k * units0));
          const values = tf.tensor2d(rowsOf, [distinct.length, units0]);
          return pick ? tf.matMul(pick, values) : values; // one distinct id: its row broadcasts
        });
        return steps.map((step, l) => {
          if (l > 0) px = step.project(grown[l - 1]![0]!);
          const after = step.next(px, grown[l]!);
          grown[l] = after;
          return after;
        });
      });
      tf.dispose(before.flat());
      rowSteps += groups.length;
      yield;
    }
    if (next < rows) {
      // Rows that are all padding: the padding's state after maxlen steps.
      const last = states;
      states = tf.tidy(() => grow(join(maxlen), []));
      tf.dispose(last.flat());
    }
    const groupOf = new Int32Array(rows);
    groups.forEach((g, i) => g.forEach((r) => (groupOf[r] = i)));
    const outputs = tf.tidy(() => {
      // The last layer's output is its state h (the first of an LSTM's h and c).
      let h = rows > 0 ? tf.gather(states[states.length - 1]![0]!, tf.tensor1d(groupOf, 'int32')) : undefined;
      if (!h) return undefined;
      for (const layer of plan.head) h = layer.apply(h) as Tensor;
      return h.dataSync() as Float32Array;
    });
    return { outputs: outputs ?? new Float32Array(0), rowSteps };
  } finally {
    tf.dispose(states.flat());
  }
}

/** Runs a slice-by-slice forward to its end. */
function drain(run: ForwardRun): ForwardResult {
  for (;;) {
    const r = run.next();
    if (r.done) return r.value;
  }
}

/** Runs `model` over padded rows, skipping the padding steps and sharing prefixes where the model allows it. */
export function paddedForward(tf: TF, model: TFJS.LayersModel, pad: PaddingOf): PaddedForward {
  const plan = planOf(model, pad);
  if (typeof plan === 'string') {
    const run = (ids: Int32Array): ForwardRun => fullSequences(tf, model, pad.maxlen, ids);
    return { run, probabilities: (ids) => drain(run(ids)).outputs, shortcut: { used: false, reason: plan }, dispose: () => undefined };
  }
  const steps = plan.recurrent.map((layer) => stepOf(tf, layer));
  const padding = paddingStates(tf, plan, steps, pad);
  const run = (ids: Int32Array): ForwardRun => sharedPrefixes(tf, plan, steps, padding, pad, ids);
  const dispose = (): void => {
    tf.dispose(padding.flat());
    steps.forEach((s) => s.dispose());
  };
  return { run, probabilities: (ids) => drain(run(ids)).outputs, shortcut: { used: true }, dispose };
}
