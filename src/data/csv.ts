/** Labeled reviews from CSV (e.g. Kaggle's "IMDB Dataset.csv": `review,sentiment` with positive/negative). */
import { createReadStream, promises as fsp, type ReadStream } from 'node:fs';
import { Transform } from 'node:stream';
import { createHash } from 'node:crypto';
import { parse } from 'csv-parse';
import { UserError } from '../errors.js';
import { cleanReview, type CsvColumns, type Review, type Split } from './types.js';
import { binaryLabelOf, labelIndexer, labelSetOf, type LabelSet } from './labels.js';

/** Options of {@link readCsv}. */
export interface CsvOptions {
  /** Column holding the review; default: the first of review, text, sentence, content. */
  textColumn?: string;
  /** Column holding the label; default: the first of sentiment, label, polarity, target. */
  labelColumn?: string;
  /** Column saying which rows are `train` and which `test` (`--split-column`); none by default. */
  splitColumn?: string;
  /** Read `splitColumn` only if the file has it (eval, reproducing a model's split on what may be another file). */
  splitColumnOptional?: boolean;
  /** `--labels`: the label names in class-index order; a row with another label is an error. Default: read from the file (src/data/labels.ts). */
  labels?: readonly string[];
}

const TEXT_COLUMNS = ['review', 'text', 'sentence', 'content'];
const LABEL_COLUMNS = ['sentiment', 'label', 'polarity', 'target'];
/** Maps a known sentiment label cell (positive/negative, pos/neg, 1/0) to 0/1, or undefined for other values. */
export function parseLabel(value: string): 0 | 1 | undefined {
  return binaryLabelOf(value);
}

/** The header as a short list for messages (a binary or one-line file can have huge "column names"). */
function listColumns(header: string[]): string {
  const shown = header.slice(0, 10).map((h) => (h.length > 40 ? `${h.slice(0, 37)}...` : h));
  return shown.join(', ') + (header.length > 10 ? `, … (${header.length} columns)` : '');
}

function pickColumn(header: string[], wanted: string | undefined, candidates: string[], what: string, flag: string, file: string): number {
  const lower = header.map((h) => h.trim().toLowerCase());
  if (wanted !== undefined) {
    const i = lower.indexOf(wanted.trim().toLowerCase());
    if (i < 0)
      throw new UserError(
        'DATA_CSV_COLUMN_MISSING',
        `${file} has no column "${wanted}" (columns: ${listColumns(header)})`,
        `Pass ${flag} with one of those columns`,
      );
    return i;
  }
  const i = lower.findIndex((h) => candidates.includes(h));
  if (i < 0) {
    throw new UserError(
      'DATA_CSV_COLUMN_MISSING',
      `${file} has no ${what} column (looked for ${candidates.join(', ')}; columns: ${listColumns(header)})`,
      `Pass ${flag} to name it`,
    );
  }
  return i;
}

/** Passes bytes through unchanged, failing (with the line number) at the first byte sequence that is not UTF-8. */
class Utf8Check extends Transform {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private line = 1;

  constructor(private readonly file: string) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (e?: Error | null, data?: Buffer) => void): void {
    try {
      this.decoder.decode(chunk, { stream: true });
    } catch {
      // Find the line of the first bad byte by decoding up to each newline of this chunk.
      const check = new TextDecoder('utf-8', { fatal: true });
      let line = this.line;
      let start = 0;
      for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
        try {
          check.decode(chunk.subarray(start, nl + 1), { stream: true });
        } catch {
          break;
        }
        line++;
        start = nl + 1;
      }
      done(
        new UserError(
          'DATA_NOT_UTF8',
          `${this.file} is not UTF-8 text (invalid bytes on line ${line})`,
          'Save the file as UTF-8 (or check that it is the CSV you meant)',
        ),
      );
      return;
    }
    for (const b of chunk) if (b === 10) this.line++;
    done(null, chunk);
  }

  override _flush(done: (e?: Error | null) => void): void {
    try {
      this.decoder.decode();
      done();
    } catch {
      done(new UserError('DATA_NOT_UTF8', `${this.file} is not UTF-8 text (it ends inside a character)`, 'Save the file as UTF-8'));
    }
  }
}

/**
 * The UserError for a CSV that failed while streaming: the UTF-8 check's, our own, a missing file, or
 * csv-parse's message without the field value it quotes (binary noise, or megabytes long).
 */
function csvFailure(e: unknown, file: string, utf8Error: UserError | undefined, flag: string): UserError {
  if (utf8Error) return utf8Error;
  if (e instanceof UserError) return e;
  const err = e as Error & { code?: string };
  if (err.code === 'ENOENT') return new UserError('DATA_NOT_FOUND', `${file} does not exist`, `Check the path given to ${flag}`);
  return new UserError(
    'DATA_CSV_INVALID',
    `${file} is not valid CSV: ${err.message.replace(/,? value is .*$/s, '')}`,
    'Fix the file (a header row, then one quoted review per row)',
  );
}

/** How far into a file {@link recordDelimiterOf} looks for the end of the header row. */
const HEADER_BYTES = 64 * 1024;

/**
 * The file's line ending, as csv-parse would detect it (the first one in the file: \r\n, \n or \r), read from
 * its first {@link HEADER_BYTES}; `\n` when there is none there (a header row that long is no CSV rnn reads).
 * Given to csv-parse explicitly: its detection looks again at every byte until it finds one, which made a
 * 50 MB line with no line ending take 45 s to refuse, and reading ordinary files ~1.5× slower.
 */
