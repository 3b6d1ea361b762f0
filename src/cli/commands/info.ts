import { isBinaryLabels } from '../../data/labels.js';
import { labelsOf } from '../../io/model-dir.js';
import { isClassMetrics } from '../../eval/classes.js';
import type { Command } from 'commander';
import type { ChalkInstance } from 'chalk';
import * as path from 'node:path';
import { listModels, readAnyModelInfo, type LanguageModelInfo, type ModelInfo, type ModelListing } from '../../io/catalog.js';
import { resolveModelDir } from '../../io/model-dir.js';
import { describeRecipe } from '../../train/control.js';
import type { CliContext } from '../context.js';
import { col, keyValues, textTable } from '../table.js';
import { bytes, count, decimal, duration, percent } from '../format.js';
import { renderHistory } from '../render-history.js';
import { describeArchitecture, describeSelfTraining } from '../render-model.js';

export function registerInfo(program: Command, ctx: CliContext): void {
  program
    .command('info')
    .description('summarize a saved model: cell, parameters, data, training history, test metrics')
    .option('--model <dir>', 'model directory (default models/latest)')
    .option('--json', 'print metadata, last evaluation and files as JSON')
    .action(async (flags: { model?: string; json?: boolean }) => {
      const read = await readAnyModelInfo(await resolveModelDir(ctx.env.modelsDir, flags.model));
      if ('languageModel' in read) {
        ctx.io.out.write(
          flags.json ? JSON.stringify(read.languageModel, null, 2) + '\n' : renderLanguageModelInfo(read.languageModel, ctx.chalkOut),
        );
        return;
      }
      const info = read.classifier;
      ctx.io.out.write(flags.json ? JSON.stringify(info, null, 2) + '\n' : renderInfo(info, ctx.chalkOut));
    });
  program
    .command('list')
    .description('list the saved models under models/ (newest first; * marks models/latest)')
    .option('--json', 'print the list as JSON')
    .action(async (flags: { json?: boolean }) => {
      const rows = await listModels(ctx.env.modelsDir);
      if (flags.json) {
        ctx.io.out.write(JSON.stringify(rows.map(listingJson), null, 2) + '\n');
        return;
      }
      if (rows.length === 0) {
        ctx.io.err.write(`no models in ${ctx.env.modelsDir}; train one with \`rnn train --cell lstm\`\n`);
        return;
      }
      ctx.io.out.write(renderList(rows, ctx.chalkOut));
    });
}

const pct = (v: number | undefined): string => percent(v, 2);

function bestEpoch(info: ModelInfo): number {
  const m = info.metadata;
  return m.weights?.epoch ?? m.history.length;
}

