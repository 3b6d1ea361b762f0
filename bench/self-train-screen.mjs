// Self-training screened by validation only (docs/experiments.md#self-training): for each seed, the few-label
// recipe from the language model (`rnn train --init LM --limit N --epochs 15 --lr 3e-3 --gradual-unfreezing`:
// the teacher alone, arm `recipe`) and the same run with `--unlabeled` for each pseudo-label share (arm
// `self-SHARE-eSTUDENT_EPOCHS`), every model scored on 2,500 labeled training reviews that none trains on (the
// last 2,500 of the run's seeded shuffle: never among --limit's first N, and left out of the unlabeled texts,
// which are the other training texts). One JSON line a run on stdout; no test review is read. Run after
// `npm run build`:
//
//   node bench/self-train-screen.mjs path/to/aclImdb_v1.tar.gz models/lm SEED [SHARES (0.5,1) [STUDENT_EPOCHS (5) [N (1000)]]]
//   RECIPE=0 node bench/self-train-screen.mjs …   # the self-training arms only
import { performance } from 'node:perf_hooks';
import { loadBackend } from '../dist/src/backend/index.js';
import { loadData } from '../dist/src/data/index.js';
import { loadLanguageModelDir } from '../dist/src/io/lm-dir.js';
import { train } from '../dist/src/train/index.js';
import { resolveTrainOptions } from '../dist/src/train/options.js';
import { createPredictor, encode, predictArrays } from '../dist/src/predict/index.js';
import { mulberry32, shuffleInPlace } from '../dist/src/util/random.js';

// As rnn's CLI does (src/kernels/threading.ts): OpenMP's threads sleep when idle.
process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
const [archive, lmDir, seedArg, sharesArg = '0.5,1', epochsArg = '5', nArg = '1000'] = process.argv.slice(2);
const seed = Number(seedArg);
const N = Number(nArg);
const DEV = 2500;

const run = await loadBackend({ requireNative: true });
const { train: reviews } = await loadData({ data: archive, defaultSource: archive, dataDir: '/nonexistent', splits: ['train'] });
// The run's own shuffle (src/train/index.ts prepareData: the seed's generator shuffles first): its last 2,500.
const shuffled = [...reviews];
shuffleInPlace(shuffled, mulberry32(seed));
const dev = shuffled.slice(shuffled.length - DEV);
const devTexts = new Set(dev.map((r) => r.text));
const unlabeled = reviews.filter((r) => !devTexts.has(r.text)).map((r) => r.text);

const lm = await loadLanguageModelDir(run.tf, lmDir);
const init = () => ({ dir: lm.dir, tokenizer: lm.tokenizer, options: lm.metadata.options, model: lm.model });
const recipe = { cell: lm.metadata.options.cell, seed, limit: N, epochs: 15, lr: 3e-3, init: lm.dir, gradualUnfreezing: true };

function devAccuracy(result) {
  const o = result.options;
  const predictor = createPredictor(run.tf, { model: result.model, cell: o.cell, kernels: result.kernels }, o.maxlen);
  const probs = predictArrays(
    predictor,
    encode(
      result.tokenizer,
      dev.map((r) => r.text),
      o,
    ).x,
    256,
  );
  return dev.reduce((n, r, i) => n + ((probs[i] >= 0.5 ? 1 : 0) === r.label ? 1 : 0), 0) / dev.length;
}

function report(arm, result, t0, extra = {}) {
  const kept = result.history[result.weightsEpoch - 1];
  console.log(
    JSON.stringify({
      seed,
      N,
      arm,
      val: kept.val_acc,
      dev: devAccuracy(result),
      epoch: result.weightsEpoch,
      s: Math.round((performance.now() - t0) / 1000),
      ...extra,
    }),
  );
  result.model.dispose();
}

if (process.env.RECIPE !== '0') {
  const t0 = performance.now();
  report('recipe', await train(run, reviews, resolveTrainOptions(recipe), {}, undefined, undefined, init()), t0);
}
for (const share of sharesArg.split(',').map(Number)) {
  const t0 = performance.now();
  const o = resolveTrainOptions({ ...recipe, unlabeled: archive, pseudoShare: share, studentEpochs: Number(epochsArg) });
  const r = await train(run, reviews, o, {}, undefined, undefined, init(), unlabeled);
  const st = r.selfTraining;
  report(`self-${share}-e${epochsArg}`, r, t0, {
    teacherVal: st.teacher.history[st.teacher.weightsEpoch - 1].val_acc,
    pool: st.pool,
    predicted: st.predicted,
    kept: st.kept,
    valByEpoch: r.history.map((h) => Number(h.val_acc.toFixed(3))),
  });
}