export async function recordDelimiterOf(file: string): Promise<string> {
  let head: Buffer;
  try {
    const fh = await fsp.open(file, 'r');
    try {
      const { buffer, bytesRead } = await fh.read(Buffer.alloc(HEADER_BYTES), 0, HEADER_BYTES, 0);
      head = buffer.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch {
    return '\n'; // the stream reports the failure (a missing file is DATA_NOT_FOUND)
  }
  const cr = head.indexOf(13);
  const lf = head.indexOf(10);
  if (cr >= 0 && (lf < 0 || cr < lf)) return head[cr + 1] === 10 ? '\r\n' : '\r';
  return '\n';
}

/**
 * CSV rows from a file, checked for UTF-8 on the way (`onData` sees every chunk read); `utf8Error()` says
 * whether that check stopped it.
 */
async function parseCsvFile(
  file: string,
  onData?: (chunk: Buffer) => void,
): Promise<{ input: ReadStream; parser: ReturnType<typeof parse>; utf8Error: () => UserError | undefined }> {
  const utf8 = new Utf8Check(file);
  const recordDelimiter = await recordDelimiterOf(file);
  const input = createReadStream(file);
  if (onData) input.on('data', (c) => onData(c as Buffer));
  const parser = input
    .pipe(utf8)
    .pipe(parse({ bom: true, relax_quotes: false, skip_empty_lines: true, record_delimiter: recordDelimiter }));
  let failed: UserError | undefined;
  utf8.on('error', (e) => {
    failed = e as UserError;
    parser.destroy(e);
  });
  return { input, parser, utf8Error: () => failed };
}

/**
 * Streams a CSV with a header row into reviews, and reads its label set from the label column (or takes
 * `opts.labels`): every review's `label` is a class index into `labels`.
 */
export async function readCsv(
  file: string,
  opts: CsvOptions = {},
): Promise<{ reviews: Review[]; labels: LabelSet; sha256: string; bytes: number; columns: CsvColumns }> {
  const reviews: Review[] = [];
  /** Each review's label cell (trimmed) and row, mapped to class indices once the label set is known. */
  const raw: string[] = [];
  const rows: number[] = [];
  const hash = createHash('sha256');
  let bytes = 0;
  const { input, parser, utf8Error } = await parseCsvFile(file, (c) => {
    hash.update(c);
    bytes += c.length;
  });
  let textIdx = -1;
  let labelIdx = -1;
  let splitIdx = -1;
  let columns: CsvColumns = { text: '', label: '' };
  let line = 0;
  try {
    for await (const row of parser as AsyncIterable<string[]>) {
      line++;
      if (line === 1) {
        textIdx = pickColumn(row, opts.textColumn, TEXT_COLUMNS, 'text', '--text-column', file);
        labelIdx = pickColumn(row, opts.labelColumn, LABEL_COLUMNS, 'label', '--label-column', file);
        columns = { text: row[textIdx]!.trim(), label: row[labelIdx]!.trim() };
        if (opts.splitColumn !== undefined) {
          const has = row.some((h) => h.trim().toLowerCase() === opts.splitColumn!.trim().toLowerCase());
          if (has || !opts.splitColumnOptional) splitIdx = pickColumn(row, opts.splitColumn, [], 'split', '--split-column', file);
        }
        continue;
      }
      let split: Split | undefined;
      if (splitIdx >= 0) {
        const raw = (row[splitIdx] ?? '').trim().toLowerCase();
        if (raw !== 'train' && raw !== 'test') {
          throw new UserError(
            'DATA_CSV_SPLIT_INVALID',
            `${file} row ${line}: split "${row[splitIdx] ?? ''}" is neither train nor test`,
            'Mark every row train or test in the split column',
          );
        }
        split = raw;
      }
      const rawLabel = (row[labelIdx] ?? '').trim();
      if (rawLabel === '') {
        throw new UserError(
          'DATA_CSV_LABEL_INVALID',
          `${file} row ${line}: the label is empty`,
          'Give every row a label, or remove the row',
        );
      }
      raw.push(rawLabel);
      rows.push(line);
      reviews.push({ text: cleanReview(row[textIdx] ?? ''), label: -1, id: `${file}:${line}`, ...(split ? { split } : {}) });
    }
  } catch (e) {
    input.destroy();
    throw csvFailure(e, file, utf8Error(), '--data');
  }
  if (reviews.length === 0)
    throw new UserError('DATA_EMPTY', `${file} has no reviews`, 'Use a CSV with a header row and at least one labeled review');
  const labels = labelSetOf(raw, opts.labels);
  const indexOf = labelIndexer(labels);
  reviews.forEach((r, i) => {
    const label = indexOf(raw[i]!);
    if (label === undefined) {
      throw new UserError(
        'DATA_CSV_LABEL_INVALID',
        `${file} row ${rows[i]}: label "${raw[i]}" is not one of --labels ${labels.names.join(',')}`,
        'Add it to --labels, or correct the row',
      );
    }
    r.label = label;
  });
  return { reviews, labels, sha256: hash.digest('hex'), bytes, columns };
}

/** Streams just the text column of a CSV (for `rnn predict --file x.csv`); labels are not needed. */
export async function* readCsvTexts(file: string, textColumn?: string): AsyncGenerator<string> {
  const { parser, utf8Error } = await parseCsvFile(file);
  let idx = -1;
  let first = true;
  try {
    for await (const row of parser as AsyncIterable<string[]>) {
      if (first) {
        idx = pickColumn(row, textColumn, TEXT_COLUMNS, 'text', '--text-column', file);
        first = false;
        continue;
      }
      yield row[idx] ?? '';
    }
  } catch (e) {
    throw csvFailure(e, file, utf8Error(), '--file');
  }
}
