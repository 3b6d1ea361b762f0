/**
 * The fuzz targets: each reader of untrusted bytes, with how one case is made (its input files mutated from a
 * seed, written into the case's `in/` folder) and the rnn commands that read them. A case's commands run one
 * after another until one exits non-zero; the output folder is `out/`, the temporary folder `tmp/`.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Corpus } from './seeds.js';
import { mutateBytes, mutateJson, mutateTarGz, mutateZip, Rand } from './mutate.js';

/** One command of a case: rnn's arguments, and environment variables beside the case's own. */
export interface Command {
  argv: string[];
  env?: Record<string, string>;
}

/** A case's folders: inputs, the output folder (the only place rnn may write), the temporary folder. */
export interface CaseDirs {
  root: string;
  in: string;
  out: string;
  tmp: string;
}

export interface Target {
  name: string;
  /** What it reads, for the report. */
  reads: string;
  /** Writes the case's inputs into `dirs.in` and returns its commands. */
  make(rand: Rand, corpus: Corpus, dirs: CaseDirs): Promise<Command[]>;
}

const REVIEW = 'A moving, beautifully acted film. Not bad at all!';

async function read(file: string): Promise<Buffer> {
  return fsp.readFile(file);
}

async function copyDir(src: string, dest: string): Promise<void> {
  await fsp.cp(src, dest, { recursive: true });
}

function sha256(b: Buffer | string): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Another seed of the same kind (for splices). */
async function other(rand: Rand, files: string[]): Promise<Buffer> {
  return read(rand.pick(files));
}

const csv: Target = {
  name: 'csv',
  reads: 'a CSV of reviews (rnn data, rnn predict --file)',
  async make(rand, corpus, dirs) {
    const seed = rand.pick(corpus.csv);
    let b = await read(seed);
    for (let i = rand.int(3) + 1; i > 0; i--) b = mutateBytes(b, rand, await other(rand, corpus.csv));
    const file = path.join(dirs.in, rand.chance(0.9) ? 'reviews.csv' : 'REVIEWS.CSV');
    await fsp.writeFile(file, b);
    const extra = rand.pick([[], [], ['--json'], ['--split-column', 'split'], ['--labels', 'bad,mixed,great'], ['--text-column', 'text']]);
    return [
      rand.chance(0.8)
        ? { argv: ['data', '--data', file, ...extra] }
        : { argv: ['predict', '--model', corpus.models[0]!, '--file', file, '--json'] },
    ];
  },
};

/** Tree-level mutations of an aclImdb directory: names, file kinds, links, huge (sparse) files, missing splits. */
async function mutateImdbTree(rand: Rand, root: string): Promise<void> {
  const files: string[] = [];
  for (const split of ['train', 'test'])
    for (const label of ['pos', 'neg']) {
      const d = path.join(root, split, label);
      for (const f of await fsp.readdir(d).catch(() => [] as string[])) files.push(path.join(d, f));
    }
  if (files.length === 0) return;
  const f = rand.pick(files);
  // An earlier mutation may have made `f` a folder, link or pipe: a mutation that cannot apply is skipped.
  await treeMutation(rand, root, f).catch(() => {});
}

