import { Option, type Command } from 'commander';
import * as path from 'node:path';
import {
  PRETRAIN_DEFAULTS,
  pretrain,
  resolvePretrainOptions,
  type LmEpochLog,
  type PretrainCheckpoint,
  type PretrainOptions,
} from '../../train/pretrain.js';
import { describeSchedule, type LrSchedule } from '../../train/control.js';
import { loadTexts } from '../../data/texts.js';
import type { DataFlags } from '../../data/index.js';
import { loadCheckpointOf } from '../../io/checkpoint.js';
import { savePretrainRun } from '../../io/lm-dir.js';
import { summarize } from '../../models/index.js';
import { CELLS, type CellType } from '../../cells.js';
import { Interrupted, UserError } from '../../errors.js';
import { loadRuntime, type CliContext } from '../context.js';
import { cell, fraction, lrSchedule, nonNegativeInt, positiveFloat, positiveInt, recurrentImpl } from '../options.js';
import { backendRecord, refuseWithResume, superviseTraining, warnIfPureJs } from '../training.js';
import { supervisorMessages } from '../worker.js';
import { StatusLine, bar } from '../progress.js';
import { count, decimal, duration, learningRate } from '../format.js';
import { renderSummary } from '../render-model.js';
import type { RecurrentImpl } from '../../models/index.js';
import { describeKernels } from '../../backend/index.js';

interface PretrainFlags {
  cell?: CellType;
  data?: string;
  textColumn?: string;
  allowTestText?: boolean;
  out?: string;
  resume?: string;
  json?: boolean;
  epochs?: number;
  batchSize?: number;
  bptt?: number;
  layout?: 'rows' | 'stream';
  lr?: number;
  lrSchedule?: LrSchedule;
  clipNorm?: number | false;
  softmax?: 'sampled' | 'full';
  samples?: number;
  wordDropout?: number;
  validationSplit?: number;
  seed?: number;
  limit?: number;
  units?: number;
  embeddingDim?: number;
  vocabSize?: number;
  oovToken?: string;
  layers?: RecurrentImpl;
}

const D = PRETRAIN_DEFAULTS;

export function registerPretrain(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('pretrain')
    .description('pretrain a next-word language model on unlabeled text, to start a classifier from (rnn train --init)')
    .option('--cell <cell>', `recurrent cell: ${CELLS.join(', ')} (required unless --resume)`, cell)
    .option(
      '--data <source>',
      'a text file (one text per line), a CSV (its text column), or an aclImdb directory or aclImdb_v1.tar.gz (its training reviews and unsup/; default: IMDB)',
    )
    .option('--text-column <name>', 'CSV column holding the texts (default: review, text, sentence or content)')
    .option('--allow-test-text', "aclImdb: also read the labeled test reviews (recorded; rnn eval then refuses that test set's scores)")
    .option('--out <dir>', 'language model directory (default models/lm)')
    .option('--resume <checkpoint>', 'continue an interrupted run from its checkpoint (DIR.checkpoint); its options and texts are reused')
    .option('--json', 'one JSON object per epoch on stdout, then one for the saved language model')
    .option('--epochs <n>', `passes over the training texts (default ${D.epochs})`, positiveInt)
    .option('--batch-size <n>', `windows per step (default ${D.batchSize})`, positiveInt)
    .option(
      '--bptt <n>',
      `steps of a window, where back-propagation is truncated; with --layout rows the classifier's --maxlen (default ${D.bptt})`,
      positiveInt,
    )
    .addOption(
      new Option(
        '--layout <how>',
        `texts as windows: rows (each text pre-padded as the classifier reads it) or stream (texts end to end) (default ${D.layout})`,
      ).choices(['rows', 'stream']),
    )
    .option('--lr <rate>', `adam learning rate (default ${D.lr})`, positiveFloat)
    .option(
      '--lr-schedule <spec>',
      `learning rate per epoch (slanted: per step), as rnn train's (default ${describeSchedule(D.lrSchedule)})`,
      lrSchedule,
    )
    .option('--clip-norm <c>', `clip the gradients to this global norm (default ${D.clipNorm})`, positiveFloat)
    .option('--no-clip-norm', 'do not clip the gradients')
    .addOption(
      new Option('--softmax <how>', `output layer's loss: sampled (--samples candidates a step) or full (default ${D.softmax})`).choices([
        'sampled',
        'full',
      ]),
    )
    .option('--samples <n>', `candidate words of the sampled softmax (default ${D.samples})`, positiveInt)
    .option('--word-dropout <p>', `replace each input word by padding with probability p (default ${D.wordDropout})`, fraction)
    .option('--validation-split <f>', `share of the texts held out for the perplexity (default ${D.validationSplit})`, fraction)
    .option('--seed <n>', 'seed for initialization, the split and shuffling (default: random, recorded)', nonNegativeInt)
    .option('--limit <n>', 'use the first N texts of the seeded shuffle', positiveInt)
    .option('--units <n>', `recurrent units, as rnn train's (default ${D.units})`, positiveInt)
    .option('--embedding-dim <n>', `embedding size, as rnn train's (default ${D.embeddingDim})`, positiveInt)
    .option('--vocab-size <n>', `tokenizer num_words and embedding input size, as rnn train's (default ${D.vocabSize})`, positiveInt)
    .option('--oov-token <token>', 'tokenizer oov_token, as rnn train (default none)')
    .option('--layers <impl>', `recurrent implementation: fused or stock (default ${D.layers})`, recurrentImpl)
    .action(async (flags: PretrainFlags, command: Command) => {
      if (!flags.resume && !flags.cell) {
        cmd.error("error: required option '--cell <cell>' not specified", { code: 'commander.missingMandatoryOptionValue' });
      }
      const status = new StatusLine(ctx.io.err);
      if (!ctx.env.worker) {
        if (!flags.resume) optionsFromFlags(flags);
        return superviseTraining(ctx, status);
      }
      let stop = false;
      const messages = supervisorMessages({ stop: () => (stop = true) });
      try {
        await pretrainCommand(ctx, command, flags, status, () => stop);
      } finally {
        messages.dispose();
      }
    });
}

