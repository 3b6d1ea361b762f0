/** Reading the JSON files of model directories, with every failure a UserError naming the file. */
import { promises as fsp } from 'node:fs';
import { UserError, type ErrorCode } from '../errors.js';

export async function readText(file: string, fix: string, code: ErrorCode = 'MODEL_FILE_MISSING'): Promise<string> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (e) {
    const errno = (e as { code?: string }).code;
    throw new UserError(code, errno === 'ENOENT' ? `${file} is missing` : `cannot read ${file}: ${(e as Error).message}`, fix, {
      cause: e,
    });
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