async function treeMutation(rand: Rand, root: string, f: string): Promise<void> {
  const dir = path.dirname(f);
  switch (rand.int(11)) {
    case 0:
      await fsp.writeFile(f, mutateBytes(await read(f), rand));
      break;
    case 1: // a review's name with odd numbers
      await fsp.rename(
        f,
        path.join(
          dir,
          rand.pick(['1_99999999999999999999.txt', '0_0.txt', '00_07.txt', `${'9'.repeat(240)}_1.txt`, '-1_5.txt', '1_5.TXT', '.1_5.txt']),
        ),
      );
      break;
    case 2: // a review that is a directory
      await fsp.rm(f);
      await fsp.mkdir(f);
      await fsp.writeFile(path.join(f, '0_1.txt'), 'nested');
      break;
    case 3: // a review that is a symlink: to a device that never ends, a loop, outside, nowhere
      await fsp.rm(f);
      await fsp.symlink(rand.pick(['/dev/zero', '/dev/urandom', f, '../../../../outside.txt', '/nonexistent', '/etc/hostname', '.']), f);
      break;
    case 4: // a FIFO nobody writes to
      await fsp.rm(f);
      execFileSync('mkfifo', [f]);
      break;
    case 5: // a huge sparse file (reads as gigabytes of zero bytes)
      await fsp.truncate(f, rand.pick([200 * 2 ** 20, 1.5 * 2 ** 30, 3 * 2 ** 30]));
      break;
    case 6: // a split or label folder missing, or a file instead
      {
        const gone = path.join(root, rand.pick(['train', 'test', 'train/pos', 'test/neg']));
        await fsp.rm(gone, { recursive: true, force: true });
        if (rand.chance(0.5)) await fsp.writeFile(gone, 'not a folder');
      }
      break;
    case 7: // a label folder that is a symlink (outside, or a loop)
      await fsp.rm(dir, { recursive: true });
      await fsp.symlink(rand.pick(['/', '..', dir, '/proc/self']), dir);
      break;
    case 8: // many small reviews
      for (let i = 0; i < 2000; i++)
        await fsp.writeFile(path.join(dir, `${100000 + i}_${rand.pick([1, 2, 3, 4, 7, 8, 9, 10])}.txt`), 'ok film');
      break;
    case 9: // an empty or unreadable review
      await fsp.writeFile(f, '');
      if (rand.chance(0.5)) await fsp.chmod(f, 0);
      break;
    default: {
      // the directory nested once more
      const inner = path.join(root, 'aclImdb');
      await fsp.mkdir(inner);
      for (const s of ['train', 'test']) await fsp.rename(path.join(root, s), path.join(inner, s)).catch(() => {});
    }
  }
}

const imdbDir: Target = {
  name: 'imdb-dir',
  reads: 'an aclImdb directory (rnn data --data DIR)',
  async make(rand, corpus, dirs) {
    const root = path.join(dirs.in, 'aclImdb');
    await copyDir(rand.pick(corpus.imdbDirs), root);
    for (let i = rand.int(3) + 1; i > 0; i--) await mutateImdbTree(rand, root);
    return [{ argv: ['data', '--data', root, ...rand.pick([[], [], ['--target', 'rating'], ['--json']])] }];
  },
};

const imdbTar: Target = {
  name: 'imdb-tar',
  reads: 'an aclImdb tarball (rnn data --data FILE.tar.gz)',
  async make(rand, corpus, dirs) {
    let b = await read(rand.pick(corpus.tarballs));
    for (let i = rand.int(2) + 1; i > 0; i--) b = mutateTarGz(b, rand, await other(rand, corpus.tarballs));
    const file = path.join(dirs.in, rand.chance(0.9) ? 'aclImdb_v1.tar.gz' : 'aclImdb.tgz');
    await fsp.writeFile(file, b);
    return [{ argv: ['data', '--data', file, ...rand.pick([[], ['--target', 'rating'], ['--json']])] }];
  },
};

/** Mutates `file` (JSON-aware most of the time) in place. */
async function mutateFile(rand: Rand, file: string, json: boolean): Promise<void> {
  const st = await fsp.lstat(file).catch(() => undefined);
  if (!st?.isFile() || st.size > 64 * 2 ** 20) return; // already made huge, a link or a folder by an earlier mutation
  const b = await read(file);
  await fsp.writeFile(file, json && rand.chance(0.75) ? mutateJson(b.toString('utf8'), rand) : mutateBytes(b, rand));
}

