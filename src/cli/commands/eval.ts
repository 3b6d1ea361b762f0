import type { Command } from 'commander';
import type { RecurrentImpl } from '../../models/index.js';
import { evaluateModel, testSubset } from '../../predict/score.js';
import { overlapMask } from '../../data/duplicates.js';
import { textsAmong } from '../../data/texts.js';
import { INIT_FINGERPRINTS, readInitFingerprints, readUnlabeledFingerprints, UNLABELED_FINGERPRINTS } from '../../io/lm-dir.js';
import { PREDICT_BATCH_SIZE } from '../../predict/index.js';
import { labelsOf, loadModelFiles, readModelDir, resolveModelDir, type ModelMetadata } from '../../io/model-dir.js';
import { holdOutTest } from '../../data/split.js';
import type { LoadedData } from '../../data/index.js';
import { CONFUSION_SVG, writeEvalRecord } from '../../io/catalog.js';
import type { Metrics } from '../../eval/metrics.js';
import { isClassMetrics, type ClassMetrics } from '../../eval/classes.js';
import { confusionMatrixSvg } from '../../report/confusion.js';
import { isBinaryLabels, type LabelSet } from '../../data/labels.js';
import { exists, writeFileAtomic } from '../../util/fs.js';
import * as path from 'node:path';
import { UserError } from '../../errors.js';
import { loadRuntime, type CliContext } from '../context.js';
import { positiveInt, recurrentImpl } from '../options.js';
import { addDataOptions, loadDataForCli, type DataFlags } from '../data-options.js';
import { StatusLine, bar } from '../progress.js';
import { count, decimal, percent } from '../format.js';
import { col, keyValues, textTable } from '../table.js';
import { renderHistory } from '../render-history.js';

interface EvalFlags extends DataFlags {
  model?: string;
  layers?: RecurrentImpl;
  limit?: number;
  batchSize?: number;
  excludeOverlap?: boolean;
  allowTrainingData?: boolean;
  json?: boolean;
}

