/**
 * Small models the tests share, trained by the real CLI on real IMDB reviews once per run.
 *
 * A model is content-addressed: its key is the hash of its `rnn train` arguments and the archive, so two test
 * files that ask for the same training get the same model, trained by whichever asked first (the other waits
 * for it, across processes). Each caller gets its own copy to change as it likes (`rnn eval` writes into the
 * directory, the serve tests replace it).
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { pointLatest } from '../src/io/model-dir.js';
import { replaceDir } from '../src/util/fs.js';
import { runCacheDir } from './imdb.js';
import { IMDB_TARBALL, runCli, type CliResult } from './helpers.js';

/**
 * The small model the serve, export and browser tests train (about 10 s on 2 cores): an LSTM of 16 units over
 * 3,000 words and 80 ids, from 1,500 reviews.
 */
export const SMALL_MODEL = [
  '--cell',
  'lstm',
  '--limit',
  '1500',
  '--maxlen',
  '80',
  '--epochs',
  '1',
  '--units',
  '16',
  '--vocab-size',
  '3000',
];

/** A trained model: the caller's copy, and what `rnn train` printed when it was trained. */
export interface TrainedModel {
  dir: string;
  /** `rnn train`'s output; paths in it name the shared original, not `dir`. */
  train: CliResult;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * `rnn train ARGS --out <cache>` once per run, whoever asks first; the others wait for it. A lock directory
 * holds the trainer's pid, so a waiter takes over when that process died.
 */
async function trainOnce(args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ original: string; train: CliResult }> {
  const key = createHash('sha256')
    .update(JSON.stringify({ args, archive: env.RNN_IMDB_URL ?? IMDB_TARBALL }))
    .digest('hex')
    .slice(0, 16);
  const home = path.join(runCacheDir(), 'models', key);
  const original = path.join(home, 'model');
  const record = path.join(home, 'train.json');
  const lock = path.join(home, 'lock');
  await fsp.mkdir(home, { recursive: true });
  for (;;) {
    const done = await fsp.readFile(record, 'utf8').catch(() => undefined);
    if (done) return { original, train: JSON.parse(done) as CliResult };
    try {
      await fsp.mkdir(lock);
    } catch {
      const owner = Number(await fsp.readFile(path.join(lock, 'pid'), 'utf8').catch(() => '0'));
      if (owner && !alive(owner)) await fsp.rm(lock, { recursive: true, force: true });
      await sleep(250);
      continue;
    }
    await fsp.writeFile(path.join(lock, 'pid'), String(process.pid));
    try {
      const work = path.join(home, 'work');
      await fsp.rm(work, { recursive: true, force: true });
      const out = path.join(work, 'model');
      const train = await runCli(['train', ...args, '--out', out], {
        env: { RNN_IMDB_URL: IMDB_TARBALL, RNN_MODELS_DIR: path.join(work, 'models'), RNN_DATA_DIR: path.join(work, 'data'), ...env },
      });
      if (train.code !== 0) throw new Error(`rnn train ${args.join(' ')} failed (exit ${train.code}): ${train.stderr}`);
      await fsp.rename(out, original);
      await fsp.writeFile(record, JSON.stringify(train));
      return { original, train };
    } finally {
      await fsp.rm(lock, { recursive: true, force: true });
    }
  }
}

/**
 * What `rnn train ARGS --out dest` leaves behind, from the run's one training with those arguments: a copy of
 * the model at `dest`, and `models/latest` (in `env.RNN_MODELS_DIR`) pointing at it. `env` may name the data
 * (RNN_IMDB_URL, part of the key); the training's own RNN_MODELS_DIR and RNN_DATA_DIR are the cache's.
 */
export async function trainedModel(args: readonly string[], dest: string, env: NodeJS.ProcessEnv = {}): Promise<TrainedModel> {
  const { RNN_MODELS_DIR: modelsDir, RNN_DATA_DIR: _data, ...trainEnv } = env;
  const { original, train } = await trainOnce(args, trainEnv);
  const staged = `${dest}.copy-${process.pid}`;
  await fsp.rm(staged, { recursive: true, force: true });
  await fsp.mkdir(path.dirname(dest), { recursive: true });
  await fsp.cp(original, staged, { recursive: true });
  await replaceDir(staged, dest);
  if (modelsDir) await pointLatest(modelsDir, dest);
  return { dir: dest, train };
}

/** {@link SMALL_MODEL}, then `extra` flags (later flags win) and the seed: `rnn train … --out dest` once per run (see {@link trainedModel}). */
export function smallModel(env: NodeJS.ProcessEnv, dest: string, seed: number, extra: readonly string[] = []): Promise<TrainedModel> {
  return trainedModel([...SMALL_MODEL, ...extra, '--seed', String(seed)], dest, env);
}
