/**
 * What `rnn train` and `rnn compare` share: the training flags (their help generated from TRAIN_DEFAULTS),
 * how they become TrainOptions, the progress lines, what metadata.json records of the run's backend, and the
 * language model `--init` starts from.
 */
import { Option, type Command } from 'commander';
import {
  PRESETS,
  PRESET_NAMES,
  TRAIN_DEFAULTS,
  defaultMonitor,
  resolveTrainOptions,
  trainClasses,
  type PresetName,
  type TrainOptions,
} from '../train/options.js';
import type { EpochLog, TrainCallbacks } from '../train/types.js';
import { describeSchedule, type LrSchedule, type Monitor } from '../train/control.js';
import { BINARY_CLASSES, isLessonTopology, summarize, type RecurrentImpl } from '../models/index.js';
import { ONEDNN_FIX } from '../kernels/index.js';
import { POOLINGS, type CellType, type Pooling } from '../cells.js';
import { PAD_SIDES } from '../text/pad.js';
import { describeKernels, PURE_JS_SLOWDOWN, type LoadedBackend } from '../backend/index.js';
import { BINARY_LABELS, isBinaryLabels, type DataSourceInfo, type LabelSet } from '../data/index.js';
import { checkLabelCounts, stratifies } from '../data/split.js';
import type { RunEnvironment } from '../io/run.js';
import { loadLanguageModelDir } from '../io/lm-dir.js';
import { fingerprintBytes, loadTexts, textFingerprints, type TextSourceInfo } from '../data/texts.js';
import * as path from 'node:path';
import type { InitFrom } from '../train/types.js';
import type { TF } from '../backend/index.js';
import { ExitWith, Interrupted, UserError } from '../errors.js';
import { superviseWorker } from './worker.js';
import { fraction, positiveFloat, positiveInt, nonNegativeInt, recurrentImpl, monitor, lrSchedule, momentum } from './options.js';
import type { CliContext } from './context.js';
import { bar, type StatusLine } from './progress.js';
import { count, decimal, duration, learningRate } from './format.js';
import { renderSummary } from './render-model.js';
import { packageVersion } from './version.js';

export interface TrainingFlags {
  preset?: PresetName;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  validationSplit?: number;
  seed?: number;
  limit?: number;
  units?: number;
  bidirectional?: boolean;
  pooling?: Pooling;
  embeddingDim?: number;
  vocabSize?: number;
  maxlen?: number;
  padding?: 'pre' | 'post';
  truncating?: 'pre' | 'post';
  oovToken?: string;
  layers?: RecurrentImpl;
  monitor?: Monitor;
  restoreBest: boolean;
  earlyStopping?: number;
  lrSchedule?: LrSchedule;
  /** `--ema M` or `--no-ema` (false). */
  ema?: number | false;
  wordDropout?: number;
  /** `--clip-norm C` or `--no-clip-norm` (false). */
  clipNorm?: number | false;
  dedupe?: boolean;
  /** `--class-weight balanced`. */
  classWeight?: 'balanced';
}

const D = TRAIN_DEFAULTS;

