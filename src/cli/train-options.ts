/** The training flags `rnn train` and `rnn compare` share, and how they become {@link TrainOptions}. */
import { Option, type Command } from 'commander';
import { CLIP_NORM_DEFAULT, EMA_DEFAULT, WORD_DROPOUT_DEFAULT, resolveTrainOptions, type TrainOptions } from '../train/index.js';
import type { CellType, RecurrentImpl } from '../models/index.js';
import type { LrSchedule, Monitor } from '../train/control.js';
import { UserError } from '../errors.js';
import { fraction, positiveFloat, positiveInt, nonNegativeInt, recurrentImpl, monitor, lrSchedule, momentum } from './options.js';

export interface TrainingFlags {
  epochs?: number;
  batchSize?: number;
  lr?: number;
  validationSplit?: number;
  seed?: number;
  limit?: number;
  units?: number;
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
}

export function addTrainingOptions(cmd: Command): Command {
  return cmd
    .option('--epochs <n>', 'passes over the training reviews (default 3)', positiveInt)
    .option('--batch-size <n>', 'reviews per step (default 32, as Keras fit)', positiveInt)
    .option('--lr <rate>', 'adam learning rate (default 0.001)', positiveFloat)
    .option('--validation-split <f>', 'share of training reviews held out for validation, from the end like Keras validation_split (default 0.1; the Keras lesson holds out 0.2)', fraction)
    .option('--seed <n>', 'seed for initialization and shuffling (default: random, recorded in metadata.json)', nonNegativeInt)
    .option('--limit <n>', 'train on the first N reviews of the seeded shuffle', positiveInt)
    .option('--units <n>', 'recurrent units (default 128)', positiveInt)
    .option('--embedding-dim <n>', 'embedding size (default 100)', positiveInt)
    .option('--vocab-size <n>', 'tokenizer num_words and embedding input size (default 10000)', positiveInt)
    .option('--maxlen <n>', 'pad/truncate reviews to this many ids (default 256)', positiveInt)
    .addOption(new Option('--padding <side>', "where padding goes (Keras default 'pre')").choices(['pre', 'post']))
    .addOption(new Option('--truncating <side>', "which end long reviews lose (Keras default 'pre')").choices(['pre', 'post']))
    .option('--oov-token <token>', 'tokenizer oov_token (default none: unknown words are dropped, as in Keras)')
    .option('--layers <impl>', "recurrent implementation: fused (rnn's fast forward/backward, default) or stock (tfjs-layers); the saved model is the same", recurrentImpl)
    .option('--monitor <metric>', 'epoch metric that picks the best epoch: val_acc (default), val_loss, acc or loss', monitor)
    .option('--no-restore-best', "keep the last epoch's weights, not the best epoch's")
    .option('--early-stopping <patience>', 'stop after this many epochs without improvement of --monitor', positiveInt)
    .option('--lr-schedule <spec>', 'learning rate per epoch: cosine (default: decays from --lr towards 0 over --epochs), constant (Keras fit), plateau[:FACTOR[:PATIENCE]] (default 0.5:1) or exponential[:GAMMA] (default 0.5)', lrSchedule)
    .option('--ema <momentum>', `validate and save a moving average of the weights over the last steps (Keras use_ema); the momentum sets how many (default ${EMA_DEFAULT})`, momentum)
    .option('--no-ema', 'validate and save the trained weights themselves, as Keras fit does')
    .option('--clip-norm <c>', `clip each step's gradients to this joint L2 norm (Keras global_clipnorm; default ${CLIP_NORM_DEFAULT})`, positiveFloat)
    .option('--no-clip-norm', 'apply the gradients unclipped, as Keras fit does')
    .option('--word-dropout <p>', `drop each word of a training review with probability p, anew every epoch (augmentation; the model is unchanged; default ${WORD_DROPOUT_DEFAULT}, 0 for none)`, fraction);
}

/** TrainOptions for one cell; flag combinations commander cannot check are UserErrors here. */
export function trainOptionsFromFlags(flags: TrainingFlags, cell: CellType): TrainOptions {
  if (flags.monitor?.startsWith('val_') && flags.validationSplit === 0) {
    throw new UserError(`--monitor ${flags.monitor} needs validation reviews, but --validation-split is 0`, 'Pass --monitor acc or loss, or a --validation-split above 0');
  }
  return resolveTrainOptions({ ...flags, cell, oovToken: flags.oovToken ?? null, ema: flags.ema === false ? null : flags.ema, clipNorm: flags.clipNorm === false ? null : flags.clipNorm });
}

/** Training needs at least two reviews of both classes; anything else is a UserError naming the data. */
export function checkTrainingReviews(reviews: readonly { label: number }[], where: string): void {
  if (reviews.length < 2) throw new UserError(`the training data has ${reviews.length} review(s)`, 'Use a dataset with at least two labeled reviews');
  const pos = reviews.filter((r) => r.label === 1).length;
  if (pos === 0 || pos === reviews.length) {
    throw new UserError(
      `${where} has only ${pos === 0 ? 'negative' : 'positive'} reviews (${reviews.length})`,
      'A sentiment classifier needs positive and negative reviews: check --label-column, or use other data',
    );
  }
}