export function renderInfo(info: ModelInfo, c: ChalkInstance): string {
  const m = info.metadata;
  const h = m.hyperParameters;
  const w = m.weights;
  const kept = m.history[bestEpoch(info) - 1];
  const when = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  const labels = labelsOf(m);
  const weights = m.classWeights ? ` · class weights ${m.classWeights.map((x) => decimal(x, 3)).join(', ')}` : '';
  const head: [string, string][] = [
    ['model', info.dir],
    ['cell', `${describeArchitecture(m.cell, h)} · ${count(m.params.total)} parameters`],
    ...(isBinaryLabels(labels) && !weights
      ? []
      : ([['labels', `${labels.names.length}: ${labels.names.join(', ')}${labels.numeric ? ' (numbers)' : ''}${weights}`]] as [
          string,
          string,
        ][])),
  ];
  const preprocessing: [string, string] = [
    'preprocessing',
    `Keras Tokenizer num_words ${h.vocabSize}${h.oovToken ? `, oov ${h.oovToken}` : ''} · maxlen ${h.maxlen}, padding ${h.padding}, truncating ${h.truncating}`,
  ];
  const trained: [string, string][] = [
    [
      'trained',
      `${when(m.createdAt)} · ${m.history.length} epoch(s) · ${duration(m.timings.secondsPerEpoch)}/epoch · ${decimal(m.samplesPerSec, 0)} samples/s · ${m.backend.name}${m.backend.tensorflow ? ` (TF ${m.backend.tensorflow})` : ''}`,
    ],
    ...(m.backend.recurrentKernels
      ? ([
          [
            'kernels',
            `${m.backend.recurrentKernels}${m.backend.trainingStep?.startsWith("rnn's oneDNN addon") ? ' · whole training step in the addon' : ''}`,
          ],
        ] as [string, string][])
      : []),
    [
      'weights',
      w
        ? `epoch ${w.epoch} (best by ${w.monitor}: epoch ${w.bestEpoch}${w.stoppedEarly ? ', stopped early' : ''})${kept?.val_acc !== undefined ? ` · val_acc ${pct(kept.val_acc)}` : ''}`
        : `last epoch`,
    ],
    [
      'data',
      m.dataset
        ? `${m.dataset.path} · ${count(m.dataset.trainReviews)} training / ${count(m.dataset.validationReviews)} validation reviews · ${pct(m.dataset.truncatedShare)} truncated at ${h.maxlen}`
        : 'not recorded',
    ],
    preprocessing,
    [
      'training',
      `batch ${h.batchSize}, ${describeRecipe(h)}, validation split ${h.validationSplit}, seed ${h.seed}${h.earlyStopping ? `, early stopping ${h.earlyStopping}` : ''}`,
    ],
    ...(h.init
      ? [
          [
            'pretrained',
            `from the language model ${h.init}${h.initLrScale ? `, its layers at ${h.initLrScale} × lr` : ''}${h.gradualUnfreezing ? ', gradual unfreezing' : ''}`,
          ] as [string, string],
        ]
      : []),
    ...(m.selfTraining ? [['self-trained', describeSelfTraining(m.selfTraining, labelsOf(m).names)] as [string, string]] : []),
  ];
  // A model imported from Keras: where it came from instead of how it was trained (rnn does not know).
  const i = m.imported;
  const imported: [string, string][] = i
    ? [
        [
          'imported',
          `${when(m.createdAt)} from ${i.file}${i.kerasVersion ? ` (Keras ${i.kerasVersion}${i.savedAt ? `, saved ${i.savedAt.replace('@', ' ')}` : ''})` : ''}`,
        ],
        ['data', 'not recorded (a Keras archive does not say)'],
        preprocessing,
      ]
    : [];
  const rows: [string, string][] = [...head, ...(i ? imported : trained)];
  const e = info.evaluation;
  if (e) {
    const m = e.metrics;
    const figures = isClassMetrics(m)
      ? `accuracy ${pct(m.accuracy)} · macro-F1 ${pct(m.macroF1)} · weighted-F1 ${pct(m.weightedF1)}${m.meanAbsoluteError !== undefined ? ` · MAE ${decimal(m.meanAbsoluteError, 2)}` : ''}`
      : `accuracy ${pct(m.accuracy)} · F1 ${pct(m.f1)} · ROC-AUC ${decimal(m.rocAuc, 4)}`;
    rows.push(['test', `${figures} (${count(e.data.reviews)} reviews, ${e.evaluatedAt.slice(0, 10)})`]);
  } else {
    rows.push(['test', c.dim('not evaluated yet (run `rnn eval`)')]);
  }
  const files = info.files.map((f) => `${f.name} (${bytes(f.bytes)})`);
  if (info.lastCheckpoint) files.push(`${path.basename(info.lastCheckpoint)}/ (last epoch)`);
  rows.push(['files', files.join(', ')]);
  return keyValues(rows) + '\n' + renderHistory(m.history, c, w ? { epoch: w.bestEpoch, monitor: w.monitor } : undefined);
}

/** A language model: its shapes, texts, held-out perplexity against the unigram model's, and how it was trained. */
export function renderLanguageModelInfo(info: LanguageModelInfo, c: ChalkInstance): string {
  const m = info.metadata;
  const o = m.options;
  const t = m.texts;
  const kept = m.history[m.weights.epoch - 1];
  const parts = Object.entries(t.parts)
    .map(([k, v]) => `${k} ${count(v)}`)
    .join(', ');
  const rows: [string, string][] = [
    ['language model', info.dir],
    [
      'shapes',
      `${describeArchitecture(m.cell, o)} · embedding ${o.embeddingDim} · vocabulary ${count(o.vocabSize)} · ${count(m.params.total)} parameters`,
    ],
    [
      'texts',
      `${t.path} (${t.kind}; ${parts}) · ${count(t.texts)} used${t.available !== t.texts ? ` of ${count(t.available)}` : ''}: ${count(t.trainTexts)} training / ${count(t.heldOutTexts)} held out · ${count(t.trainTokens)} training tokens`,
    ],
    ...(t.includesTest
      ? ([['warning', c.yellow('the labeled test reviews are among the texts (--allow-test-text)')]] as [string, string][])
      : []),
    [
      'perplexity',
      `${decimal(kept?.val_perplexity, 1)} held out (epoch ${m.weights.epoch}) · unigram ${decimal(m.unigramPerplexity, 1)} · next-word accuracy ${pct(kept?.val_acc)}`,
    ],
    ['output', m.output],
    [
      'trained',
      `${m.createdAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')} · ${m.history.length} epoch(s) · ${duration(m.timings.secondsPerEpoch)}/epoch · ${decimal(m.tokensPerSec, 0)} tokens/s · ${m.backend.recurrentKernels}`,
    ],
    [
      'training',
      `batch ${o.batchSize} ${o.layout === 'rows' ? 'rows (texts pre-padded, as the classifier reads them)' : 'windows of one stream'} of ${o.bptt} steps, ${describeRecipe({ ...o, wordDropout: 0 })}, input word dropout ${o.wordDropout}, seed ${o.seed}`,
    ],
    ['use', `rnn train --cell ${m.cell} --init ${info.dir}`],
    ['files', info.files.map((f) => `${f.name} (${bytes(f.bytes)})`).join(', ')],
  ];
  return keyValues(rows);
}

