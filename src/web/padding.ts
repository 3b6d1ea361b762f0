/**
 * Forward passes that do not repeat the padding (the exported page's model runner).
 *
 * A review padded at the front ('pre') runs `maxlen - length` steps on the padding id before its own: those
 * steps see the same input for every review, so the recurrent state after k of them is the same for every
 * review of the model. {@link paddedForward} computes it once for every k (one pass of an all-padding row, step
 * by step through each layer's cell), and then runs each row only over its real ids, from the state after its
 * padding (tfjs-layers' recurrent layers take an `initialState`). Rows of one length share a batch.
 *
 * It holds for Embedding (no mask) → unidirectional SimpleRNN/LSTM/GRU layers (stacked or not; the last one
 * returns its final output) → Dense/Dropout layers. A bidirectional layer reads the padding after the review
 * and a pooled model pools the padding's outputs too, a masked embedding skips the padding anyway and 'post'
 * padding comes after the review: those run the whole padded sequence, as `model.predict` does, and say why.
 *
 * Stock tfjs only (the page's `tf`, or tfjs-node's in the tests): the model is the one `tf.loadLayersModel`
 * reads, untouched.
 */
import type * as TFJS from '@tensorflow/tfjs';

/** What of tfjs is used (the page's global `tf`, or tfjs-node's in the tests). */
type TF = Pick<typeof TFJS, 'tidy' | 'gather' | 'zeros' | 'concat' | 'fill' | 'tensor2d' | 'dispose'>;
type Tensor = TFJS.Tensor;
type Layer = TFJS.layers.Layer;
/** What of a tfjs-layers recurrent layer's cell is used: one step. */
interface Cell {
  stateSize: number | number[];
  call(inputs: Tensor[], kwargs: Record<string, unknown>): Tensor | Tensor[];
}

/** What runs the model over padded rows of ids. */
export interface PaddedForward {
  /** The model's outputs for `ids` (rows of `maxlen` padded ids, row-major), as `model.predict` lays them out. */
  probabilities(ids: Int32Array): Float32Array;
  /** Whether rows run only their real steps; else why not (then each row runs all `maxlen` steps). */
  shortcut: { used: true } | { used: false; reason: string };
  /** Frees the padding states. */
  dispose(): void;
}

/** Where and with which id the model's input is padded (the model's preprocessing). */
export interface PaddingOf {
  maxlen: number;
  padding: 'pre' | 'post';
  /** The padding id (Keras's `value`; 0 unless set). */
  value?: number;
}

const RECURRENT = new Set(['SimpleRNN', 'LSTM', 'GRU']);
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
    if (!RECURRENT.has(l.getClassName())) return `the model has a ${l.getClassName()} layer`;
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
 * The states of every recurrent layer after k = 0..maxlen padding steps: per layer, per state of its cell
 * (h; h and c for an LSTM), a [maxlen + 1, units] tensor whose row k is the state after k padding steps.
 */
function paddingStates(tf: TF, plan: Plan, pad: PaddingOf): Tensor[][] {
  return tf.tidy(() => {
    const x0 = tf.gather(embeddings(plan), [pad.value ?? 0]);
    let inputs: Tensor[] = Array.from({ length: pad.maxlen }, () => x0);
    return plan.recurrent.map((layer) => {
      const cell = layer.cell;
      const sizes = Array.isArray(cell.stateSize) ? cell.stateSize : [cell.stateSize];
      let states: Tensor[] = sizes.map((n: number) => tf.zeros([1, n]));
      const all: Tensor[][] = states.map((s) => [s]);
      const outputs: Tensor[] = [];
      for (const x of inputs) {
        const [out, ...next] = cell.call([x, ...states], { training: false }) as Tensor[];
        outputs.push(out!);
        states = next;
        next.forEach((s, j) => all[j]!.push(s));
      }
      inputs = outputs;
      return all.map((list) => tf.concat(list, 0));
    });
  });
}

/** Runs `model` over padded rows, skipping the padding steps where the model allows it. */
export function paddedForward(tf: TF, model: TFJS.LayersModel, pad: PaddingOf): PaddedForward {
  const { maxlen } = pad;
  const plan = planOf(model, pad);
  const full = (ids: Int32Array): Float32Array =>
    tf.tidy(() => (model.predict(tf.tensor2d(ids, [ids.length / maxlen, maxlen], 'int32')) as Tensor).dataSync() as Float32Array);
  if (typeof plan === 'string') return { probabilities: full, shortcut: { used: false, reason: plan }, dispose: () => undefined };
  const states = paddingStates(tf, plan, pad);
  const value = pad.value ?? 0;
  const probabilities = (ids: Int32Array): Float32Array => {
    const rows = ids.length / maxlen;
    // Rows by their number of real ids (the padding is the run of padding ids at the front).
    const byLength = new Map<number, number[]>();
    for (let r = 0; r < rows; r++) {
      let k = 0;
      while (k < maxlen && ids[r * maxlen + k] === value) k++;
      const n = maxlen - k;
      const list = byLength.get(n);
      if (list) list.push(r);
      else byLength.set(n, [r]);
    }
    let out: Float32Array | undefined;
    let width = 0;
    for (const [n, members] of byLength) {
      const y = tf.tidy(() => {
        const at = tf.fill([members.length], maxlen - n, 'int32');
        const initial = states.map((layer) => layer.map((s) => tf.gather(s, at)));
        let h: Tensor;
        if (n === 0) {
          h = initial[initial.length - 1]![0]!; // all padding: the last layer's output is its state after maxlen steps
        } else {
          const x = new Int32Array(members.length * n);
          members.forEach((r, j) => x.set(ids.subarray(r * maxlen + maxlen - n, (r + 1) * maxlen), j * n));
          h = tf.gather(embeddings(plan), tf.tensor2d(x, [members.length, n], 'int32')); // what Embedding computes (its call checks inputLength)
          plan.recurrent.forEach((layer, l) => {
            h = layer.apply(h, { initialState: initial[l] }) as Tensor;
          });
        }
        for (const layer of plan.head) h = layer.apply(h) as Tensor;
        return h;
      });
      const data = y.dataSync() as Float32Array;
      y.dispose();
      width = data.length / members.length;
      out ??= new Float32Array(rows * width);
      members.forEach((r, j) => out!.set(data.subarray(j * width, (j + 1) * width), r * width));
    }
    return out ?? new Float32Array(0);
  };
  return { probabilities, shortcut: { used: true }, dispose: () => tf.dispose(states.flat()) };
}