export function registerEval(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('eval')
    .description('score a saved model on the test split: loss, accuracy, precision, recall, F1, ROC-AUC, confusion matrix')
    .option('--model <dir>', 'model directory (default models/latest)')
    .option('--layers <impl>', 'recurrent implementation: fused (default) or stock tfjs-layers', recurrentImpl)
    .option('--limit <n>', 'score a fixed random subset of N test reviews (same subset for every model)', positiveInt)
    .option('--batch-size <n>', `reviews per inference batch (default ${PREDICT_BATCH_SIZE})`, positiveInt)
    .option('--exclude-overlap', 'also score the test reviews without those whose text is in the training split (reports both)')
    .option('--allow-training-data', 'score reviews the model was trained on (the same CSV without held-out rows): labelled as such')
    .option('--json', 'print the results as JSON');
  addDataOptions(cmd).action(async (flags: EvalFlags, command: Command) => {
    const status = new StatusLine(ctx.io.err);
    // The model's files and the data are read and checked before TensorFlow loads (about a second).
    const dir = await resolveModelDir(ctx.env.modelsDir, flags.model);
    const m = await readModelDir(dir);
    const heldOut = m.metadata.dataset?.heldOut;
    const labels = labelsOf(m.metadata);
    const trainedOn = flags.data === undefined ? await trainedDataOf(m.dir, m.metadata.dataset) : undefined;
    if (trainedOn) status.note(ctx.chalkErr.dim(`reading ${trainedOn}, the data ${m.dir} was trained on (--data reads other data)`));
    const source = flags.data ?? trainedOn;
    // The CSV the model was trained on is read through the columns training read (other files: as given, or found).
    const columns = source !== undefined && path.resolve(source) === m.metadata.dataset?.path ? m.metadata.dataset.columns : undefined;
    const loaded = await loadDataForCli(
      ctx,
      {
        ...flags,
        data: source,
        textColumn: flags.textColumn ?? columns?.text,
        labelColumn: flags.labelColumn ?? columns?.label,
        splitColumn: heldOut?.column,
        // The data read as the model was trained: the same target, and its labels as the class indices (a binary
        // model of positive and negative reviews takes any of the sentiment pairs, as training did).
        target: flags.target ?? m.metadata.dataset?.target,
        labels: flags.labels ?? (isBinaryLabels(labels) ? undefined : [...labels.names]),
      },
      flags.excludeOverlap ? ['train', 'test'] : ['test'],
      status,
      { splitColumnOptional: true },
    );
    if (loaded.labels.names.join('\n') !== labels.names.join('\n')) {
      throw new UserError(
        'EVAL_LABELS_MISMATCH',
        `${loaded.source.path} has the labels ${loaded.labels.names.join(', ')}, but ${m.dir} predicts ${labels.names.join(', ')}`,
        'Evaluate on data of the labels the model was trained on (--target, --labels), or train a model on this data',
      );
    }
    const { data, scope } = testReviewsFor(m.metadata.dataset, loaded, flags.allowTrainingData === true);
    if (data.test.length === 0)
      throw new UserError('DATA_NO_TEST_REVIEWS', 'the test data has no reviews', 'Pass --data with labeled test reviews');
    if (flags.excludeOverlap && data.train.length === 0) {
      throw new UserError(
        'OPTION_NOT_APPLICABLE',
        '--exclude-overlap needs a training split to compare with',
        'Pass --data with an aclImdb directory or tarball',
      );
    }
    const reviews = testSubset(data.test, flags.limit);
    const pretraining = await pretrainingOverlap(m.dir, m.metadata, reviews, flags.allowTrainingData === true);
    if (pretraining?.unchecked) {
      status.log(
        ctx.chalkErr.yellow(
          `warning: ${m.dir} started from a language model, but its text fingerprints (${INIT_FINGERPRINTS}) are missing: whether it read these test reviews is unknown`,
        ),
      );
    } else if (pretraining && pretraining.reviews > 0) {
      status.log(
        ctx.chalkErr.yellow(
          `warning: ${count(pretraining.reviews)} of the ${count(reviews.length)} test reviews are among the texts the model's language model was pretrained on${pretraining.includesTest ? ' (--allow-test-text)' : ''}${flags.excludeOverlap ? '; --exclude-overlap leaves them out too' : '; --exclude-overlap scores without them'}`,
        ),
      );
    }
    const unlabeled = await unlabeledOverlap(m.dir, m.metadata, reviews);
    if (unlabeled?.unchecked) {
      status.log(
        ctx.chalkErr.yellow(
          `warning: ${m.dir} was self-trained, but the fingerprints of its unlabeled texts (${UNLABELED_FINGERPRINTS}) are missing: whether they held these test reviews is unknown`,
        ),
      );
    } else if (unlabeled && unlabeled.reviews > 0) {
      status.log(
        ctx.chalkErr.yellow(
          `warning: ${count(unlabeled.reviews)} of the ${count(reviews.length)} test reviews are among the unlabeled texts the model was self-trained on (its teacher labeled them)${flags.excludeOverlap ? '; --exclude-overlap leaves them out too' : '; --exclude-overlap scores without them'}`,
        ),
      );
    }
    const evalScope: EvalScope = pretraining?.includesTest && pretraining.reviews > 0 ? 'pretraining text' : scope;
    const backend = await loadRuntime(ctx, command);
    const model = await loadModelFiles(backend, m, flags.layers);
    status.note(ctx.chalkErr.dim(`scoring ${reviews.length} reviews with ${m.dir} (${m.metadata.cell})`));
    const r = evaluateModel(
      backend.tf,
      model,
      reviews,
      labels,
      flags.batchSize ?? PREDICT_BATCH_SIZE,
      (done, total) => status.update(`predicting ${bar(done, total)} ${done}/${total}`),
      flags.excludeOverlap ? orMasks(orMasks(overlapMask(reviews, data.train), pretraining?.mask), unlabeled?.mask) : undefined,
    );
    status.clear();
    model.model.dispose();
    const result = {
      model: m.dir,
      cell: m.metadata.cell,
      ...(isBinaryLabels(labels) ? {} : { labels: labels.names }),
      data: { ...data.source, reviews: reviews.length, scope: evalScope },
      ...(pretraining && {
        pretraining: { languageModel: m.metadata.init!.path, reviews: pretraining.unchecked ? null : pretraining.reviews },
      }),
      ...(unlabeled && {
        selfTraining: { unlabeled: m.metadata.selfTraining!.source.path, reviews: unlabeled.unchecked ? null : unlabeled.reviews },
      }),
      ...r.metrics,
      ...(r.without
        ? { withoutOverlap: { reviews: reviews.length - r.without.excluded, excluded: r.without.excluded, ...r.without.metrics } }
        : {}),
      seconds: r.seconds,
      samplesPerSec: r.samplesPerSec,
    };
    try {
      await writeEvalRecord(m.dir, {
        evaluatedAt: new Date().toISOString(),
        data: { path: data.source.path, reviews: reviews.length, scope: evalScope },
        metrics: r.metrics,
        samplesPerSec: r.samplesPerSec,
      });
      if (isClassMetrics(r.metrics)) {
        await writeFileAtomic(
          path.join(m.dir, CONFUSION_SVG),
          confusionMatrixSvg(r.metrics.confusion, labels.names, { title: `${m.metadata.cell}: ${describeData(result.data)}` }),
        );
      }
    } catch (e) {
      status.log(
        ctx.chalkErr.yellow(
          `warning: could not record the evaluation in ${m.dir} (${(e as Error).message}); \`rnn info\` will not show it`,
        ),
      );
    }
    const w = m.metadata.weights;
    ctx.io.out.write(
      flags.json
        ? JSON.stringify(result, null, 2) + '\n'
        : (isClassMetrics(r.metrics)
            ? renderClassEval(result, r.metrics, labels, r.without as { excluded: number; metrics: ClassMetrics } | undefined)
            : renderEval(result, r.metrics, r.without as { excluded: number; metrics: Metrics } | undefined)) +
            '\n' +
            renderHistory(m.metadata.history, ctx.chalkOut, w ? { epoch: w.bestEpoch, monitor: w.monitor } : undefined),
    );
  });
}