function listingJson(r: ModelListing): object {
  const lm = r.languageModel?.metadata;
  if (lm) {
    const kept = lm.history[lm.weights.epoch - 1];
    return {
      name: r.name,
      dir: r.dir,
      latest: r.latest,
      kind: 'language-model',
      cell: lm.cell,
      params: lm.params.total,
      epochs: lm.history.length,
      perplexity: kept?.val_perplexity ?? null,
      createdAt: lm.createdAt,
    };
  }
  const m = r.info?.metadata;
  return {
    name: r.name,
    dir: r.dir,
    latest: r.latest,
    ...(r.error ? { error: r.error } : {}),
    ...(r.checkpoint ? { checkpoint: r.checkpoint } : {}),
    ...(m
      ? {
          cell: m.cell,
          params: m.params.total,
          epochs: m.history.length,
          weightsEpoch: m.weights?.epoch ?? m.history.length,
          valAcc: m.history[(m.weights?.epoch ?? m.history.length) - 1]?.val_acc ?? null,
          testAcc: r.info?.evaluation?.metrics.accuracy ?? null,
          ...(m.labels && !isBinaryLabels(m.labels) && { labels: m.labels.names }),
          createdAt: m.createdAt,
        }
      : {}),
  };
}

export function renderList(rows: ModelListing[], c: ChalkInstance): string {
  const columns = [
    col('NAME'),
    col('CELL'),
    col('PARAMS', 'right'),
    col('EPOCHS', 'right'),
    col('VAL ACC', 'right'),
    col('TEST ACC', 'right'),
    col('CREATED'),
  ];
  const name = (r: ModelListing): string => r.name + (r.latest ? ' *' : '');
  const cells = (r: ModelListing): string[] => {
    const m = r.info?.metadata;
    const lm = r.languageModel?.metadata;
    if (lm) {
      const kept = lm.history[lm.weights.epoch - 1];
      return [
        name(r),
        `${lm.cell} · language model`,
        count(lm.params.total),
        String(lm.history.length),
        kept?.val_perplexity !== undefined ? `ppl ${decimal(kept.val_perplexity, 1)}` : '–',
        '–',
        lm.createdAt.slice(0, 16).replace('T', ' '),
      ];
    }
    if (!m) {
      const k = r.checkpoint;
      const note = k
        ? c.yellow(
            `interrupted ${k.cell} ${k.command === 'pretrain' ? 'pretraining' : 'training'} (epoch ${k.epoch} of ${k.epochs}): rnn ${k.command} --resume ${r.dir}`,
          )
        : c.red(`unreadable: ${r.error}`);
      return [name(r), note];
    }
    const kept = m.weights?.epoch ?? m.history.length;
    const k = labelsOf(m).names.length;
    return [
      name(r),
      k > 2 ? `${m.cell} · ${k} labels` : m.cell,
      count(m.params.total),
      kept === m.history.length ? String(m.history.length) : `${kept} of ${m.history.length}`,
      pct(m.history[kept - 1]?.val_acc),
      pct(r.info?.evaluation?.metrics.accuracy),
      m.createdAt.slice(0, 16).replace('T', ' '),
    ];
  };
  // Rows that are no model (a checkpoint, an unreadable directory) keep the NAME column and say why after it.
  const all = rows.map(cells);
  const lines = textTable(
    columns,
    all.map((r) => (r.length === 2 ? [r[0]!] : r)),
    { chalk: c },
  ).split('\n');
  const nameWidth = Math.max(columns[0]!.header.length, ...rows.map((r) => name(r).length));
  return lines
    .map((l, i) => (i > 0 && all[i - 1]?.length === 2 ? `${all[i - 1]![0]!.padEnd(nameWidth)}  ${all[i - 1]![1]}` : l))
    .join('\n');
}