/** metadata.json's tokenizerSha256 set to the tokenizer's hash, so a mutated tokenizer gets past the hash check. */
async function fixTokenizerHash(model: string): Promise<void> {
  const metaFile = path.join(model, 'metadata.json');
  try {
    const meta = JSON.parse(await fsp.readFile(metaFile, 'utf8')) as { preprocessing?: { tokenizerSha256?: string } };
    const tok = path.join(model, 'tokenizer.json');
    const st = await fsp.lstat(tok).catch(() => undefined);
    if (!meta.preprocessing || !st?.isFile() || st.size > 64 * 2 ** 20) return;
    meta.preprocessing.tokenizerSha256 = sha256(await read(tok));
    await fsp.writeFile(metaFile, JSON.stringify(meta, null, 2) + '\n');
  } catch {
    // metadata.json is itself broken: nothing to fix
  }
}

const tokenizer: Target = {
  name: 'tokenizer',
  reads: 'tokenizer.json (in a model directory: rnn predict; beside a .keras: rnn import)',
  async make(rand, corpus, dirs) {
    const seed = await read(rand.pick(corpus.tokenizers));
    let text = seed.toString('utf8');
    for (let i = rand.int(2) + 1; i > 0; i--)
      text = rand.chance(0.8) ? mutateJson(text, rand) : mutateBytes(Buffer.from(text), rand).toString('latin1');
    if (rand.chance(0.5)) {
      const model = path.join(dirs.in, 'model');
      await copyDir(corpus.models[0]!, model);
      await fsp.writeFile(path.join(model, 'tokenizer.json'), text, 'latin1');
      if (rand.chance(0.85)) await fixTokenizerHash(model);
      return [{ argv: ['predict', '--model', model, REVIEW, ...rand.pick([[], ['--explain'], ['--json']])] }];
    }
    const file = path.join(dirs.in, 'tokenizer.json');
    await fsp.writeFile(file, text, 'latin1');
    const out = path.join(dirs.out, 'imported');
    return [
      { argv: ['import', corpus.keras[0]!.file, '--tokenizer', file, '--out', out] },
      { argv: ['predict', '--model', out, REVIEW, '--explain'] },
    ];
  },
};

const MODEL_FILES = ['model.json', 'weights.bin', 'metadata.json', 'tokenizer.json'];

const modelDir: Target = {
  name: 'model-dir',
  reads: 'a model directory: model.json, weights.bin, metadata.json (rnn predict, info, list, export)',
  async make(rand, corpus, dirs) {
    const model = path.join(dirs.in, 'models', 'm');
    await copyDir(rand.pick(corpus.models), model);
    for (let i = rand.int(2) + 1; i > 0; i--) {
      const name = rand.pick(MODEL_FILES);
      const file = path.join(model, name);
      const op = rand.int(20);
      if (op === 0) await fsp.rm(file, { force: true });
      else if (op === 1) {
        await fsp.rm(file, { force: true });
        await fsp.mkdir(file);
      } else if (op === 2) {
        await fsp.rm(file, { force: true });
        await fsp.symlink(rand.pick(['/dev/zero', '/dev/urandom', file, '/nonexistent']), file);
      } else if (op === 3 && name === 'weights.bin') await fsp.truncate(file, rand.pick([2 ** 31, 5 * 2 ** 30]));
      else await mutateFile(rand, file, name.endsWith('.json'));
      if (name === 'tokenizer.json' && rand.chance(0.8)) await fixTokenizerHash(model);
    }
    return [
      rand.pick<Command>([
        { argv: ['predict', '--model', model, REVIEW] },
        { argv: ['predict', '--model', model, '--explain', '--json', REVIEW] },
        { argv: ['info', '--model', model] },
        { argv: ['info', '--model', model, '--json'] },
        { argv: ['list'], env: { RNN_MODELS_DIR: path.join(dirs.in, 'models') } },
        { argv: ['export', '--web', path.join(dirs.out, 'site'), '--model', model] },
        { argv: ['export', '--keras', path.join(dirs.out, 'm.keras'), '--model', model] },
      ]),
    ];
  },
};

