import type { Command } from 'commander';
import type { RecurrentImpl } from '../../models/index.js';
import { loadBackend } from '../../backend/index.js';
import { evaluateModel, testSubset } from '../../eval/index.js';
import { loadModelDir, resolveModelDir } from '../../io/model-dir.js';
import type { CliContext } from '../context.js';
import { positiveInt, recurrentImpl } from '../options.js';
import { addDataOptions, loadDataForCli, type DataFlags } from '../data-options.js';
import { StatusLine, bar } from '../progress.js';
import { keyValues } from '../render.js';
import { UserError } from '../../errors.js';
import type { Metrics } from '../../eval/metrics.js';
import { writeEvalRecord } from '../../io/catalog.js';
import { renderHistory } from '../render-history.js';

interface EvalFlags extends DataFlags {
  model?: string;
  layers?: RecurrentImpl;
  limit?: number;
  batchSize?: number;
  json?: boolean;
}

export function registerEval(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('eval')
    .description('score a saved model on the test split: loss, accuracy, precision, recall, F1, ROC-AUC, confusion matrix')
    .option('--model <dir>', 'model directory (default models/latest)')
    .option('--layers <impl>', 'recurrent implementation: fused (default) or stock tfjs-layers', recurrentImpl)
    .option('--limit <n>', 'score a fixed random subset of N test reviews (same subset for every model)', positiveInt)
    .option('--batch-size <n>', 'reviews per inference batch (default 256)', positiveInt)
    .option('--json', 'print the results as JSON');
  addDataOptions(cmd).action(async (flags: EvalFlags) => {
    const status = new StatusLine(ctx.io.err);
    const backend = await loadBackend(ctx.backend());
    const dir = await resolveModelDir(ctx.env.modelsDir, flags.model);
    const m = await loadModelDir(backend.tf, dir, flags.layers);
    const data = await loadDataForCli(ctx, flags, ['test'], status);
    if (data.test.length === 0) throw new UserError('the test data has no reviews', 'Pass --data with labeled test reviews');
    const reviews = testSubset(data.test, flags.limit);
    status.note(ctx.chalkErr.dim(`scoring ${reviews.length} reviews with ${m.dir} (${m.metadata.cell})`));
    const r = await evaluateModel(backend.tf, m, reviews, flags.batchSize ?? 256, (done, total) => status.update(`predicting ${bar(done, total)} ${done}/${total}`));
    status.clear();
    m.model.dispose();
    const result = { model: m.dir, cell: m.metadata.cell, data: { ...data.source, reviews: reviews.length }, ...r.metrics, seconds: r.seconds, samplesPerSec: r.samplesPerSec };
    try {
      await writeEvalRecord(m.dir, { evaluatedAt: new Date().toISOString(), data: { path: data.source.path, reviews: reviews.length }, metrics: r.metrics, samplesPerSec: r.samplesPerSec });
    } catch (e) {
      status.log(ctx.chalkErr.yellow(`warning: could not record the evaluation in ${m.dir} (${(e as Error).message}); \`rnn info\` will not show it`));
    }
    const w = m.metadata.weights;
    ctx.io.out.write(
      flags.json
        ? JSON.stringify(result, null, 2) + '\n'
        : renderEval(result, r.metrics) + '\n' + renderHistory(m.metadata.history, ctx.chalkOut, w ? { epoch: w.bestEpoch, monitor: w.monitor } : undefined),
    );
  });
}

function pct(x: number): string {
  return Number.isNaN(x) ? 'n/a' : `${(x * 100).toFixed(2)}%`;
}

function renderEval(r: { model: string; cell: string; data: { path: string; reviews: number }; samplesPerSec: number; seconds: number }, m: Metrics): string {
  const c = m.confusion;
  const w = Math.max(String(c.tn).length, String(c.fp).length, String(c.fn).length, String(c.tp).length, 9);
  return (
    keyValues([
      ['model', `${r.model} (${r.cell})`],
      ['data', `${r.data.reviews} test reviews from ${r.data.path}`],
      ['loss', m.loss.toFixed(4)],
      ['accuracy', pct(m.accuracy)],
      ['precision', pct(m.precision)],
      ['recall', pct(m.recall)],
      ['F1', pct(m.f1)],
      ['ROC-AUC', Number.isNaN(m.rocAuc) ? 'n/a (one class only)' : m.rocAuc.toFixed(4)],
      ['speed', `${r.samplesPerSec.toFixed(0)} reviews/s (${r.seconds.toFixed(1)} s)`],
    ]) +
    `  confusion matrix   ${'pred neg'.padStart(w)}  ${'pred pos'.padStart(w)}\n` +
    `    actual negative  ${String(c.tn).padStart(w)}  ${String(c.fp).padStart(w)}\n` +
    `    actual positive  ${String(c.fn).padStart(w)}  ${String(c.tp).padStart(w)}\n`
  );
}
