import type { Command } from 'commander';
import * as path from 'node:path';
import { loadBackend, PURE_JS_SLOWDOWN, type LoadedBackend } from '../../backend/index.js';
import type { EpochLog, TrainCallbacks, TrainOptions } from '../../train/index.js';
import { trainToDir, type ResumeFrom, type RunEnvironment } from '../../train/run.js';
import { loadCheckpoint } from '../../io/checkpoint.js';
import { stopRequests, superviseTraining } from '../train-worker.js';
import { summarize, type CellType } from '../../models/index.js';
import { pointLatest } from '../../io/model-dir.js';
import type { DataSourceInfo } from '../../data/index.js';
import type { CliContext } from '../context.js';
import { cell } from '../options.js';
import { addTrainingOptions, checkTrainingReviews, trainOptionsFromFlags, type TrainingFlags } from '../train-options.js';
import { addDataOptions, loadDataForCli, type DataFlags } from '../data-options.js';
import { StatusLine, bar, formatDuration } from '../progress.js';
import { renderSummary } from '../render-model.js';
import { packageVersion } from '../version.js';
import { Interrupted, UserError } from '../../errors.js';

interface TrainFlags extends DataFlags, TrainingFlags {
  cell?: CellType;
  out?: string;
  resume?: string;
  json?: boolean;
}

export function formatEpoch(e: EpochLog, showLr: boolean): string {
  const val = e.val_acc !== undefined ? `  val_loss ${e.val_loss!.toFixed(4)}  val_acc ${e.val_acc.toFixed(4)}` : '';
  const lr = showLr ? `  lr ${Number(e.lr.toPrecision(3))}` : '';
  return `epoch ${e.epoch}  loss ${e.loss.toFixed(4)}  acc ${e.acc.toFixed(4)}${val}${lr}  ${formatDuration(e.seconds)}  ${e.samplesPerSec.toFixed(1)} samples/s${e.best ? '  *best' : ''}`;
}

/** Training on pure-JS tfjs works but is slow: say so, and how to fix it. */
export function warnIfPureJs(ctx: CliContext, status: StatusLine, backend: LoadedBackend): void {
  if (backend.native) return;
  const c = ctx.chalkErr;
  status.log(
    c.yellow.bold('warning:') +
      c.yellow(` training on pure-JS tfjs (${backend.nativeError ?? backend.reason}) is ${PURE_JS_SLOWDOWN} than the native backend. Run \`npm run setup-native\`; \`rnn doctor\` says why it is missing.`),
  );
}

/** metadata.json's record of the backend and versions of this process. */
export function runEnvironment(backend: LoadedBackend, source: DataSourceInfo): RunEnvironment {
  return { source, backend: { name: backend.name, tensorflow: backend.tfVersion }, versions: { rnn: packageVersion(), tfjs: backend.tfjsVersion, node: process.versions.node } };
}

/** Training progress on stderr: the model summary, a batch status line, a line per epoch (and JSON lines on stdout). */
export function trainingProgress(ctx: CliContext, status: StatusLine, options: TrainOptions, json: boolean, prefix = ''): TrainCallbacks {
  const c = ctx.chalkErr;
  const showLr = options.lrSchedule.kind !== 'constant';
  return {
    onStep: (m) => status.note(c.dim(prefix + m)),
    onModel: (model) => status.log(renderSummary(summarize(model), c)),
    onBatch: (p) =>
      status.update(
        `${prefix}epoch ${p.epoch}/${p.epochs} ${bar(p.batch, p.batches)} ${p.batch}/${p.batches}  loss ${p.loss.toFixed(4)}  acc ${p.acc.toFixed(4)}  ${p.samplesPerSec.toFixed(0)} samples/s  ETA ${formatDuration(p.etaSeconds)}`,
      ),
    onEpoch: (e) => {
      status.log(prefix + formatEpoch(e, showLr));
      if (json) ctx.io.out.write(JSON.stringify(e) + '\n');
    },
  };
}

/** What a run trains: from the flags, or (with --resume) from the checkpoint, whose options win. */
async function runSettings(
  ctx: CliContext,
  cmd: Command,
  flags: TrainFlags,
  status: StatusLine,
): Promise<{ options: TrainOptions; out: string; resume?: ResumeFrom; dataFlags: DataFlags; expectSha?: string }> {
  if (!flags.resume) {
    const options = trainOptionsFromFlags(flags, flags.cell!);
    return { options, out: path.resolve(flags.out ?? path.join(ctx.env.modelsDir, options.cell)), dataFlags: flags };
  }
  const keep = ['--resume', '--data', '--text-column', '--label-column', '--json'];
  const given = cmd.options.filter((o) => o.long && !keep.includes(o.long) && cmd.getOptionValueSource(o.attributeName()) === 'cli');
  if (given.length > 0) {
    throw new UserError(`${given.map((o) => o.long).join(', ')} cannot be combined with --resume`, 'A resumed run keeps the options of the interrupted one: drop them, or start a new run without --resume');
  }
  const { meta, checkpoint } = await loadCheckpoint(flags.resume);
  status.log(ctx.chalkErr.dim(`resuming ${meta.options.cell} (seed ${meta.options.seed}) at epoch ${checkpoint.epoch}, batch ${checkpoint.batch + 1}; the model goes to ${meta.out}`));
  return {
    options: meta.options,
    out: meta.out,
    resume: { checkpoint, dir: path.resolve(flags.resume) },
    dataFlags: flags.data ? flags : meta.data.flags,
    expectSha: meta.data.source.sha256,
  };
}

