import type { Command } from 'commander';
import type { RecurrentImpl } from '../../models/index.js';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { loadBackend } from '../../backend/index.js';
import { predictTexts, type Prediction } from '../../eval/index.js';
import { loadModelDir, resolveModelDir } from '../../io/model-dir.js';
import { readCsvTexts } from '../../data/csv.js';
import type { CliContext } from '../context.js';
import { UserError } from '../../errors.js';
import { recurrentImpl } from '../options.js';
import type { ChalkInstance } from 'chalk';

interface PredictFlags {
  model?: string;
  layers?: RecurrentImpl;
  file?: string;
  textColumn?: string;
  json?: boolean;
}

const CHUNK = 256;

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
    .option('--json', 'one JSON object per review (JSON Lines)')
    .action(async (texts: string[], flags: PredictFlags) => {
      let source: AsyncIterable<string> | string[];
      if (texts.length > 0) {
        if (flags.file) throw new UserError('both review texts and --file were given', 'Pass either texts or --file');
        source = texts;
      } else if (flags.file) {
        source = /\.csv$/i.test(flags.file) ? readCsvTexts(flags.file, flags.textColumn) : lines(openFile(flags.file));
      } else if (!ctx.stdinIsTTY) {
        source = lines(ctx.stdin);
      } else {
        throw new UserError('no reviews to label', 'Pass review texts as arguments, --file reviews.txt, or pipe reviews into stdin (one per line)');
      }
      // Read the first review before loading the model, so empty input fails fast.
      const it = (source as AsyncIterable<string>)[Symbol.asyncIterator]?.() ?? (source as string[])[Symbol.iterator]();
      const first = await it.next();
      if (first.done) throw new UserError('the input held no reviews', 'Give at least one non-empty line');
      const backend = await loadBackend(ctx.backend());
      const m = await loadModelDir(backend.tf, await resolveModelDir(ctx.env.modelsDir, flags.model), flags.layers);
      let chunk: string[] = [first.value];
      let count = 0;
      const flush = (): void => {
        if (chunk.length === 0) return;
        const preds = predictTexts(backend.tf, m, chunk);
        for (let i = 0; i < chunk.length; i++) ctx.io.out.write(flags.json ? JSON.stringify({ text: chunk[i], ...preds[i] }) + '\n' : renderPrediction(chunk[i]!, preds[i]!, ctx.chalkOut));
        count += chunk.length;
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

export function renderPrediction(text: string, p: Prediction, c: ChalkInstance): string {
  const label = p.label === 'positive' ? c.green('positive') : c.red('negative');
  const notes: string[] = [];
  if (p.words === 0) notes.push('no words');
  else if (p.unknownWords > 0) notes.push(`${p.unknownWords} of ${p.words} words unknown`);
  if (p.truncatedIds > 0) notes.push(`${p.truncatedIds} ids truncated`);
  const snippet = text.length > 60 ? text.slice(0, 57) + '...' : text;
  return `${label}  ${p.probability.toFixed(4)}  ${JSON.stringify(snippet)}${notes.length ? c.dim(`  (${notes.join(', ')})`) : ''}\n`;
}