/**
 * Which reviews of the loaded data eval scores. A CSV the model was trained on (same SHA-256): the rows its
 * training held out, drawn again and checked; if it held none out, nothing unless `allowTraining`, and then
 * every row, labelled. Any other data, or a model whose training data is not recorded (imported): its test split.
 */
/**
 * What `rnn eval` reads without --data: the file or directory the model was trained on, while it is still there.
 * A CSV that is gone is an error, because IMDB would be other reviews under the same labels; a downloaded or
 * missing aclImdb leaves the default IMDB (the same test split). Undefined: the default dataset.
 */
async function trainedDataOf(dir: string, trained: ModelMetadata['dataset']): Promise<string | undefined> {
  if (!trained) return undefined; // imported from Keras: no record of its data
  if (trained.url) return undefined; // downloaded: the default source and its cache, as before
  if (await exists(trained.path)) return trained.path;
  if (trained.kind !== 'csv') return undefined;
  throw new UserError(
    'EVAL_DATA_MISSING',
    `${dir} was trained on ${trained.path}, which is no longer there`,
    'Pass --data with the file its test rows came from, or other labeled reviews to score',
  );
}

function testReviewsFor(
  trained: ModelMetadata['dataset'],
  data: LoadedData,
  allowTraining: boolean,
): { data: LoadedData; scope: EvalScope } {
  if (!trained || data.source.kind !== 'csv' || data.source.sha256 !== trained.sha256) return { data, scope: 'test split' };
  const h = trained.heldOut;
  const file = data.source.path;
  if (h && h.method !== 'none') {
    const again = holdOutTest(data.test, { testSplit: h.share ?? 0, splitColumn: h.column, seed: h.seed ?? 0, labels: data.labels });
    if (again.heldOut.testRowsSha256 !== h.testRowsSha256) {
      throw new UserError(
        'EVAL_HELDOUT_CHANGED',
        `the rows ${trained.path} held out for testing cannot be drawn again from ${file}`,
        'Evaluate with the rnn version that trained the model, or retrain',
      );
    }
    return { data: { ...data, test: again.test }, scope: 'held-out rows' };
  }
  if (!allowTraining) {
    throw new UserError(
      'EVAL_ON_TRAINING_DATA',
      `${file} is the data the model was trained on (same SHA-256), and its training held no rows out: every review of it was trained or validated on`,
      'Evaluate on reviews the model has not seen (retrain with --test-split, the default), or pass --allow-training-data to score them anyway',
    );
  }
  return { data, scope: 'training data' };
}

