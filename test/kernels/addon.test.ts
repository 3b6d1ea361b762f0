/**
 * rnn's oneDNN addon itself (src/kernels/addon): the id path's padding-sharing trick gives the whole run's
 * results at every edge, and misuse is refused with a clear message.
 */
import { test, before } from 'node:test';
import * as os from 'node:os';
import assert from 'node:assert/strict';
import { encode } from '../../src/predict/index.js';
import { Tokenizer } from '../../src/text/tokenizer.js';
import type { Review } from '../../src/data/index.js';
import { addon, interleavedReviews, skipOnednn as skip, TOPOLOGIES } from '../onednn-helpers.js';
import type { Pooling } from '../../src/cells.js';

/**
 * The poolings whose rows share their padding steps: the last state, the mean, and every step's outputs (the
 * language model's). Max pooling runs whole sequences (its gradient goes to every step tied with the maximum;
 * see sharesPadding() in rnn_dnnl.cc).
 */
const SHARED: Array<Pooling | 'sequence'> = ['last', 'mean', 'sequence'];

let reviews: Review[] = [];

before(async () => {
  reviews = await interleavedReviews();
});

/**
 * Everything one forwardIds (inference, then training) and its backwardEmbedding return, with the run's work
 * share; `pooling` over time of a one-direction layer (default the last state).
 */
function idsRun(
  cell: 'SimpleRNN' | 'LSTM' | 'GRU',
  T: number,
  B: number,
  D: number,
  U: number,
  ids: Int32Array,
  parts?: number,
  chunk?: number,
  pooling: Pooling | 'sequence' = 'last',
) {
  const G = { SimpleRNN: 1, LSTM: 4, GRU: 3 }[cell];
  const V = Math.max(...ids) + 1;
  const rand = (n: number, seed: number, scale: number) =>
    Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 1000 + i * 12.9898) * scale);
  const E = rand(V * D, 1, 0.3);
  const w = [rand(D * G * U, 2, 0.3), rand(U * G * U, 3, 0.3), rand(G * U, 4, 0.3)] as const;
  const s = new addon.Sequence(cell, T, B, D, U, parts, chunk, { bidirectional: false, pooling });
  const infer = s.forwardIds(ids, E, ...w, false);
  const work = s.work;
  const h = s.forwardIds(ids, E, ...w, true);
  const dE = new Float32Array(V * D);
  const grads = s.backwardEmbedding(rand(B * U * (pooling === 'sequence' ? T : 1), 5, 1), s.generation, dE);
  return { work, parts: s.parts, out: [infer, h, dE, ...grads] };
}

/** Largest |a − b| over the largest |a|, per output. */
function relErrors(a: Float32Array[], b: Float32Array[]): number[] {
  return a.map((x, i) => {
    let d = 0;
    let m = 1e-30;
    for (let k = 0; k < x.length; k++) {
      d = Math.max(d, Math.abs(x[k]! - b[i]![k]!));
      m = Math.max(m, Math.abs(x[k]!));
    }
    return d / m;
  });
}

const OUTPUTS = [
  'inference features',
  'training features',
  'embedding gradient',
  'kernel gradient',
  'recurrent kernel gradient',
  'bias gradient',
];

test(
  "rows in their leading padding share one trajectory: on real 64 × 256 batches ('pre' padding, 10,000 words) about 3/4 of the steps run, with the whole run's results",
  { skip },
  () => {
    const texts = reviews.slice(0, 64).map((r) => r.text);
    const tok = new Tokenizer({ numWords: 10000 }).fitOnTexts(reviews.map((r) => r.text));
    const { x } = encode(tok, texts, { maxlen: 256, padding: 'pre', truncating: 'pre' });
    for (const pooling of SHARED) {
      for (const cell of ['SimpleRNN', 'LSTM', 'GRU'] as const) {
        const whole = idsRun(cell, 256, 64, 100, 128, x, undefined, 256, pooling);
        const shared = idsRun(cell, 256, 64, 100, 128, x, undefined, undefined, pooling);
        assert.equal(whole.work, 1);
        assert.ok(shared.work > 0.5 && shared.work < 0.85, `${cell}, ${pooling}: ran ${shared.work} of the steps`);
        // The sums over 64 × 256 steps run in another order: float32 rounding, as against stock tfjs (1e-3
        // there). The mean's gradients sum terms of both signs, so their rounding is larger: the whole run
        // itself, cut in two halves instead of one, moves its bias gradient by 4e-4 (measured).
        const tolerance = pooling === 'last' ? 1e-4 : 1e-3;
        relErrors(whole.out, shared.out).forEach((e, i) =>
          assert.ok(e < tolerance, `${cell}, ${pooling}: ${OUTPUTS[i]} relative error ${e}`),
        );
      }
    }
    assert.equal(idsRun('GRU', 256, 64, 100, 128, x, undefined, undefined, 'max').work, 1, 'max pooling runs whole sequences');
  },
);