export function registerTrain(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('train')
    .description('train a SimpleRNN, LSTM or GRU sentiment classifier and save it under models/')
    .option('--cell <cell>', 'recurrent cell: simplernn, lstm or gru (required unless --resume)', cell)
    .option('--out <dir>', 'model directory (default models/<cell>)')
    .option('--resume <checkpoint>', 'continue an interrupted run from its checkpoint (DIR.checkpoint, named when it stopped); its options and data are reused')
    .option('--json', 'one JSON object per epoch on stdout, then one for the saved model');
  addDataOptions(addTrainingOptions(cmd)).action(async (flags: TrainFlags) => {
    if (!flags.resume && !flags.cell) cmd.error("error: required option '--cell <cell>' not specified");
    const status = new StatusLine(ctx.io.err);
    // The process that receives Ctrl-C never runs TensorFlow (see train-worker.ts); the worker does.
    if (!ctx.env.trainWorker) return superviseTraining(ctx, status);
    const stop = stopRequests(); // from the start: a Ctrl-C while the data loads stops before the first batch
    try {
      await trainCommand(ctx, cmd, flags, status, stop.requested);
    } finally {
      stop.dispose();
    }
  });
}

/** The worker's part of `rnn train`: settings, data, training (stopping when `shouldStop`), save, report. */
async function trainCommand(ctx: CliContext, cmd: Command, flags: TrainFlags, status: StatusLine, shouldStop: () => boolean): Promise<void> {
  const backend = await loadBackend(ctx.backend());
  warnIfPureJs(ctx, status, backend);
  const { options, out, resume, dataFlags, expectSha } = await runSettings(ctx, cmd, flags, status);
  if (path.basename(out) === 'latest' && path.dirname(out) === ctx.env.modelsDir) {
    throw new UserError('models/latest is reserved for the pointer to the newest model', 'Pass another --out');
  }
  const data = await loadDataForCli(ctx, dataFlags, ['train'], status);
  if (expectSha !== undefined && data.source.sha256 !== expectSha) {
    throw new UserError(`the data (${data.source.path}) is not what the checkpoint was trained on (SHA-256 differs)`, 'Pass --data with the dataset of the interrupted run');
  }
  checkTrainingReviews(data.train, data.source.path);
  const run = await trainToDir(
      backend.tf,
      data.train,
      options,
      out,
      { ...runEnvironment(backend, data.source), dataFlags: { data: dataFlags.data, textColumn: dataFlags.textColumn, labelColumn: dataFlags.labelColumn } },
      { ...trainingProgress(ctx, status, options, flags.json === true), shouldStop },
      resume,
    );
  const { result, metadata: meta, checkpoint } = run;
  if (checkpoint || !meta) {
    const at = result.interrupted!;
    const batches = Math.ceil(result.counts.train / options.batchSize);
    throw new Interrupted(`checkpoint saved to ${checkpoint} (epoch ${at.epoch} of ${options.epochs}, ${at.batch} of ${batches} batches done); ${out} was not changed. Resume with \`rnn train --resume ${checkpoint}\``);
  }
  if (result.stoppedEarly) status.log(`early stopping: ${options.monitor} did not improve for ${options.earlyStopping} epoch(s)`);
  if (result.weightsEpoch !== result.history.length) {
    const best = result.history[result.weightsEpoch - 1]!;
    status.log(`restored the weights of epoch ${result.weightsEpoch} (best ${options.monitor} ${best[options.monitor]!.toFixed(4)}); the last epoch's model is in ${path.join(out, 'last')}`);
  }
  await pointLatest(ctx.env.modelsDir, out);
  result.model.dispose();
  const last = result.history.at(-1);
  if (flags.json) {
    const kept = result.history[result.weightsEpoch - 1];
    ctx.io.out.write(JSON.stringify({ saved: out, cell: meta.cell, params: meta.params, epoch: result.weightsEpoch, bestEpoch: result.bestEpoch, final: kept, last, stoppedEarly: result.stoppedEarly, samplesPerSec: meta.samplesPerSec, seed: options.seed }) + '\n');
  } else {
    const kept = result.history[result.weightsEpoch - 1];
    const val = kept?.val_acc !== undefined ? `, val_acc ${kept.val_acc.toFixed(4)}` : '';
    const which = result.weightsEpoch === result.history.length ? '' : ` (epoch ${result.weightsEpoch} of ${result.history.length})`;
    ctx.io.out.write(`saved ${options.cell} model${which} to ${out} (acc ${kept?.acc.toFixed(4)}${val}, ${meta.samplesPerSec.toFixed(1)} samples/s, seed ${options.seed})\n`);
  }
}