/**
 * The leak guard for pretraining, beside the one for training data above: which test reviews are among the texts
 * the model's language model read (`rnn train --init`; by their fingerprints, kept beside the model). Test reviews
 * it was pretrained on with `--allow-test-text` are refused unless `allowTraining`, as training data is; any other
 * overlap (a review posted twice) is reported. Undefined for a model trained from scratch.
 */
async function pretrainingOverlap(
  dir: string,
  metadata: ModelMetadata,
  reviews: readonly { text: string }[],
  allowTraining: boolean,
): Promise<{ reviews: number; mask?: boolean[]; includesTest: boolean; unchecked?: true } | undefined> {
  const init = metadata.init;
  if (!init) return undefined;
  const fp = await readInitFingerprints(dir);
  if (!fp) return { reviews: 0, includesTest: init.texts.includesTest, unchecked: true };
  const mask = textsAmong(
    reviews.map((r) => r.text),
    fp,
  );
  const n = mask.filter(Boolean).length;
  if (n > 0 && init.texts.includesTest && !allowTraining) {
    throw new UserError(
      'EVAL_ON_PRETRAINING_TEXT',
      `${n} of the ${reviews.length} test reviews are among the texts the model's language model (${init.path}) was pretrained on with --allow-test-text`,
      'Evaluate a model whose language model never read the test reviews (rnn pretrain without --allow-test-text), or pass --allow-training-data to score them anyway',
    );
  }
  return { reviews: n, mask, includesTest: init.texts.includesTest };
}

/**
 * The leak guard for self-training: which test reviews are among the unlabeled texts the model's teacher labeled
 * (`rnn train --unlabeled`; by their fingerprints, kept beside the model). Reported, not refused: the model saw
 * them with its teacher's labels, not theirs. Undefined for a model trained without unlabeled texts.
 */
async function unlabeledOverlap(
  dir: string,
  metadata: ModelMetadata,
  reviews: readonly { text: string }[],
): Promise<{ reviews: number; mask?: boolean[]; unchecked?: true } | undefined> {
  if (!metadata.selfTraining) return undefined;
  const fp = await readUnlabeledFingerprints(dir);
  if (!fp) return { reviews: 0, unchecked: true };
  const mask = textsAmong(
    reviews.map((r) => r.text),
    fp,
  );
  return { reviews: mask.filter(Boolean).length, mask };
}

function orMasks(a: boolean[], b?: boolean[]): boolean[] {
  return b ? a.map((x, i) => x || b[i]!) : a;
}

/** What the scored reviews are: a test split, the rows training held out of a CSV, or (allowed) training data or pretraining text. */
type EvalScope = 'test split' | 'held-out rows' | 'training data' | 'pretraining text';

function describeData(d: { path: string; reviews: number; scope: EvalScope }): string {
  if (d.scope === 'held-out rows') return `${count(d.reviews)} held-out test reviews of ${d.path} (rows its training never saw)`;
  if (d.scope === 'training data')
    return `${count(d.reviews)} reviews of ${d.path}: TRAINING DATA, the model was trained on them (--allow-training-data)`;
  if (d.scope === 'pretraining text')
    return `${count(d.reviews)} test reviews from ${d.path}: PRETRAINING TEXT, its language model read some of them (--allow-training-data)`;
  return `${count(d.reviews)} test reviews from ${d.path}`;
}

