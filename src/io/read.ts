/** Reading the JSON files of model directories, with every failure a UserError naming the file. */
import { promises as fsp } from 'node:fs';
import { UserError } from '../errors.js';

export async function readText(file: string, fix: string): Promise<string> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new UserError(code === 'ENOENT' ? `${file} is missing` : `cannot read ${file}: ${(e as Error).message}`, fix, { cause: e });
  }
}

export function parseJson<T>(text: string, file: string, fix: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new UserError(`${file} is not valid JSON (${(e as Error).message})`, fix);
  }
}

export async function readJsonFile<T>(file: string, fix: string): Promise<T> {
  return parseJson<T>(await readText(file, fix), file, fix);
}
