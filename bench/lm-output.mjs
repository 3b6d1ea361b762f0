// The cost of the language model's output layer (docs/pretraining.md): a training step of `rnn pretrain`'s model
// (Embedding(10000 → 100) → LSTM(128, sequences) → Dense(10000)) on real IMDB windows, with the full softmax, the
// sampled softmax (512 candidates) and no output layer at all (the loss a sum of the recurrent outputs), so the
// output layer's share of a step is (step − body) / step. Run after `npm run build`, under the exclusive lock:
//
//   flock /tmp/rnn-quiet.lock node bench/lm-output.mjs path/to/aclImdb_v1.tar.gz [CELL [STEPS [BATCH [BPTT [VOCAB]]]]]
import { performance } from 'node:perf_hooks';
import { loadBackend } from '../dist/src/backend/index.js';
import { loadData } from '../dist/src/data/index.js';
import { buildLanguageModel, lmLayers } from '../dist/src/models/lm.js';
import { clippedAdam } from '../dist/src/train/clip.js';
import {
  fullSoftmaxLoss,
  logUniformLogProb,
  logUniformSample,
  prepareTexts,
  resolvePretrainOptions,
  sampledSoftmaxLoss,
  windowBatch,
} from '../dist/src/train/pretrain.js';
import { mulberry32 } from '../dist/src/util/random.js';

const [archive, cell = 'lstm', steps = '20', batch = '64', bptt = '64', vocab = '10000'] = process.argv.slice(2);
const run = await loadBackend({ requireNative: true });
const { tf } = run;
const d = await loadData({ data: archive, defaultSource: archive, dataDir: '/nonexistent', splits: ['train'] });
const o = resolvePretrainOptions({ cell, seed: 42, limit: 3000, batchSize: +batch, bptt: +bptt, vocabSize: +vocab });
const rand = mulberry32(42);
const data = prepareTexts(
  d.train.map((r) => r.text),
  o,
  rand,
);
const n = data.trainWindows.count;

function measure(kind) {
  const model = buildLanguageModel(tf, o, run.kernels);
  const opt = clippedAdam(tf, 1e-3, 1);
  const vars = model.trainableWeights.map((w) => w.val);
  const { embedding, recurrent, output } = lmLayers(model);
  const times = [];
  for (let s = 0; s < +steps + 3; s++) {
    const ids = Array.from({ length: o.batchSize }, () => Math.floor(rand() * n));
    const { x, y } = windowBatch(data.trainWindows, o.bptt, ids);
    const cands = logUniformSample(o.samples, o.vocabSize, rand);
    const t0 = performance.now();
    const loss = tf.tidy(() => {
      const xt = tf.tensor2d(x, [ids.length, o.bptt], 'int32');
      const yt = tf.tensor1d(y, 'int32');
      const c = tf.tensor1d(cands, 'int32');
      const lc = tf.tensor1d(Float32Array.from(cands, (k) => Math.log(o.samples) + logUniformLogProb(k, o.vocabSize)));
      const ly = tf.tensor1d(Float32Array.from(y, (k) => Math.log(o.samples) + logUniformLogProb(k, o.vocabSize)));
      return opt.minimize(
        () => {
          const h = recurrent.apply(embedding.apply(xt));
          const H = tf.reshape(h, [-1, o.units]);
          const [K, b] = output.trainableWeights.map((w) => w.read());
          if (kind === 'body') return tf.mean(H);
          if (kind === 'full') return fullSoftmaxLoss(tf, H, yt, K, b);
          return sampledSoftmaxLoss(tf, H, yt, K, b, c, lc, ly);
        },
        true,
        kind === 'body' ? vars.slice(0, -2) : vars,
      );
    });
    loss.dataSync();
    loss.dispose();
    if (s >= 3) times.push(performance.now() - t0);
  }
  model.dispose();
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  return { kind, msPerStep: median, tokensPerSec: (o.batchSize * o.bptt) / (median / 1000) };
}

const body = measure('body');
const rows = [measure('full'), measure('sampled'), body].map((r) => ({
  ...r,
  outputShare: r.kind === 'body' ? 0 : (r.msPerStep - body.msPerStep) / r.msPerStep,
}));
console.log(JSON.stringify({ cell, batch: o.batchSize, bptt: o.bptt, vocab: o.vocabSize, samples: o.samples, rows }, null, 1));