export function addTrainingOptions(cmd: Command): Command {
  return cmd
    .option('--epochs <n>', `passes over the training reviews (default ${D.epochs})`, positiveInt)
    .option('--batch-size <n>', `reviews per step (default ${D.batchSize}, as Keras fit)`, positiveInt)
    .option('--lr <rate>', `adam learning rate (default ${D.lr})`, positiveFloat)
    .option(
      '--validation-split <f>',
      `share of training reviews held out for validation, from the end like Keras validation_split (default ${D.validationSplit}; the Keras lesson holds out 0.2)`,
      fraction,
    )
    .option('--seed <n>', 'seed for initialization and shuffling (default: random, recorded in metadata.json)', nonNegativeInt)
    .option(
      '--dedupe',
      `drop training reviews whose text repeats an earlier one's (rnn data counts them; default ${D.dedupe ? 'on' : "off, Keras's data as is"})`,
    )
    .option('--limit <n>', 'train on the first N reviews of the seeded shuffle', positiveInt)
    .option('--units <n>', `recurrent units, of each direction (default ${D.units})`, positiveInt)
    .option('--bidirectional', `run the recurrent layer both ways, Keras's Bidirectional (default ${D.bidirectional ? 'on' : 'off'})`)
    .option('--no-bidirectional', 'one direction only (overrides a preset)')
    .addOption(
      new Option(
        '--pooling <how>',
        `what the dense layer reads: the last state (last), or the maximum (max) or mean (mean) of the outputs over time (default ${D.pooling})`,
      ).choices(POOLINGS),
    )
    .option('--embedding-dim <n>', `embedding size (default ${D.embeddingDim})`, positiveInt)
    .option('--vocab-size <n>', `tokenizer num_words and embedding input size (default ${D.vocabSize})`, positiveInt)
    .option('--maxlen <n>', `pad/truncate reviews to this many ids (default ${D.maxlen})`, positiveInt)
    .addOption(new Option('--padding <side>', `where padding goes (default '${D.padding}', as Keras)`).choices([...PAD_SIDES]))
    .addOption(
      new Option('--truncating <side>', `which end long reviews lose (default '${D.truncating}', as Keras)`).choices([...PAD_SIDES]),
    )
    .option('--oov-token <token>', 'tokenizer oov_token (default none: unknown words are dropped, as in Keras)')
    .option(
      '--layers <impl>',
      `recurrent implementation: fused (rnn's fast forward/backward) or stock (tfjs-layers); the saved model is the same (default ${D.layers})`,
      recurrentImpl,
    )
    .option(
      '--monitor <metric>',
      `epoch metric that picks the best epoch: val_acc, val_loss, acc or loss (default ${defaultMonitor(D.validationSplit)}; ${defaultMonitor(0)} without validation reviews)`,
      monitor,
    )
    .option('--no-restore-best', "keep the last epoch's weights, not the best epoch's")
    .option('--early-stopping <patience>', 'stop after this many epochs without improvement of --monitor', positiveInt)
    .option(
      '--lr-schedule <spec>',
      `learning rate per epoch: cosine (decays from --lr towards 0 over --epochs), constant (Keras fit), plateau[:FACTOR[:PATIENCE]] (default 0.5:1), exponential[:GAMMA] (default 0.5) or slanted[:CUT_FRAC[:RATIO]] (per step: up over the first CUT_FRAC of the run's steps, down to --lr/RATIO at the last; ULMFiT's 0.1:32) (default ${describeSchedule(D.lrSchedule)})`,
      lrSchedule,
    )
    .option(
      '--ema <momentum>',
      `validate and save a moving average of the weights over the last steps (Keras use_ema); the momentum sets how many (default ${D.ema})`,
      momentum,
    )
    .option('--no-ema', 'validate and save the trained weights themselves, as Keras fit does')
    .option(
      '--clip-norm <c>',
      `clip each step's gradients to this joint L2 norm (Keras global_clipnorm; default ${D.clipNorm})`,
      positiveFloat,
    )
    .option('--no-clip-norm', 'apply the gradients unclipped, as Keras fit does')
    .addOption(
      new Option(
        '--class-weight <how>',
        "weigh each review's loss by its label: balanced (Keras class_weight='balanced': every label counts as much in total, for imbalanced data; default none)",
      ).choices(['balanced']),
    )
    .option(
      '--word-dropout <p>',
      `drop each word of a training review with probability p, anew every epoch (augmentation; the model is unchanged; default ${D.wordDropout}, 0 for none)`,
      fraction,
    );
}

