import type { Command } from 'commander';
import * as path from 'node:path';
import { checkInitOptions, train } from '../../train/index.js';
import type { TrainOptions } from '../../train/options.js';
import type { TrainCheckpoint } from '../../train/types.js';
import { saveTrainingRun } from '../../io/run.js';
import { loadCheckpoint } from '../../io/checkpoint.js';
import { pointLatest } from '../../io/model-dir.js';
import { CELLS, type CellType } from '../../cells.js';
import { Interrupted, UserError } from '../../errors.js';
import { loadRuntime, type CliContext } from '../context.js';
import { cell } from '../options.js';
import {
  addTrainingOptions,
  runEnvironment,
  trainOptionsFromFlags,
  trainingProgress,
  warnIfPureJs,
  warnIfTfjsFallback,
  presetOption,
  refuseWithResume,
  superviseTraining,
  loadInit,
  logInit,
  type TrainingFlags,
} from '../training.js';
import { addDataOptions, addHoldOutOptions, holdOutForCli, loadDataForCli, type DataFlags } from '../data-options.js';
import { withLabels } from '../training.js';
import { supervisorMessages } from '../worker.js';
import { StatusLine } from '../progress.js';
import { decimal } from '../format.js';
import { positiveFloat } from '../options.js';
import { readLanguageModelMetadata } from '../../io/lm-dir.js';

interface TrainFlags extends DataFlags, TrainingFlags {
  cell?: CellType;
  init?: string;
  initLrScale?: number;
  gradualUnfreezing?: boolean;
  out?: string;
  resume?: string;
  json?: boolean;
}

/** What a run trains: from the flags, or (with --resume) from the checkpoint, whose options win. */
async function runSettings(
  ctx: CliContext,
  cmd: Command,
  flags: TrainFlags,
  status: StatusLine,
): Promise<{
  options: TrainOptions;
  out: string;
  resume?: { checkpoint: TrainCheckpoint; dir: string };
  dataFlags: DataFlags;
  expectSha?: string;
}> {
  if (!flags.resume) {
    const options = initOptions(flags);
    return { options, out: path.resolve(flags.out ?? path.join(ctx.env.modelsDir, options.cell)), dataFlags: flags };
  }
  refuseWithResume(cmd, ['--resume', '--data', '--text-column', '--label-column', '--json']);
  const { meta, checkpoint } = await loadCheckpoint(flags.resume);
  status.log(
    ctx.chalkErr.dim(
      `resuming ${meta.options.cell} (seed ${meta.options.seed}) at epoch ${checkpoint.epoch}, batch ${checkpoint.batch + 1}; the model goes to ${meta.out}`,
    ),
  );
  return {
    options: meta.options,
    out: meta.out,
    resume: { checkpoint, dir: path.resolve(flags.resume) },
    // The run's own split of a CSV: --test-split and --split-column cannot be given with --resume.
    dataFlags: flags.data
      ? { ...meta.data.flags, data: flags.data, textColumn: flags.textColumn, labelColumn: flags.labelColumn }
      : meta.data.flags,
    expectSha: meta.data.source.sha256,
  };
}

export function registerTrain(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('train')
    .description('train a SimpleRNN, LSTM or GRU sentiment classifier and save it under models/')
    .option('--cell <cell>', `recurrent cell: ${CELLS.join(', ')} (required unless --resume)`, cell)
    .addOption(presetOption())
    .option('--out <dir>', 'model directory (default models/<cell>)')
    .option(
      '--resume <checkpoint>',
      'continue an interrupted run from its checkpoint (DIR.checkpoint, named when it stopped); its options and data are reused',
    )
    .option('--json', 'one JSON object per epoch on stdout, then one for the saved model')
    .option(
      '--init <dir>',
      "start from a language model (rnn pretrain): its tokenizer, embedding and recurrent weights; its shapes must be the classifier's",
    )
    .option(
      '--init-lr-scale <f>',
      "with --init: the embedding's and recurrent layer's learning rate as a multiple of --lr (default 1)",
      positiveFloat,
    )
    .option(
      '--gradual-unfreezing',
      'with --init: epoch 1 trains the dense layer alone, epoch 2 the recurrent layer too, later epochs every layer (ULMFiT)',
    );
  addHoldOutOptions(addDataOptions(addTrainingOptions(cmd))).action(async (flags: TrainFlags, command: Command) => {
    if (!flags.resume && !flags.cell) {
      // Commander's own words and code for a missing required option (--cell is required only without --resume).
      cmd.error("error: required option '--cell <cell>' not specified", { code: 'commander.missingMandatoryOptionValue' });
    }
    const status = new StatusLine(ctx.io.err);
    // The process that receives Ctrl-C never runs TensorFlow (see worker.ts); the worker does. Options that do
    // not fit together are refused here, before a worker starts.
    if (!ctx.env.worker) {
      if (!flags.resume) initOptions(flags);
      return superviseTraining(ctx, status);
    }
    let stop = false;
    const messages = supervisorMessages({ stop: () => (stop = true) }); // from the start: a Ctrl-C while the data loads stops before the first batch
    try {
      await trainCommand(ctx, command, flags, status, () => stop);
    } finally {
      messages.dispose();
    }
  });
}

