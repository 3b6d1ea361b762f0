import type { Command } from 'commander';
import * as path from 'node:path';
import { checkInitOptions, train } from '../../train/index.js';
import { SELF_TRAIN_DEFAULTS, type TrainOptions } from '../../train/options.js';
import type { TrainCallbacks, TrainCheckpoint } from '../../train/types.js';
import { saveTrainingRun } from '../../io/run.js';
import { loadCheckpoint } from '../../io/checkpoint.js';
import { pointLatest } from '../../io/model-dir.js';
import { CELLS, type CellType } from '../../cells.js';
import { Interrupted, UserError } from '../../errors.js';
import { loadRuntime, type CliContext } from '../context.js';
import { cell, positiveFloat, positiveInt, share } from '../options.js';
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
  loadUnlabeled,
  unlabeledSpec,
  type TrainingFlags,
} from '../training.js';
import { addDataOptions, addHoldOutOptions, holdOutForCli, loadDataForCli, type DataFlags } from '../data-options.js';
import { withLabels } from '../training.js';
import { supervisorMessages } from '../worker.js';
import { StatusLine } from '../progress.js';
import { describeSelfTraining } from '../render-model.js';
import { decimal } from '../format.js';
import { readLanguageModelMetadata } from '../../io/lm-dir.js';