/** `best: bidirectional, pooling max, maxlen 400, vocab size 40000`: what each preset sets, for help text. */
export function describePresets(names: readonly PresetName[] = PRESET_NAMES): string {
  const words = (k: string) => k.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`);
  return names
    .map((name) => {
      const set = Object.entries(PRESETS[name]).map(([k, v]) => (v === true ? words(k) : `${words(k)} ${String(v)}`));
      return `${name} (${set.length > 0 ? set.join(', ') : 'the defaults'})`;
    })
    .join('; ');
}

/** `--preset NAME` (train): a named set of defaults; flags given override it. */
export function presetOption(): Option {
  return new Option('--preset <name>', `start from a named set of options, which flags given override: ${describePresets()}`).choices(
    PRESET_NAMES,
  );
}

/**
 * The options of a run on data of these labels: k ≥ 3 labels train k classes (two keep the lesson's binary
 * model). A resumed run's options already say how many; data whose labels no longer match is refused.
 */
export function withLabels(options: TrainOptions, labels: LabelSet, resumed: boolean): TrainOptions {
  const k = Math.max(BINARY_CLASSES, labels.names.length);
  if (trainClasses(options) === k) return options;
  if (resumed) {
    throw new UserError(
      'CHECKPOINT_DATA_MISMATCH',
      `the data has ${k} labels (${labels.names.join(', ')}), but the interrupted run trained ${trainClasses(options)} classes`,
      'Pass --data with the dataset of the interrupted run',
    );
  }
  return resolveTrainOptions({ ...options, classes: k });
}

/** TrainOptions for one cell; flag combinations commander cannot check are UserErrors here. */
export function trainOptionsFromFlags(flags: TrainingFlags, cell: CellType): TrainOptions {
  return resolveTrainOptions({ ...trainOverrides(flags), cell });
}

/** The options the flags set, undefined where a flag is absent (the preset's value or the default applies). */
export function trainOverrides(flags: TrainingFlags): Partial<TrainOptions> {
  if (flags.monitor?.startsWith('val_') && flags.validationSplit === 0) {
    throw new UserError(
      'OPTION_CONFLICT',
      `--monitor ${flags.monitor} needs validation reviews, but --validation-split is 0`,
      'Pass --monitor acc or loss, or a --validation-split above 0',
    );
  }
  return {
    ...flags,
    oovToken: flags.oovToken ?? null,
    ema: flags.ema === false ? null : flags.ema,
    clipNorm: flags.clipNorm === false ? null : flags.clipNorm,
  };
}

/**
 * Training needs at least two reviews and both labels (two labels), or at least two reviews of every label
 * (three or more: src/data/split.ts); anything else is a UserError naming the data.
 */
export function checkTrainingReviews(reviews: readonly { label: number }[], where: string, labels: LabelSet = BINARY_LABELS): void {
  if (reviews.length < 2)
    throw new UserError(
      'DATA_TOO_FEW_REVIEWS',
      `the training data has ${reviews.length} review(s)`,
      'Use a dataset with at least two labeled reviews',
    );
  if (stratifies(labels)) return checkLabelCounts(reviews, labels, where);
  const pos = reviews.filter((r) => r.label === 1).length;
  if (pos === 0 || pos === reviews.length) {
    const binary = isBinaryLabels(labels);
    throw new UserError(
      'DATA_ONE_LABEL',
      `${where} has only ${labels.names[pos === 0 ? 0 : 1]} reviews (${reviews.length})`,
      binary
        ? 'A sentiment classifier needs positive and negative reviews: check --label-column, or use other data'
        : `A classifier needs reviews of both labels (${labels.names.join(', ')}): check --label-column, or use other data`,
    );
  }
}

/** One line per epoch: `epoch 2  loss 0.3121  acc 0.8712  val_loss …  val_acc …  lr 0.0005  1m02s  901.2 samples/s  *best`. */
export function formatEpoch(e: EpochLog, showLr: boolean): string {
  const val = e.val_acc !== undefined ? `  val_loss ${decimal(e.val_loss, 4)}  val_acc ${decimal(e.val_acc, 4)}` : '';
  const lr = showLr ? `  lr ${learningRate(e.lr)}` : '';
  return `epoch ${e.epoch}  loss ${decimal(e.loss, 4)}  acc ${decimal(e.acc, 4)}${val}${lr}  ${duration(e.seconds)}  ${decimal(e.samplesPerSec, 1)} samples/s${e.best ? '  *best' : ''}`;
}

/**
 * Training on pure-JS tfjs works but is slow: say so, and how to fix it. Not when the lesson model's whole
 * step runs on rnn's oneDNN kernels (fused layers on them), which do not depend on the backend.
 */
export function warnIfPureJs(ctx: CliContext, status: StatusLine, backend: LoadedBackend, layers: RecurrentImpl): void {
  if (backend.native || (backend.kernels.name === 'onednn' && layers === 'fused')) return;
  const c = ctx.chalkErr;
  status.log(
    c.yellow.bold('warning:') +
      c.yellow(
        ` training on pure-JS tfjs (${backend.nativeError ?? backend.reason}) is ${PURE_JS_SLOWDOWN} than the native backend. Run \`npm run setup-native\`; \`rnn doctor\` says why it is missing.`,
      ),
  );
}

