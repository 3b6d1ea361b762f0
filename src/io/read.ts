/** Reading the JSON files of model directories, with every failure a UserError naming the file. */
import { UserError, type ErrorCode } from '../errors.js';
import { FileRefused, readBoundedFile } from '../util/fs.js';

/** The largest JSON file of a model directory or checkpoint rnn reads (IMDB's full tokenizer.json is 8.3 MB). */
export const MAX_JSON_BYTES = 128 * 2 ** 20;

export async function readText(file: string, fix: string, code: ErrorCode = 'MODEL_FILE_MISSING'): Promise<string> {
  try {
    return (await readBoundedFile(file, MAX_JSON_BYTES)).toString('utf8');
  } catch (e) {
    const errno = (e as { code?: string }).code;
    const what =
      e instanceof FileRefused ? e.message : errno === 'ENOENT' ? `${file} is missing` : `cannot read ${file}: ${(e as Error).message}`;
    throw new UserError(code, what, fix, { cause: e });
  }
}

export function parseJson<T>(text: string, file: string, fix: string, code: ErrorCode = 'MODEL_FILE_INVALID'): T {
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new UserError(code, `${file} is not valid JSON (${(e as Error).message})`, fix);
  }
}

/** The JSON in `file`; `codes` are those of a missing and of an invalid file (by default a model directory's). */
export async function readJsonFile<T>(
  file: string,
  fix: string,
  codes: { missing: ErrorCode; invalid: ErrorCode } = { missing: 'MODEL_FILE_MISSING', invalid: 'MODEL_FILE_INVALID' },
): Promise<T> {
  return parseJson<T>(await readText(file, fix, codes.missing), file, fix, codes.invalid);
}