function renderEval(
  r: { model: string; cell: string; data: { path: string; reviews: number; scope: EvalScope }; samplesPerSec: number; seconds: number },
  m: Metrics,
  without?: { excluded: number; metrics: Metrics },
): string {
  const c = m.confusion;
  const overlap: [string, string][] = without
    ? [
        [
          'without overlap',
          `accuracy ${percent(without.metrics.accuracy, 2)}, F1 ${percent(without.metrics.f1, 2)} on ${count(r.data.reviews - without.excluded)} reviews (${count(without.excluded)} also in train left out)`,
        ],
      ]
    : [];
  return (
    keyValues([
      ['model', `${r.model} (${r.cell})`],
      ['data', describeData(r.data)],
      ['loss', decimal(m.loss, 4)],
      ['accuracy', percent(m.accuracy, 2)],
      ['precision', percent(m.precision, 2)],
      ['recall', percent(m.recall, 2)],
      ['F1', percent(m.f1, 2)],
      ['ROC-AUC', Number.isNaN(m.rocAuc) ? `${decimal(m.rocAuc, 4)} (one class only)` : decimal(m.rocAuc, 4)],
      ...overlap,
      ['speed', `${decimal(r.samplesPerSec, 0)} reviews/s (${decimal(r.seconds, 1)} s)`],
    ]) +
    textTable(
      [col('confusion matrix'), col('pred neg', 'right'), col('pred pos', 'right')],
      [
        ['  actual negative', count(c.tn), count(c.fp)],
        ['  actual positive', count(c.fn), count(c.tp)],
      ],
      { indent: '  ', gap: 3 },
    )
  );
}

/** k ≥ 3 labels: the headline figures, a row per label, and the k×k confusion matrix (rows true, columns predicted). */
function renderClassEval(
  r: { model: string; cell: string; data: { path: string; reviews: number; scope: EvalScope }; samplesPerSec: number; seconds: number },
  m: ClassMetrics,
  labels: LabelSet,
  without?: { excluded: number; metrics: ClassMetrics },
): string {
  const numeric: [string, string][] =
    m.meanAbsoluteError !== undefined
      ? [
          [
            'error',
            `mean absolute error ${decimal(m.meanAbsoluteError, 3)} (in label units); within one label of the truth ${percent(m.withinOneStep!, 2)}`,
          ],
        ]
      : [];
  const overlap: [string, string][] = without
    ? [
        [
          'without overlap',
          `accuracy ${percent(without.metrics.accuracy, 2)}, macro-F1 ${percent(without.metrics.macroF1, 2)} on ${count(r.data.reviews - without.excluded)} reviews (${count(without.excluded)} also in train left out)`,
        ],
      ]
    : [];
  const names = labels.names;
  return (
    keyValues([
      ['model', `${r.model} (${r.cell}, ${names.length} labels: ${names.join(', ')})`],
      ['data', describeData(r.data)],
      ['log loss', decimal(m.logLoss, 4)],
      ['accuracy', percent(m.accuracy, 2)],
      ['macro-F1', percent(m.macroF1, 2)],
      ['weighted-F1', percent(m.weightedF1, 2)],
      ...numeric,
      ...overlap,
      ['speed', `${decimal(r.samplesPerSec, 0)} reviews/s (${decimal(r.seconds, 1)} s)`],
    ]) +
    textTable(
      [col('label'), col('precision', 'right'), col('recall', 'right'), col('F1', 'right'), col('support', 'right')],
      m.perClass.map((c, i) => [`  ${names[i]}`, percent(c.precision, 1), percent(c.recall, 1), percent(c.f1, 1), count(c.support)]),
      { indent: '  ', gap: 3 },
    ) +
    textTable(
      [col('true \\ predicted'), ...names.map((n) => col(n, 'right'))],
      m.confusion.map((row, i) => [`  ${names[i]}`, ...row.map((v) => count(v))]),
      { indent: '  ', gap: 2 },
    )
  );
}