/**
 * A bidirectional or pooled model with fused layers but without the oneDNN kernels falls back to the fused layers on the tfjs
 * kernels, layer by layer, where the oneDNN kernels train it whole: several times slower. Say so, and how to
 * get the kernels.
 */
export function warnIfTfjsFallback(ctx: CliContext, status: StatusLine, backend: LoadedBackend, options: TrainOptions): void {
  if (isLessonTopology(options) || options.layers === 'stock' || backend.kernels.name === 'onednn') return;
  const c = ctx.chalkErr;
  status.log(
    c.yellow.bold('warning:') +
      c.yellow(
        ` a ${options.bidirectional ? 'bidirectional' : `${options.pooling}-pooled`} model trains on the fused layers on ${describeKernels(backend.tf, backend.kernels)} without rnn's oneDNN kernels (${backend.kernels.reason}), several times slower than whole on them. ${ONEDNN_FIX}.`,
      ),
  );
}

/** metadata.json's record of the backend, kernels and versions of this process. */
export function runEnvironment(backend: LoadedBackend, source: DataSourceInfo): RunEnvironment {
  return { source, ...backendRecord(backend) };
}

/** metadata.json's record of the backend, kernels and versions of this process (without the data). */
export function backendRecord(backend: LoadedBackend): Pick<RunEnvironment, 'backend' | 'versions'> {
  return {
    backend: { name: backend.name, tensorflow: backend.tfVersion, recurrentKernels: describeKernels(backend.tf, backend.kernels) },
    versions: { rnn: packageVersion(), tfjs: backend.tfjsVersion, node: process.versions.node },
  };
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
        `${prefix}epoch ${p.epoch}/${p.epochs} ${bar(p.batch, p.batches)} ${p.batch}/${p.batches}  loss ${decimal(p.loss, 4)}  acc ${decimal(p.acc, 4)}  ${decimal(p.samplesPerSec, 0)} samples/s  ETA ${duration(p.etaSeconds)}`,
      ),
    onEpoch: (e) => {
      status.log(prefix + formatEpoch(e, showLr));
      if (json) ctx.io.out.write(JSON.stringify(e) + '\n');
    },
  };
}

/**
 * The supervisor's part of `rnn train` and `rnn pretrain` (src/cli/worker.ts says why the work runs in a worker):
 * the first SIGINT/SIGTERM asks the worker to stop after its batch and save a checkpoint, the second kills it.
 */
export async function superviseTraining(ctx: CliContext, status: StatusLine): Promise<never> {
  const { code, stops } = await superviseWorker(ctx, (sig, n, child) => {
    if (sig === 'SIGHUP') return;
    if (n === 1 && child.connected) {
      status.log(
        ctx.chalkErr.yellow(
          `${sig}: stopping after this batch and saving a checkpoint (${sig === 'SIGINT' ? 'Ctrl-C again' : 'another signal'} quits at once, without one)`,
        ),
      );
      child.send({ stop: sig });
    } else {
      child.kill('SIGKILL');
    }
  });
  if (stops > 1) throw new Interrupted('stopped at once, without a checkpoint; the model directory was not changed');
  throw new ExitWith(code);
}