test("shared padding trajectories: every edge gives the whole run's results", { skip }, () => {
  // rows' leading padding (in steps); the other steps get ids 1…
  const cases: Array<[string, number, number, number | undefined, number[]]> = [
    // name, T, chunk, parts, padding per row
    ['T not a multiple of the chunk, two halves', 23, 5, 2, [0, 23, 3, 9, 14, 20, 22, 6, 11]],
    ['one half', 23, 5, 1, [0, 23, 3, 9, 14, 20, 22, 6, 11]],
    ['every row entirely padding', 12, 4, 2, [12, 12, 12, 12, 12]],
    ['no padding anywhere', 12, 4, 2, [0, 0, 0, 0, 0]],
    ['one row, padded', 17, 4, 1, [9]],
    ['chunk of one step', 9, 1, 2, [8, 7, 1, 0, 5, 2, 3, 4]],
    ['all rows begin in the last chunk', 16, 4, 2, [13, 14, 15, 12, 13, 14]],
  ];
  for (const [name, T, chunk, parts, pads] of cases) {
    const B = pads.length;
    const ids = new Int32Array(B * T);
    pads.forEach((p, b) => {
      for (let t = p; t < T; t++) ids[b * T + t] = 1 + ((b * 31 + t * 7) % 10);
    });
    for (const pooling of SHARED) {
      for (const cell of ['SimpleRNN', 'LSTM', 'GRU'] as const) {
        const whole = idsRun(cell, T, B, 5, 6, ids, parts, T, pooling);
        const shared = idsRun(cell, T, B, 5, 6, ids, parts, chunk, pooling);
        assert.equal(shared.parts, parts ?? shared.parts);
        const tolerance = pooling === 'last' ? 1e-5 : 1e-4;
        relErrors(whole.out, shared.out).forEach((e, i) =>
          assert.ok(e < tolerance, `${name}, ${cell}, ${pooling}: ${OUTPUTS[i]} relative error ${e}`),
        );
      }
    }
  }
});

/**
 * forwardTable's and forwardIds' inference outputs for one shape, topology and ids (weights from `seed`), with
 * the share of the steps forwardTable ran.
 */
function tableAndIds(
  cell: 'SimpleRNN' | 'LSTM' | 'GRU',
  T: number,
  ids: Int32Array,
  [D, U]: [number, number],
  topology: { bidirectional: boolean; pooling: Pooling },
  parts?: number,
  seed = 1,
) {
  const G = { SimpleRNN: 1, LSTM: 4, GRU: 3 }[cell];
  const dirs = topology.bidirectional ? 2 : 1;
  const B = ids.length / T;
  const V = Math.max(...ids) + 1;
  // weights of Glorot's scale: with larger ones 128 units turn chaotic and any rounding grows without bound
  const scale = Math.min(0.5, 1.2 / Math.sqrt(U));
  const rand = (n: number, k: number): Float32Array =>
    Float32Array.from({ length: n }, (_, i) => Math.sin((seed * 10 + k) * 1000 + i * 12.9898) * scale);
  const [E, W, R, b] = [rand(V * D, 1), rand(dirs * D * G * U, 2), rand(dirs * U * G * U, 3), rand(dirs * G * U, 4)];
  // forwardIds with a chunk of T runs every row through every step: the reference
  const whole = new addon.Sequence(cell, T, B, D, U, parts, T, topology);
  const s = new addon.Sequence(cell, T, B, D, U, parts, undefined, topology);
  const table = addon.inputTable(E, W, b, dirs);
  return { want: whole.forwardIds(ids, E, W, R, b, false), got: s.forwardTable(ids, table, R), work: s.work, s, table, R };
}