interface TrainFlags extends DataFlags, TrainingFlags {
  cell?: CellType;
  init?: string;
  initLrScale?: number;
  gradualUnfreezing?: boolean;
  unlabeled?: string;
  pseudoShare?: number;
  studentEpochs?: number;
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
  /** With --resume of a self-training run: the SHA-256 of its unlabeled texts. */
  expectUnlabeledSha?: string;
}> {
  if (!flags.resume) {
    const options = initOptions(flags);
    return { options, out: path.resolve(flags.out ?? path.join(ctx.env.modelsDir, options.cell)), dataFlags: flags };
  }
  refuseWithResume(cmd, ['--resume', '--data', '--text-column', '--label-column', '--json']);
  const { meta, checkpoint } = await loadCheckpoint(flags.resume);
  status.log(
    ctx.chalkErr.dim(
      `resuming ${meta.options.cell} (seed ${meta.options.seed}) at ${checkpoint.student ? "the student's " : ''}epoch ${checkpoint.epoch}, batch ${checkpoint.batch + 1}; the model goes to ${meta.out}`,
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
    expectUnlabeledSha: meta.data.unlabeled?.sha256,
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
    )
    .option(
      '--unlabeled <source>',
      "self-training: texts without labels (a text file, one per line; a CSV's column named review, text, sentence or content; an aclImdb source's training texts and unsup/, never its test reviews); the model the other flags train labels them, and a second model, saved, trains on its most confident labels and the labeled reviews",
    )
    .option(
      '--pseudo-share <f>',
      `with --unlabeled: the share of each class's pseudo-labels kept, the most confident first, above 0 up to 1 (default ${SELF_TRAIN_DEFAULTS.pseudoShare})`,
      share,
    )
    .option(
      '--student-epochs <n>',
      `with --unlabeled: the second model's epochs (default ${SELF_TRAIN_DEFAULTS.studentEpochs}); its other options are the first's`,
      positiveInt,
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

/**
 * Training progress (src/cli/training.ts): with self-training, the teacher's lines and then the student's, each
 * named, and the line between them saying what the teacher labeled (on stdout too with --json).
 */
function progressOf(ctx: CliContext, status: StatusLine, o: TrainOptions, json: boolean, labels: readonly string[]): TrainCallbacks {
  if (o.unlabeled === undefined) return trainingProgress(ctx, status, o, json);
  const teacher = trainingProgress(ctx, status, o, json, 'teacher ');
  const student = { ...trainingProgress(ctx, status, { ...o, epochs: o.studentEpochs! }, json, 'student '), onModel: undefined };
  let now: TrainCallbacks = teacher;
  return {
    onStep: (m) => now.onStep?.(m),
    onModel: (m) => now.onModel?.(m),
    onBatch: (p) => now.onBatch?.(p),
    onEpoch: (e) => now.onEpoch?.(e),
    onStudent: (r) => {
      now = student;
      status.log(
        `self-training: ${describeSelfTraining(r, labels)}; the student trains on them and the labeled reviews for ${o.studentEpochs} epochs`,
      );
      if (json) ctx.io.out.write(JSON.stringify({ selfTraining: r }) + '\n');
    },
  };
}

/**
 * The options of a new run: the training flags, `--init` (an absolute path) and `--unlabeled` (a URL, or a path
 * made absolute); a flag that refines one of them without it is an OPTION_CONFLICT.
 */
function initOptions(flags: TrainFlags): TrainOptions {
  const withInit = ['a run started with --init', '--init DIR', flags.init !== undefined] as const;
  const withUnlabeled = ['self-training', '--unlabeled SOURCE', flags.unlabeled !== undefined] as const;
  for (const [given, flag, [appliesTo, pass, present]] of [
    [flags.initLrScale !== undefined, '--init-lr-scale', withInit],
    [flags.gradualUnfreezing, '--gradual-unfreezing', withInit],
    [flags.pseudoShare !== undefined, '--pseudo-share', withUnlabeled],
    [flags.studentEpochs !== undefined, '--student-epochs', withUnlabeled],
  ] as const) {
    if (given && !present) throw new UserError('OPTION_CONFLICT', `${flag} applies to ${appliesTo}`, `Pass ${pass}, or leave ${flag} out`);
  }
  return trainOptionsFromFlags(
    {
      ...flags,
      ...(flags.init !== undefined && { init: path.resolve(flags.init) }),
      ...(flags.unlabeled !== undefined && { unlabeled: unlabeledSpec(flags.unlabeled) }),
    } as TrainingFlags,
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
  const { options, out, resume, dataFlags, expectSha, expectUnlabeledSha } = await runSettings(ctx, cmd, flags, status);
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
  const unlabeled = options.unlabeled !== undefined ? await loadUnlabeled(ctx, status, options.unlabeled) : undefined;
  if (unlabeled && expectUnlabeledSha !== undefined && unlabeled.source.sha256 !== expectUnlabeledSha) {
    throw new UserError(
      'CHECKPOINT_DATA_MISMATCH',
      `the unlabeled texts (${unlabeled.source.path}) are not what the checkpoint was self-trained on (SHA-256 differs)`,
      'Put back the --unlabeled texts of the interrupted run',
    );
  }
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
    { ...progressOf(ctx, status, runOptions, flags.json === true, data.labels.names), shouldStop },
    resume?.checkpoint,
    data.labels,
    init?.from,
    unlabeled?.texts,
  );
  init?.from.model.dispose();
  const env = {
    ...runEnvironment(backend, data.source),
    ...(init && { init: init.env }),
    ...(unlabeled && { unlabeled: { source: unlabeled.source, fingerprintFile: unlabeled.fingerprintFile } }),
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
    // The student trains on the labeled reviews and the pseudo-labels, for its own epochs.
    const rows = result.counts.train + (at.student?.picked.index.length ?? 0);
    const batches = Math.ceil(rows / options.batchSize);
    const where = at.student ? `the student's epoch ${at.epoch} of ${options.studentEpochs}` : `epoch ${at.epoch} of ${options.epochs}`;
    throw new Interrupted(
      `checkpoint saved to ${checkpoint} (${where}, ${at.batch} of ${batches} batches done); ${out} was not changed. Resume with \`rnn train --resume ${checkpoint}\``,
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
        ...(result.selfTraining && { selfTraining: meta.selfTraining }),
        samplesPerSec: meta.samplesPerSec,
        seed: options.seed,
      }) + '\n',
    );
  } else {
    const kept = result.history[result.weightsEpoch - 1];
    const val = kept?.val_acc !== undefined ? `, val_acc ${decimal(kept.val_acc, 4)}` : '';
    const which = result.weightsEpoch === result.history.length ? '' : ` (epoch ${result.weightsEpoch} of ${result.history.length})`;
    ctx.io.out.write(
      `saved ${options.cell} model${which}${result.selfTraining ? ' (the student)' : ''} to ${out} (acc ${decimal(kept?.acc, 4)}${val}, ${decimal(meta.samplesPerSec, 1)} samples/s, seed ${options.seed})\n`,
    );
  }
}