/** A resumed run keeps the options of the interrupted one: any option given on the command line but `keep` is an error. */
export function refuseWithResume(cmd: Command, keep: readonly string[]): void {
  const given = cmd.options.filter((o) => o.long && !keep.includes(o.long) && cmd.getOptionValueSource(o.attributeName()) === 'cli');
  if (given.length > 0) {
    throw new UserError(
      'OPTION_CONFLICT',
      `${given.map((o) => o.long).join(', ')} cannot be combined with --resume`,
      'A resumed run keeps the options of the interrupted one: drop them, or start a new run without --resume',
    );
  }
}

/** The language model `--init` names, loaded and checked, with what metadata.json records of it. */
export async function loadInit(tf: TF, dir: string): Promise<{ from: InitFrom; env: NonNullable<RunEnvironment['init']> }> {
  const lm = await loadLanguageModelDir(tf, dir);
  const m = lm.metadata;
  return {
    from: { dir: lm.dir, tokenizer: lm.tokenizer, options: m.options, model: lm.model },
    env: {
      record: {
        path: lm.dir,
        weightsSha256: m.weightsSha256,
        tokenizerSha256: m.preprocessing.tokenizerSha256,
        texts: m.texts,
        ...(m.history[m.weights.epoch - 1]?.val_perplexity !== undefined && { perplexity: m.history[m.weights.epoch - 1]!.val_perplexity }),
      },
      fingerprintFile: lm.fingerprintFile,
    },
  };
}

/** `--unlabeled`: a URL (http, https, file) as given, a path made absolute (the options record it, and a resumed run reads it again). */
export function unlabeledSpec(spec: string): string {
  return /^(https?|file):\/\//i.test(spec) ? spec : path.resolve(spec);
}

/**
 * Self-training's unlabeled texts (`--unlabeled`): a text file, a CSV's text column (by its usual names), or an aclImdb source's
 * training texts and unsup/ (never its test reviews), with their source and fingerprints (kept beside the model
 * for `rnn eval`'s leak guard).
 */
export async function loadUnlabeled(
  ctx: CliContext,
  status: StatusLine,
  spec: string,
): Promise<{ texts: string[]; source: TextSourceInfo; fingerprintFile: Uint8Array }> {
  const c = ctx.chalkErr;
  const { texts, source } = await loadTexts({
    data: spec,
    allowTestText: false,
    flag: '--unlabeled',
    defaultSource: ctx.env.imdbSource,
    dataDir: ctx.env.dataDir,
    reviewCache: ctx.env.reviewCacheDir,
    onStep: (m) => status.note(c.dim(m)),
    onDownload: (got, total) => status.update(`downloading ${bar(got, total ?? 0)}`),
  });
  status.log(c.dim(`self-training: ${count(texts.length)} unlabeled texts from ${source.path}`));
  return { texts, source, fingerprintFile: fingerprintBytes(textFingerprints(texts)) };
}

/** The line saying which language model a run starts from, and a warning when it read labeled test reviews. */
export function logInit(ctx: CliContext, status: StatusLine, init: Awaited<ReturnType<typeof loadInit>>): void {
  const r = init.env.record;
  status.log(
    ctx.chalkErr.dim(
      `starting from the language model ${init.from.dir} (${count(r.texts.texts)} texts of ${r.texts.path}${r.perplexity !== undefined ? `, held-out perplexity ${decimal(r.perplexity, 1)}` : ''})`,
    ),
  );
  if (r.texts.includesTest)
    status.log(ctx.chalkErr.yellow('warning: the language model was pretrained on labeled test reviews (--allow-test-text)'));
}
