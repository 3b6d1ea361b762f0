import type { Command } from 'commander';
import type { ChalkInstance } from 'chalk';
import { createReadStream, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import type { RecurrentImpl } from '../../models/index.js';
import { predictTexts, PREDICT_BATCH_SIZE } from '../../predict/index.js';
import type { Prediction } from '../../predict/encode.js';
import { labelsOf, loadModelFiles, readModelDir, resolveModelDir } from '../../io/model-dir.js';
import { BINARY_LABELS } from '../../data/labels.js';
import { readCsvTexts } from '../../data/csv.js';
import { explainText } from '../../explain/index.js';
import { explanationJson, topWords, wordStrengths, TOP_WORDS, type Explanation } from '../../explain/occlusion.js';
import { UserError } from '../../errors.js';
import { loadRuntime, type CliContext } from '../context.js';
import { positiveInt, recurrentImpl } from '../options.js';
import { decimal, percent, signed } from '../format.js';

interface PredictFlags {
  model?: string;
  layers?: RecurrentImpl;
  file?: string;
  textColumn?: string;
  explain?: boolean;
  top?: number;
  class?: string;
  json?: boolean;
}

/** Reviews predicted together (one inference batch). */
const CHUNK = PREDICT_BATCH_SIZE;

async function* lines(input: NodeJS.ReadableStream): AsyncGenerator<string> {
  const rl = createInterface({ input, crlfDelay: Infinity });
  for await (const line of rl) if (line.trim() !== '') yield line;
}

export function registerPredict(program: Command, ctx: CliContext): void {
  program
    .command('predict')
    .description('label new reviews: arguments, --file (one review per line, or a CSV), or stdin (one per line)')
    .argument('[texts...]', 'review texts')
    .option('--model <dir>', 'model directory (default models/latest)')
    .option('--layers <impl>', 'recurrent implementation: fused (default) or stock tfjs-layers', recurrentImpl)
    .option('--file <path>', 'reviews to label: a .txt file (one per line) or a .csv file (see --text-column)')
    .option('--text-column <name>', 'CSV column holding the review (default: review, text, sentence or content)')
    .option(
      '--explain',
      "show each word's contribution (occlusion: the change in log-odds without the word), coloured green (positive) to red (negative)",
    )
    .option('--top <n>', `with --explain: how many most positive and most negative words to list (default ${TOP_WORDS})`, positiveInt)
    .option('--class <label>', 'with --explain, a model of three or more labels: explain this label instead of the predicted one')
    .option('--json', 'one JSON object per review (JSON Lines)')
    .action(async (texts: string[], flags: PredictFlags, command: Command) => {
      let source: AsyncIterable<string> | string[];
      if (texts.length > 0) {
        if (flags.file) throw new UserError('OPTION_CONFLICT', 'both review texts and --file were given', 'Pass either texts or --file');
        const empty = texts.findIndex((t) => t.trim() === '');
        if (empty >= 0)
          throw new UserError(
            'PREDICT_TEXT_EMPTY',
            `review ${empty + 1} of the arguments is empty`,
            'Pass the text of a review (empty lines of --file or stdin are skipped)',
          );
        source = texts;
      } else if (flags.file) {
        const st = await fsp.stat(flags.file).catch(() => undefined);
        if (!st?.isFile())
          throw new UserError(
            'DATA_NOT_FOUND',
            `${path.resolve(flags.file)} ${st ? 'is not a file' : 'does not exist'}`,
            'Check the path given to --file',
          );
        source = /\.csv$/i.test(flags.file) ? readCsvTexts(flags.file, flags.textColumn) : lines(openFile(flags.file));
      } else if (!ctx.stdinIsTTY) {
        source = lines(ctx.stdin);
      } else {
        throw new UserError(
          'PREDICT_NO_INPUT',
          'no reviews to label',
          'Pass review texts as arguments, --file reviews.txt, or pipe reviews into stdin (one per line)',
        );
      }
      // Read the first review before loading the model, so empty input fails fast.
      const it = (source as AsyncIterable<string>)[Symbol.asyncIterator]?.() ?? (source as string[])[Symbol.iterator]();
      const first = await it.next();
      if (first.done) throw new UserError('PREDICT_INPUT_EMPTY', 'the input held no reviews', 'Give at least one non-empty line');
      // The model's files and the options they decide are checked before TensorFlow loads (about a second).
      const files = await readModelDir(await resolveModelDir(ctx.env.modelsDir, flags.model));
      const labels = labelsOf(files.metadata).names;
      const choice = { labels, target: explainedClass(labels, flags.class) };
      const backend = await loadRuntime(ctx, command);
      const m = await loadModelFiles(backend, files, flags.layers);
      let chunk: string[] = [first.value];
      const flush = (): void => {
        if (chunk.length === 0) return;
        if (flags.explain) {
          for (const text of chunk) {
            const e = explainText(backend.tf, m, text, undefined, choice);
            ctx.io.out.write(
              flags.json
                ? JSON.stringify({ text, ...explanationJson(e) }) + '\n'
                : renderExplanation(e, ctx.chalkOut, flags.top ?? TOP_WORDS, labels),
            );
          }
          chunk = [];
          return;
        }
        const preds = predictTexts(backend.tf, m, chunk, undefined, labels);
        for (let i = 0; i < chunk.length; i++)
          ctx.io.out.write(
            flags.json
              ? JSON.stringify({ text: chunk[i], ...preds[i] }) + '\n'
              : renderPrediction(chunk[i]!, preds[i]!, ctx.chalkOut, labels),
          );
        chunk = [];
      };
      for (let r = await it.next(); !r.done; r = await it.next()) {
        chunk.push(r.value);
        if (chunk.length >= CHUNK) flush();
      }
      flush();
      m.model.dispose();
    });
}

function openFile(file: string): NodeJS.ReadableStream {
  const s = createReadStream(file);
  s.on('error', () => {});
  return s;
}

/**
 * `--class LABEL`: the index of the label to explain (a model of three or more labels), or undefined for the
 * predicted one; a binary model's contributions already point towards one label or the other.
 */
function explainedClass(labels: readonly string[], name: string | undefined): number | undefined {
  if (name === undefined) return undefined;
  if (labels.length <= 2) {
    throw new UserError(
      'OPTION_NOT_APPLICABLE',
      `--class applies to a model of three or more labels, and this one has two (${labels.join(', ')})`,
      `Leave it out: contributions above 0 push towards ${labels[1]}, below 0 towards ${labels[0]}`,
    );
  }
  const c = labels.indexOf(name);
  if (c < 0) throw new UserError('OPTION_INVALID', `--class ${name} is not a label of this model`, `Pass one of ${labels.join(', ')}`);
  return c;
}

/** A label, green for a binary model's second (positive) label, red for its first, bold for one of k ≥ 3. */
function paintLabel(label: string, labels: readonly string[], c: ChalkInstance): string {
  if (labels.length > 2) return c.bold(label);
  return label === labels[1] ? c.green(label) : c.red(label);
}

/** Every class's probability, the most probable first: `9 41.2% · 10 30.1% · …` (k ≥ 3 labels). */
function classProbabilities(probabilities: Record<string, number>): string {
  return Object.entries(probabilities)
    .sort((a, b) => b[1] - a[1])
    .map(([l, p]) => `${l} ${percent(p, 1)}`)
    .join(' · ');
}

export function renderPrediction(text: string, p: Prediction, c: ChalkInstance, labels: readonly string[] = BINARY_LABELS.names): string {
  const label = paintLabel(p.label, labels, c);
  const notes: string[] = [];
  if (p.words === 0) notes.push("no words: the score is only the model's bias");
  else if (p.unknownWords === p.words) notes.push(`all ${p.words} words unknown: the score is only the model's bias`);
  else if (p.unknownWords > 0) notes.push(`${p.unknownWords} of ${p.words} words unknown`);
  if (p.truncatedIds > 0) notes.push(`${p.truncatedIds} ids truncated`);
  const snippet = text.length > 60 ? text.slice(0, 57) + '...' : text;
  const line = `${label}  ${decimal(p.probability, 4)}  ${JSON.stringify(snippet)}${notes.length ? c.dim(`  (${notes.join(', ')})`) : ''}\n`;
  return p.probabilities ? line + c.dim(`  ${classProbabilities(p.probabilities)}`) + '\n' : line;
}

/** The review with each word coloured by its contribution, then the strongest words each way. */
export function renderExplanation(e: Explanation, c: ChalkInstance, top: number, labels: readonly string[] = BINARY_LABELS.names): string {
  const strengths = wordStrengths(e);
  const paint = (w: Explanation['words'][number], i: number): string => {
    if (!w.seen) return c.dim(w.text);
    const { sign, level } = strengths[i]!;
    if (level === 0) return w.text;
    const col = sign > 0 ? c.green : c.red;
    return level === 2 ? col.bold(w.text) : col(w.text);
  };
  const body = e.words.map((w, i) => e.separators[i] + paint(w, i)).join('') + e.trailing;
  const list = (ws: Explanation['words']): string =>
    ws.length ? ws.map((w) => `${w.tokens.join(' ')} ${signed(w.contribution)}`).join(', ') : '(none)';
  const label = paintLabel(e.label, labels, c);
  const seen = e.words.filter((w) => w.seen).length;
  const cs = e.classes;
  const head = cs
    ? `${label}  ${decimal(e.probability, 4)}  ${c.dim(classProbabilities(Object.fromEntries(cs.labels.map((l, i) => [l, cs.probabilities[i]!]))))}`
    : `${label}  ${decimal(e.probability, 4)}`;
  const lines = [head, `  ${body.replace(/\n/g, '\n  ')}`];
  if (seen === 0) lines.push(c.dim('  (no word of this review reached the model: none is in its vocabulary)'));
  else if (cs) {
    const of = cs.labels[cs.explained]!;
    lines.push(`  most for ${of}: ${list(topWords(e, 'positive', top))}`);
    lines.push(`  most against ${of}: ${list(topWords(e, 'negative', top))}`);
    lines.push(
      c.dim(`  contribution = change in the log-probability of ${of} when the word is removed; dim words never reached the model`),
    );
  } else if (labels[1] !== 'positive' || labels[0] !== 'negative') {
    lines.push(`  most ${labels[1]}: ${list(topWords(e, 'positive', top))}`);
    lines.push(`  most ${labels[0]}: ${list(topWords(e, 'negative', top))}`);
    lines.push(
      c.dim(`  contribution = change in the log-odds of ${labels[1]} when the word is removed; dim words never reached the model`),
    );
  } else {
    lines.push(`  most positive: ${list(topWords(e, 'positive', top))}`);
    lines.push(`  most negative: ${list(topWords(e, 'negative', top))}`);
    lines.push(c.dim(`  contribution = change in log-odds when the word is removed; dim words never reached the model`));
  }
  return lines.join('\n') + '\n';
}
