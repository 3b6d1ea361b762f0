import { Option, type Command } from 'commander';
import * as path from 'node:path';
import { loadBackend, PURE_JS_SLOWDOWN } from '../../backend/index.js';
import { train, resolveTrainOptions, type EpochLog, type TrainOptions } from '../../train/index.js';
import { summarize, type CellType, type RecurrentImpl } from '../../models/index.js';
import { fusedKernels } from '../../models/fused.js';
import { saveModelDir, pointLatest, trainingMetadata } from '../../io/model-dir.js';
import type { CliContext } from '../context.js';
import { cell, fraction, positiveFloat, positiveInt, nonNegativeInt, recurrentImpl } from '../options.js';
import { addDataOptions, loadDataForCli, type DataFlags } from '../data-options.js';
import { StatusLine, bar, formatDuration } from '../progress.js';
import { renderSummary } from '../render-model.js';
import { packageVersion } from '../version.js';
import { UserError } from '../../errors.js';

interface TrainFlags extends DataFlags {
  cell: CellType;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  validationSplit?: number;
  seed?: number;
  limit?: number;
  out?: string;
  units?: number;
  embeddingDim?: number;
  vocabSize?: number;
  maxlen?: number;
  padding?: 'pre' | 'post';
  truncating?: 'pre' | 'post';
  oovToken?: string;
  layers?: RecurrentImpl;
  json?: boolean;
}

function fmt(e: EpochLog): string {
  const val = e.val_acc !== undefined ? `  val_loss ${e.val_loss!.toFixed(4)}  val_acc ${e.val_acc.toFixed(4)}` : '';
  return `epoch ${e.epoch}  loss ${e.loss.toFixed(4)}  acc ${e.acc.toFixed(4)}${val}  ${formatDuration(e.seconds)}  ${e.samplesPerSec.toFixed(1)} samples/s`;
}

export function registerTrain(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('train')
    .description('train a SimpleRNN, LSTM or GRU sentiment classifier and save it under models/')
    .requiredOption('--cell <cell>', 'recurrent cell: simplernn, lstm or gru', cell)
    .option('--epochs <n>', 'passes over the training reviews (default 3)', positiveInt)
    .option('--batch-size <n>', 'reviews per step (default 64)', positiveInt)
    .option('--lr <rate>', 'adam learning rate (default 0.001)', positiveFloat)
    .option('--validation-split <f>', 'share of training reviews held out for validation, like Keras (default 0.2)', fraction)
    .option('--seed <n>', 'seed for initialization and shuffling (default: random, recorded in metadata.json)', nonNegativeInt)
    .option('--limit <n>', 'train on the first N reviews of the seeded shuffle', positiveInt)
    .option('--out <dir>', 'model directory (default models/<cell>)')
    .option('--units <n>', 'recurrent units (default 128)', positiveInt)
    .option('--embedding-dim <n>', 'embedding size (default 100)', positiveInt)
    .option('--vocab-size <n>', 'tokenizer num_words and embedding input size (default 10000)', positiveInt)
    .option('--maxlen <n>', 'pad/truncate reviews to this many ids (default 256)', positiveInt)
    .addOption(new Option('--padding <side>', "where padding goes (Keras default 'pre')").choices(['pre', 'post']))
    .addOption(new Option('--truncating <side>', "which end long reviews lose (Keras default 'pre')").choices(['pre', 'post']))
    .option('--oov-token <token>', 'tokenizer oov_token (default none: unknown words are dropped, as in Keras)')
    .option('--layers <impl>', 'recurrent implementation: fused (rnn\'s fast forward/backward, default) or stock (tfjs-layers); the saved model is the same', recurrentImpl)
    .option('--json', 'one JSON object per epoch on stdout, then one for the saved model');
  addDataOptions(cmd).action(async (flags: TrainFlags) => {
    const c = ctx.chalkErr;
    const status = new StatusLine(ctx.io.err);
    const backend = await loadBackend(ctx.backend());
    if (!backend.native) {
      status.log(
        c.yellow.bold('warning:') +
          c.yellow(` training on pure-JS tfjs (${backend.nativeError ?? backend.reason}) is ${PURE_JS_SLOWDOWN} than the native backend. Run \`npm run setup-native\`; \`rnn doctor\` says why it is missing.`),
      );
    }
    const options: TrainOptions = resolveTrainOptions({ ...flags, oovToken: flags.oovToken ?? null });
    const out = path.resolve(flags.out ?? path.join(ctx.env.modelsDir, options.cell));
    if (path.basename(out) === 'latest' && path.dirname(out) === ctx.env.modelsDir) {
      throw new UserError('models/latest is reserved for the pointer to the newest model', 'Pass another --out');
    }
    const data = await loadDataForCli(ctx, flags, ['train'], status);
    if (data.train.length < 2) throw new UserError(`the training data has ${data.train.length} review(s)`, 'Use a dataset with at least two labeled reviews');
    const result = await train(backend.tf, data.train, options, {
      onStep: (m) => status.note(c.dim(m)),
      onModel: (model) => status.log(renderSummary(summarize(model), c)),
      onBatch: (p) =>
        status.update(
          `epoch ${p.epoch}/${p.epochs} ${bar(p.batch, p.batches)} ${p.batch}/${p.batches}  loss ${p.loss.toFixed(4)}  acc ${p.acc.toFixed(4)}  ${p.samplesPerSec.toFixed(0)} samples/s  ETA ${formatDuration(p.etaSeconds)}`,
        ),
      onEpoch: (e) => {
        status.log(fmt(e));
        if (flags.json) ctx.io.out.write(JSON.stringify(e) + '\n');
      },
    });
    const meta = await saveModelDir(
      backend.tf,
      out,
      result.model,
      result.tokenizer,
      trainingMetadata(
        result,
        data.source,
        { name: backend.name, tensorflow: backend.tfVersion, recurrentKernels: options.layers === 'fused' ? fusedKernels(backend.tf) : 'stock tfjs-layers' },
        { rnn: packageVersion(), tfjs: backend.tfjsVersion, node: process.versions.node },
      ),
    );
    await pointLatest(ctx.env.modelsDir, out);
    result.model.dispose();
    const last = result.history.at(-1);
    if (flags.json) {
      ctx.io.out.write(JSON.stringify({ saved: out, cell: meta.cell, params: meta.params, final: last, samplesPerSec: meta.samplesPerSec, seed: options.seed }) + '\n');
    } else {
      const val = last?.val_acc !== undefined ? `, val_acc ${last.val_acc.toFixed(4)}` : '';
      ctx.io.out.write(`saved ${options.cell} model to ${out} (acc ${last?.acc.toFixed(4)}${val}, ${meta.samplesPerSec.toFixed(1)} samples/s, seed ${options.seed})\n`);
    }
  });
}