test("inputTable: every id's embedding · kernel + bias, per direction", { skip }, () => {
  const [V, D, GU] = [5, 3, 8];
  const E = Float32Array.from({ length: V * D }, (_, i) => Math.sin(i));
  const W = Float32Array.from({ length: 2 * D * GU }, (_, i) => Math.cos(i));
  const b = Float32Array.from({ length: 2 * GU }, (_, i) => i / 10);
  const t = addon.inputTable(E, W, b, 2);
  assert.equal(t.length, 2 * V * GU);
  let worst = 0;
  for (let d = 0; d < 2; d++)
    for (let v = 0; v < V; v++)
      for (let j = 0; j < GU; j++) {
        let want = b[d * GU + j]!;
        for (let k = 0; k < D; k++) want += E[v * D + k]! * W[d * D * GU + k * GU + j]!;
        worst = Math.max(worst, Math.abs(t[(d * V + v) * GU + j]! - want));
      }
  assert.ok(worst < 1e-5, `largest difference ${worst}`);
  assert.throws(() => addon.inputTable(E, W, b, 3), /directions 1 or 2/);
  assert.throws(() => addon.inputTable(E.subarray(1), W, b, 2), /embeddings has 14 elements, not rows of 3/);
});

test(
  "forwardTable = forwardIds' inference on every cell, pooling and direction, at every padding edge, one or two halves",
  { skip },
  () => {
    // leading padding per row (steps); the other steps get ids 1…
    const cases: Array<[string, number, number | undefined, number[]]> = [
      ['mixed padding, two halves', 23, 2, [0, 23, 3, 9, 14, 20, 22, 6, 11]],
      ['mixed padding, one half', 23, 1, [0, 23, 3, 9, 14, 20, 22, 6, 11]],
      ['every row entirely padding', 12, 2, [12, 12, 12, 12, 12]],
      ['no padding anywhere', 12, 2, [0, 0, 0, 0, 0]],
      ['one row, padded', 17, 1, [9]],
      ['rows begin at the last step', 16, 2, [15, 15, 14, 0, 15, 13]],
    ];
    for (const [name, T, parts, pads] of cases) {
      const ids = new Int32Array(pads.length * T);
      pads.forEach((p, b) => {
        for (let t = p; t < T; t++) ids[b * T + t] = 1 + ((b * 31 + t * 7) % 10);
      });
      for (const topology of TOPOLOGIES)
        for (const cell of ['SimpleRNN', 'LSTM', 'GRU'] as const)
          // 21 units: one 16-wide vector of gates and 5 more one at a time
          for (const sizes of [
            [5, 6],
            [4, 21],
          ] as Array<[number, number]>) {
            const { want, got } = tableAndIds(cell, T, ids, sizes, topology, parts);
            const e = maxDiff(want, got);
            assert.ok(e < 1e-5, `${name}, ${cell}, ${JSON.stringify(topology)}, units ${sizes[1]}: largest difference ${e}`);
          }
    }
  },
);

test(
  "forwardTable on real 64 × 256 batches: the lesson's sizes, within 1e-5 of forwardIds, padding steps shared at every step",
  { skip },
  () => {
    const tok = new Tokenizer({ numWords: 10000 }).fitOnTexts(reviews.map((r) => r.text));
    const { x } = encode(
      tok,
      reviews.slice(0, 64).map((r) => r.text),
      { maxlen: 256, padding: 'pre', truncating: 'pre' },
    );
    for (const cell of ['SimpleRNN', 'LSTM', 'GRU'] as const) {
      const { want, got, work } = tableAndIds(cell, 256, x, [100, 128], { bidirectional: false, pooling: 'last' }, undefined, 3);
      assert.ok(maxDiff(want, got) < 1e-5, `${cell}: largest difference ${maxDiff(want, got)}`);
      // forwardIds' chunks of 16 ran ~3/4 of the steps here; exact sharing runs fewer
      assert.ok(work > 0.4 && work < 0.75, `${cell}: ran ${work} of the steps`);
    }
  },
);