/** The options of a new run: the training flags, and `--init` (an absolute path) with its learning-rate scale. */
function initOptions(flags: TrainFlags): TrainOptions {
  for (const [given, flag] of [
    [flags.initLrScale !== undefined, '--init-lr-scale'],
    [flags.gradualUnfreezing, '--gradual-unfreezing'],
  ] as const) {
    if (given && flags.init === undefined)
      throw new UserError('OPTION_CONFLICT', `${flag} applies to a run started with --init`, `Pass --init DIR, or leave ${flag} out`);
  }
  return trainOptionsFromFlags(
    { ...flags, ...(flags.init !== undefined && { init: path.resolve(flags.init) }) } as TrainingFlags,
    flags.cell!,
  );
}

/** The worker's part of `rnn train`: settings, data, training (stopping when `shouldStop`), save, report. */
async function trainCommand(
  ctx: CliContext,
  cmd: Command,
  flags: TrainFlags,
  status: StatusLine,
  shouldStop: () => boolean,
): Promise<void> {
  const { options, out, resume, dataFlags, expectSha } = await runSettings(ctx, cmd, flags, status);
  if (path.basename(out) === 'latest' && path.dirname(out) === ctx.env.modelsDir) {
    throw new UserError('OPTION_INVALID', 'models/latest is reserved for the pointer to the newest model', 'Pass another --out');
  }
  // --init's language model by its metadata, then the data: a directory or a dataset that does not read or does not
  // fit stops the run before the data is read (seconds for IMDB) and before TensorFlow loads (about a second).
  if (options.init !== undefined) {
    const lm = await readLanguageModelMetadata(options.init);
    checkInitOptions(options, { dir: path.resolve(options.init), options: lm.options });
  }
  const loaded = await loadDataForCli(ctx, dataFlags, ['train'], status);
  if (expectSha !== undefined && loaded.source.sha256 !== expectSha) {
    throw new UserError(
      'CHECKPOINT_DATA_MISMATCH',
      `the data (${loaded.source.path}) is not what the checkpoint was trained on (SHA-256 differs)`,
      'Pass --data with the dataset of the interrupted run',
    );
  }
  const data = holdOutForCli(ctx, status, loaded, dataFlags, options.seed);
  const runOptions = withLabels(options, data.labels, resume !== undefined);
  const backend = await loadRuntime(ctx, cmd);
  warnIfPureJs(ctx, status, backend, options.layers);
  warnIfTfjsFallback(ctx, status, backend, options);
  const init = options.init !== undefined ? await loadInit(backend.tf, options.init) : undefined;
  if (init) logInit(ctx, status, init);
  const result = await train(
    backend,
    data.train,
    runOptions,
    { ...trainingProgress(ctx, status, runOptions, flags.json === true), shouldStop },
    resume?.checkpoint,
    data.labels,
    init?.from,
  );
  init?.from.model.dispose();
  const env = {
    ...runEnvironment(backend, data.source),
    ...(init && { init: init.env }),
    dataFlags: {
      data: dataFlags.data,
      textColumn: dataFlags.textColumn,
      labelColumn: dataFlags.labelColumn,
      testSplit: dataFlags.testSplit,
      splitColumn: dataFlags.splitColumn,
      target: dataFlags.target,
      labels: dataFlags.labels,
    },
  };
  const { metadata: meta, checkpoint } = await saveTrainingRun(backend.tf, result, out, env, resume?.dir);
  if (checkpoint || !meta) {
    const at = result.interrupted!;
    const batches = Math.ceil(result.counts.train / options.batchSize);
    throw new Interrupted(
      `checkpoint saved to ${checkpoint} (epoch ${at.epoch} of ${options.epochs}, ${at.batch} of ${batches} batches done); ${out} was not changed. Resume with \`rnn train --resume ${checkpoint}\``,
    );
  }
  if (result.stoppedEarly) status.log(`early stopping: ${options.monitor} did not improve for ${options.earlyStopping} epoch(s)`);
  if (result.weightsEpoch !== result.history.length) {
    const best = result.history[result.weightsEpoch - 1]!;
    status.log(
      `restored the weights of epoch ${result.weightsEpoch} (best ${options.monitor} ${decimal(best[options.monitor], 4)}); the last epoch's model is in ${path.join(out, 'last')}`,
    );
  }
  await pointLatest(ctx.env.modelsDir, out);
  result.model.dispose();
  const last = result.history.at(-1);
  if (flags.json) {
    const kept = result.history[result.weightsEpoch - 1];
    ctx.io.out.write(
      JSON.stringify({
        saved: out,
        cell: meta.cell,
        params: meta.params,
        epoch: result.weightsEpoch,
        bestEpoch: result.bestEpoch,
        final: kept,
        last,
        stoppedEarly: result.stoppedEarly,
        samplesPerSec: meta.samplesPerSec,
        seed: options.seed,
      }) + '\n',
    );
  } else {
    const kept = result.history[result.weightsEpoch - 1];
    const val = kept?.val_acc !== undefined ? `, val_acc ${decimal(kept.val_acc, 4)}` : '';
    const which = result.weightsEpoch === result.history.length ? '' : ` (epoch ${result.weightsEpoch} of ${result.history.length})`;
    ctx.io.out.write(
      `saved ${options.cell} model${which} to ${out} (acc ${decimal(kept?.acc, 4)}${val}, ${decimal(meta.samplesPerSec, 1)} samples/s, seed ${options.seed})\n`,
    );
  }
}