const checkpoint: Target = {
  name: 'checkpoint',
  reads: 'a training checkpoint: checkpoint.json and state.bin (rnn train --resume, rnn list)',
  async make(rand, corpus, dirs) {
    const seed = rand.pick(corpus.checkpoints);
    // In the output folder: a resumed run that finishes removes its checkpoint, as it should.
    const ckpt = path.join(dirs.out, 'models', 'm.checkpoint');
    await copyDir(seed.dir, ckpt);
    const data = path.join(dirs.in, 'reviews.csv');
    await fsp.copyFile(seed.data, data);
    // The checkpoint's own paths point into this case: the model it finishes goes to out/, its data is in/.
    const metaFile = path.join(ckpt, 'checkpoint.json');
    const meta = JSON.parse(await fsp.readFile(metaFile, 'utf8')) as { out: string; data: { flags: { data?: string } } };
    meta.out = path.join(dirs.out, 'm');
    meta.data.flags.data = data;
    await fsp.writeFile(metaFile, JSON.stringify(meta) + '\n');
    for (let i = rand.int(2) + 1; i > 0; i--) {
      if (rand.chance(0.7)) await mutateFile(rand, metaFile, true);
      else await mutateFile(rand, path.join(ckpt, 'state.bin'), false);
    }
    return [
      rand.chance(0.8)
        ? { argv: ['train', '--resume', ckpt, ...(rand.chance(0.5) ? ['--data', data] : [])] }
        : { argv: ['list', '--json'], env: { RNN_MODELS_DIR: path.join(dirs.out, 'models') } },
    ];
  },
};

const keras: Target = {
  name: 'keras',
  reads: 'a .keras archive: zip of config.json, metadata.json, model.weights.h5 (rnn import)',
  async make(rand, corpus, dirs) {
    const seed = rand.pick(corpus.keras);
    let b = await read(seed.file);
    for (let i = rand.int(2) + 1; i > 0; i--) b = await mutateZip(b, rand, await read(rand.pick(corpus.keras).file));
    const file = path.join(dirs.in, 'model.keras');
    await fsp.writeFile(file, b);
    await fsp.copyFile(seed.tokenizer, path.join(dirs.in, 'model.tokenizer.json'));
    const out = path.join(dirs.out, 'imported');
    return [
      { argv: ['import', file, '--out', out, ...(rand.chance(0.3) ? ['--maxlen', String(rand.pick([1, 24, 80, 100000]))] : [])] },
      { argv: ['predict', '--model', out, REVIEW] },
    ];
  },
};

const evalRecord: Target = {
  name: 'eval',
  reads: "a model's eval.json, the last rnn eval (rnn info, list, export --web)",
  async make(rand, corpus, dirs) {
    const model = path.join(dirs.in, 'models', 'm');
    await copyDir(corpus.models[0]!, model);
    const file = path.join(model, 'eval.json');
    await fsp.copyFile(rand.pick(corpus.evals), file);
    const op = rand.int(16);
    if (op === 0) {
      await fsp.rm(file);
      await fsp.mkdir(file);
    } else if (op === 1) {
      await fsp.rm(file);
      await fsp.symlink(rand.pick(['/dev/zero', '/dev/urandom', file, '/nonexistent']), file);
    } else if (op === 2) await fsp.truncate(file, rand.pick([200 * 2 ** 20, 3 * 2 ** 30]));
    else for (let i = rand.int(3) + 1; i > 0; i--) await mutateFile(rand, file, true);
    return [
      rand.pick<Command>([
        { argv: ['info', '--model', model] },
        { argv: ['info', '--model', model, '--json'] },
        { argv: ['list'], env: { RNN_MODELS_DIR: path.join(dirs.in, 'models') } },
        { argv: ['list', '--json'], env: { RNN_MODELS_DIR: path.join(dirs.in, 'models') } },
        { argv: ['export', '--web', path.join(dirs.out, 'site'), '--model', model] },
      ]),
    ];
  },
};

/** Every target that runs rnn commands on files (the HTTP API's is in http.ts). */
export const FILE_TARGETS: readonly Target[] = [csv, imdbDir, imdbTar, tokenizer, modelDir, checkpoint, keras, evalRecord];