function optionsFromFlags(flags: PretrainFlags): PretrainOptions {
  if (flags.validationSplit === 0) {
    throw new UserError('OPTION_INVALID', '--validation-split 0 leaves no texts for the held-out perplexity', 'Pass a share above 0');
  }
  return resolvePretrainOptions({
    ...flags,
    cell: flags.cell!,
    oovToken: flags.oovToken ?? null,
    clipNorm: flags.clipNorm === false ? null : flags.clipNorm,
  });
}

async function pretrainCommand(
  ctx: CliContext,
  cmd: Command,
  flags: PretrainFlags,
  status: StatusLine,
  shouldStop: () => boolean,
): Promise<void> {
  let options: PretrainOptions;
  let out: string;
  let dataFlags: DataFlags & { allowTestText?: boolean };
  let resume: { checkpoint: PretrainCheckpoint; dir: string; sha256: string } | undefined;
  if (flags.resume) {
    refuseWithResume(cmd, ['--resume', '--data', '--json']);
    const { meta, checkpoint } = await loadCheckpointOf<PretrainOptions, LmEpochLog>(flags.resume, 'pretrain');
    // A checkpoint written before --layout existed laid its texts out as one stream.
    options = { ...meta.options, layout: meta.options.layout ?? 'stream' };
    out = meta.out;
    dataFlags = flags.data ? { ...meta.data.flags, data: flags.data } : meta.data.flags;
    resume = { checkpoint, dir: path.resolve(flags.resume), sha256: meta.data.source.sha256 };
    status.log(
      ctx.chalkErr.dim(
        `resuming the ${options.cell} language model (seed ${options.seed}) at epoch ${checkpoint.epoch}, batch ${checkpoint.batch + 1}; it goes to ${out}`,
      ),
    );
  } else {
    options = optionsFromFlags(flags);
    out = path.resolve(flags.out ?? path.join(ctx.env.modelsDir, 'lm'));
    dataFlags = { data: flags.data, textColumn: flags.textColumn, ...(flags.allowTestText && { allowTestText: true }) };
  }
  const c = ctx.chalkErr;
  const texts = await loadTexts({
    data: dataFlags.data,
    textColumn: dataFlags.textColumn,
    allowTestText: dataFlags.allowTestText === true,
    defaultSource: ctx.env.imdbSource,
    dataDir: ctx.env.dataDir,
    reviewCache: ctx.env.reviewCacheDir,
    onStep: (m) => status.note(c.dim(m)),
    onDownload: (got, total) => status.update(`downloading ${bar(got, total ?? 0)}`),
  });
  if (resume && texts.source.sha256 !== resume.sha256) {
    throw new UserError(
      'CHECKPOINT_DATA_MISMATCH',
      `the texts (${texts.source.path}) are not what the checkpoint was trained on (SHA-256 differs)`,
      'Pass --data with the texts of the interrupted run',
    );
  }
  const p = texts.source.parts;
  status.log(
    c.dim(
      `${count(texts.texts.length)} texts from ${texts.source.path}` +
        (p.train !== undefined
          ? ` (train ${count(p.train)}, unsup ${count(p.unsup ?? 0)}${p.test !== undefined ? `, test ${count(p.test)}` : ''})`
          : ''),
    ),
  );
  if (texts.source.includesTest) {
    status.log(
      c.yellow(
        `warning: --allow-test-text: the labeled test reviews are among the texts; rnn eval of a classifier trained from this model on them refuses to score unless --allow-training-data`,
      ),
    );
  }
  const backend = await loadRuntime(ctx, cmd);
  warnIfPureJs(ctx, status, backend, options.layers);
  const showLr = options.lrSchedule.kind !== 'constant';
  const result = await pretrain(
    backend,
    texts.texts,
    options,
    {
      onStep: (m) => status.note(c.dim(m)),
      onModel: (model) => status.log(renderSummary(summarize(model), c)),
      onBatch: (b) =>
        status.update(
          `epoch ${b.epoch}/${b.epochs} ${bar(b.batch, b.batches)} ${b.batch}/${b.batches}  loss ${decimal(b.loss, 4)}  ${decimal(b.tokensPerSec, 0)} tokens/s  ETA ${duration(b.etaSeconds)}`,
        ),
      onEpoch: (e) => {
        status.log(formatLmEpoch(e, showLr));
        if (flags.json) ctx.io.out.write(JSON.stringify(e) + '\n');
      },
      shouldStop,
    },
    resume?.checkpoint,
  );
  const record = backendRecord(backend);
  record.backend.recurrentKernels = describeKernels(backend.tf, result.kernels);
  const env = { ...record, texts, dataFlags };
  const saved = await savePretrainRun(backend.tf, result, out, env, resume?.dir);
  if (saved.checkpoint || !saved.metadata) {
    const at = result.interrupted!;
    throw new Interrupted(
      `checkpoint saved to ${saved.checkpoint} (epoch ${at.epoch} of ${options.epochs}, ${at.batch} of ${Math.ceil(result.counts.windows / options.batchSize)} batches done); ${out} was not changed. Resume with \`rnn pretrain --resume ${saved.checkpoint}\``,
    );
  }
  const kept = result.history[result.weightsEpoch - 1];
  if (flags.json) {
    ctx.io.out.write(
      JSON.stringify({
        saved: out,
        kind: 'language-model',
        cell: options.cell,
        params: saved.metadata.params,
        epoch: result.weightsEpoch,
        final: kept,
        unigramPerplexity: result.unigramPerplexity,
        tokensPerSec: result.tokensPerSec,
        texts: saved.metadata.texts,
        seed: options.seed,
      }) + '\n',
    );
  } else {
    ctx.io.out.write(
      `saved ${options.cell} language model to ${out} (held-out perplexity ${decimal(kept?.val_perplexity, 1)}, unigram ${decimal(result.unigramPerplexity, 1)}; ${decimal(result.tokensPerSec, 0)} tokens/s, seed ${options.seed}). Start a classifier from it: rnn train --cell ${options.cell} --init ${out}\n`,
    );
  }
}

/** `epoch 1  loss 5.1234  val_perplexity 180.3  val_acc 0.2012  3m10s  35012 tokens/s  *best`. */
export function formatLmEpoch(e: LmEpochLog, showLr: boolean): string {
  const val =
    e.val_loss !== undefined
      ? `  val_loss ${decimal(e.val_loss, 4)}  perplexity ${decimal(e.val_perplexity, 1)}  next-word acc ${decimal(e.val_acc, 4)}`
      : '';
  return `epoch ${e.epoch}  loss ${decimal(e.loss, 4)}${val}${showLr ? `  lr ${learningRate(e.lr)}` : ''}  ${duration(e.seconds)}  ${decimal(e.tokensPerSec, 0)} tokens/s${e.best ? '  *best' : ''}`;
}