test(
  'forwardTableAsync: forwardTable on the thread pool, the same outputs; the sequence refuses other calls until it settles',
  { skip },
  async () => {
    const T = 40;
    const B = 8;
    const ids = new Int32Array(B * T);
    for (let b = 0; b < B; b++) for (let t = b * 4; t < T; t++) ids[b * T + t] = 1 + ((b * 31 + t * 7) % 20);
    for (const cell of ['LSTM', 'GRU', 'SimpleRNN'] as const)
      for (const parts of [1, 2]) {
        const { got, s, table, R } = tableAndIds(cell, T, ids, [5, 6], { bidirectional: false, pooling: 'last' }, parts);
        const pending = s.forwardTableAsync(ids, table, R);
        // It returned before computing: the sequence is still busy with it.
        assert.throws(() => s.forwardTable(ids, table, R), /running a forwardTableAsync/);
        assert.throws(() => s.forwardTableAsync(ids, table, R), /running a forwardTableAsync/);
        assert.deepEqual(await pending, got, `${cell}, ${parts} part(s)`);
        assert.deepEqual(s.forwardTable(ids, table, R), got, 'usable again once settled');
      }
  },
);

test('forwardTable checks its table and ids, and leaves no training forward for a backward', { skip }, () => {
  const s = new addon.Sequence('LSTM', 2, 1, 3, 2);
  const [E, W, R, b] = [new Float32Array(15).fill(0.1), new Float32Array(3 * 8), new Float32Array(2 * 8), new Float32Array(8)];
  const table = addon.inputTable(E, W, b, 1);
  assert.throws(() => s.forwardTable(Int32Array.from([0, 5]), table, R), /token id 5 is outside the table \(size 5\)/);
  assert.throws(() => s.forwardTable(Int32Array.from([0, 1]), table.subarray(1), R), /table has 39 elements, not a positive multiple of 8/);
  assert.throws(() => s.forwardTable(Int32Array.from([0, 1]), table, R.subarray(1)), /recurrentKernel has 15 elements, expected 16/);
  s.forwardIds(Int32Array.from([0, 4]), E, W, R, b, true);
  s.forwardTable(Int32Array.from([0, 4]), table, R);
  assert.throws(() => s.backwardEmbedding(new Float32Array(2), s.generation, new Float32Array(15)), /backward needs the saved activations/);
});

test('a backward needs its own kind of training forward, and no inference forward in between', { skip }, () => {
  const s = new addon.Sequence('GRU', 3, 2, 4, 5);
  const [x, W, R, b] = [new Float32Array(2 * 3 * 4), new Float32Array(4 * 15), new Float32Array(5 * 15), new Float32Array(15)];
  s.forwardIds(new Int32Array(6), new Float32Array(8), W, R, b, true);
  assert.throws(
    () => s.backward(new Float32Array(10), s.generation),
    /backward needs a forward \(after forwardIds, use backwardEmbedding\)/,
  );
  s.forward(x, W, R, b, true);
  s.forward(x, W, R, b, false);
  assert.throws(() => s.backward(new Float32Array(10), s.generation), /backward needs the saved activations of its own training forward/);
  assert.throws(() => new addon.Sequence('GRU', 3, 2, 4, 5, 1, 0), /chunk must be >= 1/);
});

test('the addon checks ids against the embedding and needs a forwardIds before backwardEmbedding', { skip }, () => {
  const s = new addon.Sequence('LSTM', 2, 1, 3, 2);
  const w = [new Float32Array(3 * 8), new Float32Array(2 * 8), new Float32Array(8)] as const;
  assert.throws(() => s.backwardEmbedding(new Float32Array(2), s.generation, new Float32Array(15)), /backwardEmbedding needs a forwardIds/);
  assert.throws(
    () => s.forwardIds(Int32Array.from([0, 5]), new Float32Array(15), ...w, true),
    /token id 5 is outside the embedding \(size 5\)/,
  );
  s.forwardIds(Int32Array.from([0, 4]), new Float32Array(15).fill(0.1), ...w, true);
  const dE = new Float32Array(15).fill(9);
  assert.equal(s.backwardEmbedding(Float32Array.from([1, 1]), s.generation, dE).length, 3);
  assert.deepEqual([...dE.subarray(3, 12)], new Array(9).fill(0), 'rows of unused ids are zeroed');
});

/** Largest |a − b|. */
function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k]! - b[k]!));
  return m;
}

