// The cost of a training step of `rnn pretrain`'s model (Embedding(10000 → 100) → LSTM(128, sequences) →
// Dense(10000); docs/pretraining.md) on real IMDB windows, and of its output layer: each step with the full
// softmax, the sampled softmax (512 candidates) and no output layer at all (the loss the mean of the recurrent
// outputs), so the output layer's share of a step is (step − body) / step. Three ways to run a step: tfjs's
// `minimize` over the model with the recurrent layer on TensorFlow's block kernels (`tfjs`, what `--kernels tfjs`
// runs) or on rnn's oneDNN kernels as a fused layer (`tfjs, oneDNN layer`), and rnn's oneDNN step (`oneDNN step`,
// src/train/lm-step.ts: what `rnn pretrain` runs by default). The measurements alternate between them, round by
// round; medians. Run after `npm run build`, under the exclusive lock:
//
//   flock /tmp/rnn-quiet.lock node bench/lm-output.mjs path/to/aclImdb_v1.tar.gz [CELL [STEPS [BATCH [BPTT [VOCAB [LAYOUT]]]]]]
import { performance } from 'node:perf_hooks';
import { loadBackend } from '../dist/src/backend/index.js';
import { loadData } from '../dist/src/data/index.js';
import { tfjsKernels } from '../dist/src/kernels/index.js';
import { buildLanguageModel, lmLayers } from '../dist/src/models/lm.js';
import { clippedAdam } from '../dist/src/train/clip.js';
import { LmOnednnStep } from '../dist/src/train/lm-step.js';
import { logUniformSample, outputLoss, prepareTexts, resolvePretrainOptions, windowBatch } from '../dist/src/train/pretrain.js';
import { mulberry32 } from '../dist/src/util/random.js';

// As rnn's CLI does (src/kernels/threading.ts): OpenMP's threads sleep when idle instead of spinning beside TensorFlow's.
process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
const [archive, cell = 'lstm', steps = '20', batch = '64', bptt = '64', vocab = '10000', layout = 'stream'] = process.argv.slice(2);
const run = await loadBackend({ requireNative: true });
const { tf } = run;
const d = await loadData({ data: archive, defaultSource: archive, dataDir: '/nonexistent', splits: ['train'] });
const o = resolvePretrainOptions({ cell, seed: 42, limit: 3000, batchSize: +batch, bptt: +bptt, vocabSize: +vocab, layout });
if (run.kernels.name !== 'onednn') throw new Error(`the oneDNN kernels are needed: ${run.kernels.reason}`);
const rand = mulberry32(42);
const data = prepareTexts(
  d.train.map((r) => r.text),
  o,
  rand,
);
const n = data.trainWindows.count;

const WAYS = ['tfjs', 'tfjs, oneDNN layer', 'oneDNN step'];
const KINDS = ['full', 'sampled', 'body'];

/**
 * The body's loss: the mean of the outputs (plus 0 × one output weight: the oneDNN step differentiates with
 * respect to the output layer, whose Adam pass it then still runs, on zero gradients).
 */
const body = (H, K, b) => tf.add(tf.mean(H), tf.mul(0, tf.add(tf.slice(K, [0, 0], [1, 1]).reshape([]), tf.slice(b, [0], [1]).reshape([]))));

/** One way's model, optimizer and step function for an output kind; step(x, y, keep, B, cands) → loss. */
async function setup(way, kind) {
  const kernels = way === 'tfjs' ? tfjsKernels('bench') : run.kernels;
  const model = buildLanguageModel(tf, o, kernels);
  const opt = clippedAdam(tf, 1e-3, 1);
  const vars = model.trainableWeights.map((w) => w.val);
  const { embedding, recurrent, output } = lmLayers(model);
  const lossOf = (y, cands) => (kind === 'body' ? body : outputLoss(tf, y, o, kind === 'full' ? undefined : cands));
  if (way === 'oneDNN step') {
    const fast = await LmOnednnStep.create(tf, run.kernels.addon, cell, model, opt);
    return { model, step: (x, y, keep, B, cands) => fast.step(x, B, keep, lossOf(y, cands), 1e-3) };
  }
  const step = (x, y, keep, B, cands) => {
    const loss = tf.tidy(() => {
      const xt = tf.tensor2d(x, [B, o.bptt], 'int32');
      return opt.minimize(
        () => {
          const h = tf.reshape(recurrent.apply(embedding.apply(xt)), [-1, o.units]);
          const H = keep ? tf.gather(h, tf.tensor1d(keep, 'int32')) : h;
          const [K, b] = output.trainableWeights.map((w) => w.read());
          return lossOf(y, cands)(H, K, b);
        },
        true,
        kind === 'body' ? vars.slice(0, -2) : vars,
      );
    });
    const v = loss.dataSync()[0];
    loss.dispose();
    return v;
  };
  return { model, step };
}

const runs = [];
for (const way of WAYS) for (const kind of KINDS) runs.push({ way, kind, ...(await setup(way, kind)), times: [], tokens: 0 });
// Rounds: one step of every way and kind in turn (3 warm-up rounds), the same batch for all of them.
for (let s = 0; s < +steps + 3; s++) {
  const ids = Array.from({ length: o.batchSize }, () => Math.floor(rand() * n));
  const { x, y, keep } = windowBatch(data.trainWindows, o.bptt, ids);
  const cands = logUniformSample(o.samples, o.vocabSize, rand);
  for (const r of runs) {
    const t0 = performance.now();
    r.step(x, y, keep, ids.length, cands);
    if (s >= 3) {
      r.times.push(performance.now() - t0);
      r.tokens += y.length / +steps;
    }
  }
}
const median = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
const rows = runs.map((r) => {
  const ms = median(r.times);
  const body = median(runs.find((b) => b.way === r.way && b.kind === 'body').times);
  // tokens/s: the predicted words (rows leave the padding's targets out), as `rnn pretrain` counts them
  return {
    way: r.way,
    kind: r.kind,
    msPerStep: ms,
    tokensPerSec: r.tokens / (ms / 1000),
    outputShare: r.kind === 'body' ? 0 : (ms - body) / ms,
  };
});
runs.forEach((r) => r.model.dispose());
console.log(JSON.stringify({ cell, layout, batch: o.batchSize, bptt: o.bptt, vocab: o.vocabSize, samples: o.samples, rows }, null, 1));