test('oneDNN addon: a batch split in two halves (one thread each) computes what one batch computes', { skip }, () => {
  const [T, B, D, U] = [9, 7, 5, 6];
  const rand = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 1000 + i * 12.9898) * 0.5);
  for (const [cell, G] of [
    ['SimpleRNN', 1],
    ['LSTM', 4],
    ['GRU', 3],
  ] as const) {
    const args = [rand(B * T * D, 1), rand(D * G * U, 2), rand(U * G * U, 3), rand(G * U, 4)] as const;
    const dy = rand(B * U, 5);
    const run = (parts: number) => {
      const s = new addon.Sequence(cell, T, B, D, U, parts);
      const infer = s.forward(...args, false);
      s.forward(...args, true);
      return { parts: s.parts, out: [infer, ...s.backward(dy, s.generation)] };
    };
    const one = run(1);
    const two = run(2);
    assert.deepEqual([one.parts, two.parts], [1, 2]);
    one.out.forEach((a, i) => assert.ok(maxDiff(a, two.out[i]!) < 1e-5, `${cell} output ${i}: ${maxDiff(a, two.out[i]!)}`));
  }
  // OpenMP's threads: OMP_NUM_THREADS when set (the test runner sets 1), else the cores this process may use.
  const threads = Number(process.env.OMP_NUM_THREADS) || os.availableParallelism();
  assert.equal(new addon.Sequence('GRU', 3, 64, 4, 5).parts, threads === 2 ? 2 : 1, 'two halves by default on two threads');
  assert.equal(new addon.Sequence('GRU', 3, 3, 4, 5).parts, 1, 'a batch of fewer than 4 rows stays whole');
  assert.throws(() => new addon.Sequence('GRU', 3, 1, 4, 5, 2), /parts must be 1 or 2, and at most the batch size/);
});

test('oneDNN addon: a backward needs the activations of its own training forward', { skip }, () => {
  const s = new addon.Sequence('GRU', 3, 2, 4, 5);
  const [x, W, R, b] = [new Float32Array(2 * 3 * 4), new Float32Array(4 * 15), new Float32Array(5 * 15), new Float32Array(15)];
  s.forward(x, W, R, b, true);
  const first = s.generation;
  s.forward(x, W, R, b, true);
  assert.throws(() => s.backward(new Float32Array(10), first), /backward needs the saved activations of its own training forward/);
  assert.equal(s.backward(new Float32Array(10), s.generation).length, 4);
  assert.throws(() => s.forward(new Float32Array(3), W, R, b, false), /x has 3 elements, expected 24/);
  assert.throws(() => new addon.Sequence('LSTM', 0, 1, 1, 1), /every dimension must be >= 1/);
});

test(
  "the recipe's topologies: both directions' weights one after the other, dirs·U features, the whole sequence run (both directions) or the padding shared (one); bad options refused",
  { skip },
  () => {
    const [T, B, D, U] = [6, 4, 3, 2];
    const G = 3; // GRU
    const ids = Int32Array.from({ length: B * T }, (_, i) => (i % T < 3 ? 0 : 1 + (i % 5))); // 3 steps of padding per row
    const E = Float32Array.from({ length: 6 * D }, (_, i) => Math.sin(i));
    for (const [bidirectional, pooling, dirs] of [
      [true, 'last', 2],
      [false, 'max', 1],
      [false, 'mean', 1],
      [true, 'mean', 2],
    ] as const) {
      const s = new addon.Sequence('GRU', T, B, D, U, undefined, 2, { bidirectional, pooling });
      const w = [D * G * U, U * G * U, G * U].map((n) => Float32Array.from({ length: dirs * n }, (_, i) => Math.cos(i) * 0.3));
      const h = s.forwardIds(ids, E, w[0]!, w[1]!, w[2]!, true);
      assert.equal(h.length, B * dirs * U);
      if (bidirectional || pooling === 'max') assert.equal(s.work, 1, 'no shared padding: two directions, or max pooling');
      else assert.ok(s.work < 1, `one direction, mean: the padding steps run once (ran ${s.work} of the steps)`);
      const dE = new Float32Array(E.length);
      const grads = s.backwardEmbedding(new Float32Array(B * dirs * U).fill(1), s.generation, dE);
      assert.deepEqual(
        grads.map((g) => g.length),
        w.map((x) => x.length),
      );
      if (dirs === 2)
        assert.throws(() => s.forwardIds(ids, E, w[0]!.subarray(0, D * G * U), w[1]!, w[2]!, false), /kernel has 18 elements, expected 36/);
    }
    assert.throws(
      () => new addon.Sequence('GRU', T, B, D, U, undefined, undefined, { bidirectional: false, pooling: 'sum' as 'max' }),
      /pooling must be last, max, mean or sequence, not sum/,
    );
  },
);
