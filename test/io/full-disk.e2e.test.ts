/**
 * Saves on a full or a read-only file system: `rnn train` (the model, and the checkpoint of an interrupted
 * run), `rnn export --web`, `rnn export --keras` and `rnn import` each fail with one line and a code
 * (IO_NO_SPACE, IO_READ_ONLY), leave what was there before intact and loadable, and leave no partial file.
 *
 * For real: as root the tests mount a small tmpfs, fill it, and bind-mount it read-only. Where mounting is not
 * permitted they fall back to test/fs-faults.ts (writes under the folder fail with ENOSPC or EROFS) and say
 * so in their names; they never skip.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { loadBackend, type LoadedBackend } from '../../src/backend/index.js';
import { loadModelDir } from '../../src/io/model-dir.js';
import { predictTexts } from '../../src/predict/index.js';
import { escapeRegExp, REQUIRE_NATIVE, ROOT, imdb, runCli, tempDir } from '../helpers.js';

/** Whether this process may mount (root, outside a restricted container). */
function canMount(): boolean {
  const probe = spawnSync('mktemp', ['-d']).stdout.toString().trim();
  const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe]).status === 0;
  if (ok) spawnSync('umount', [probe]);
  spawnSync('rmdir', [probe]);
  return ok;
}
// RNN_TEST_NO_MOUNT=1 tries the fallback where mounting works.
const MOUNT = !process.env.RNN_TEST_NO_MOUNT && canMount();
const HOW = MOUNT ? 'a real tmpfs' : 'injected faults: mount not permitted';

const TRAIN = ['--cell', 'gru', '--maxlen', '20', '--units', '4', '--embedding-dim', '8', '--vocab-size', '300', '--seed', '2'];

let work = '';
let csv = '';
/** A model trained once (elsewhere), copied in as "the model that was there". */
let previous = '';
let keras = '';
/** `rnn export --web` of {@link previous}, made once: the export each web test's folder holds before. */
let previousSite = '';
const mounts: string[] = [];

before(async () => {
  work = await tempDir('rnn-full-disk-');
  const { train } = await imdb();
  csv = path.join(work, 'reviews.csv');
  const rows = Array.from({ length: 200 }, (_, i) => train[Math.floor((i * train.length) / 200)]!);
  await fsp.writeFile(csv, stringify([['review', 'sentiment'], ...rows.map((r) => [r.text, r.label ? 'positive' : 'negative'])]));
  previous = path.join(work, 'previous');
  const r = await runCli(['train', ...TRAIN, '--epochs', '1', '--data', csv, '--out', previous], { env: env(work) });
  assert.equal(r.code, 0, r.stderr);
  keras = path.join(work, 'previous.keras');
  const k = await runCli(['export', '--keras', keras, '--model', previous], { env: env(work) });
  assert.equal(k.code, 0, k.stderr);
  previousSite = path.join(work, 'previous-site');
  const w = await runCli(['export', '--web', previousSite, '--model', previous], { env: env(work) });
  assert.equal(w.code, 0, w.stderr);
});

after(async () => {
  for (const m of mounts.reverse()) spawnSync('umount', [m]);
  await fsp.rm(work, { recursive: true, force: true });
});

function env(dir: string): NodeJS.ProcessEnv {
  return { RNN_MODELS_DIR: path.join(dir, 'models'), RNN_DATA_DIR: path.join(work, 'data') };
}

/** Every file under `dir` (names relative to it) with its SHA-256, links as their targets. */
async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await fsp.readdir(dir, { withFileTypes: true, recursive: true })) {
    const p = path.join(e.parentPath, e.name);
    const rel = path.relative(dir, p);
    if (e.isFile())
      out[rel] = createHash('sha256')
        .update(await fsp.readFile(p))
        .digest('hex');
    else if (e.isSymbolicLink()) out[rel] = `-> ${await fsp.readlink(p)}`;
    else out[rel] = 'dir';
  }
  return out;
}

type Fault = 'full' | 'read-only';

/**
 * A folder holding `seed` (what was there before) that is full (a few KiB left) or read-only: a tmpfs when
 * mounting is permitted, else the fault shim's environment for the CLI.
 */
async function faultyFolder(
  name: string,
  fault: Fault,
  seed: (dir: string) => Promise<void>,
): Promise<{ dir: string; env: NodeJS.ProcessEnv }> {
  const dir = path.join(work, name);
  await fsp.mkdir(dir);
  if (!MOUNT) {
    await seed(dir);
    return {
      dir,
      env: {
        ...env(dir),
        NODE_OPTIONS: `--import=${path.join(ROOT, 'dist', 'test', 'fs-faults.js')}`,
        RNN_TEST_FAULT_DIR: dir,
        RNN_TEST_FAULT: fault === 'full' ? 'ENOSPC' : 'EROFS',
      },
    };
  }
  const backing = path.join(work, `${name}.fs`);
  await fsp.mkdir(backing);
  assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', backing]).status, 0);
  mounts.push(backing);
  await seed(backing);
  if (fault === 'full') {
    // Fill it: one file until ENOSPC, then give back 8 KiB (room for a small file, not for a model).
    const fill = path.join(backing, 'filler');
    spawnSync('dd', ['if=/dev/zero', `of=${fill}`, 'bs=4k'], { stdio: 'ignore' });
    const size = (await fsp.stat(fill)).size;
    await fsp.truncate(fill, size - 8192);
  }
  assert.equal(spawnSync('mount', ['--bind', backing, dir]).status, 0);
  mounts.push(dir);
  if (fault === 'read-only') assert.equal(spawnSync('mount', ['-o', 'remount,bind,ro', dir]).status, 0);
  return { dir, env: env(dir) };
}

/** The last line of stderr is `{"error": {code, …}}` (a --json command) with `code`; it is the only error line. */
function assertOneError(stderr: string, code: string, target: string): void {
  const lines = stderr.trim().split('\n');
  const errors = lines.filter((l) => /error/i.test(l));
  assert.equal(errors.length, 1, stderr);
  const e = JSON.parse(lines.at(-1)!) as { error: { code: string; message: string } };
  assert.equal(e.error.code, code, stderr);
  assert.match(e.error.message, new RegExp(`^cannot write ${escapeRegExp(target)}`));
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
}

/** Nothing partial beside `name` in `dir`: no temporary sibling (`.name.tmp-…`) nor anything new. */
async function assertNoPartialFiles(dir: string, before: Record<string, string>): Promise<void> {
  const after = await tree(dir);
  assert.deepEqual(Object.keys(after).sort(), Object.keys(before).sort(), 'no file added or removed');
  assert.deepEqual(after, before, 'no file changed');
}

let backend: LoadedBackend | undefined;

/**
 * The model directory loads and predicts, as `rnn predict --model` loads it (in this process, without the fault
 * shim: TensorFlow loads once for the file instead of once per check).
 */
async function assertLoads(model: string): Promise<void> {
  backend ??= await loadBackend({ requireNative: REQUIRE_NATIVE });
  const m = await loadModelDir(backend, model);
  try {
    const [p] = predictTexts(backend.tf, m, ['A fine film.']);
    assert.ok(p && p.probability >= 0 && p.probability <= 1, `a probability: ${p?.probability}`);
  } finally {
    m.model.dispose();
  }
}

const CODE: Record<Fault, string> = { full: 'IO_NO_SPACE', 'read-only': 'IO_READ_ONLY' };

for (const fault of ['full', 'read-only'] as const) {
  test(`rnn train on a ${fault} file system: ${CODE[fault]}, the previous model intact and loadable, nothing partial (${HOW})`, async () => {
    const f = await faultyFolder(`train-${fault}`, fault, (d) => fsp.cp(previous, path.join(d, 'm'), { recursive: true }));
    const before = await tree(f.dir);
    const out = path.join(f.dir, 'm');
    const r = await runCli(['train', ...TRAIN, '--epochs', '1', '--data', csv, '--out', out, '--json'], { env: f.env });
    assert.equal(r.code, 1, r.stderr);
    assertOneError(r.stderr, CODE[fault], out);
    await assertNoPartialFiles(f.dir, before);
    await assertLoads(out);
  });

  test(`an interrupted rnn train whose checkpoint cannot be saved (${fault}): ${CODE[fault]}, no checkpoint, the model intact (${HOW})`, async () => {
    const f = await faultyFolder(`ckpt-${fault}`, fault, (d) => fsp.cp(previous, path.join(d, 'm'), { recursive: true }));
    const before = await tree(f.dir);
    const out = path.join(f.dir, 'm');
    const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [path.join(ROOT, 'bin', 'rnn'), 'train', ...TRAIN, '--epochs', '200', '--data', csv, '--out', out, '--json'],
        {
          env: { ...process.env, NO_COLOR: '1', ...f.env },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stderr = '';
      let stopped = false;
      child.stdout.on('data', (d: Buffer) => {
        // The first epoch's JSON line: stop now, which saves a checkpoint beside --out. Once: a second SIGINT
        // (the next epoch's line can come before the first is handled) quits at once, without a checkpoint.
        if (!stopped && d.toString().includes('"epoch"')) {
          stopped = true;
          child.kill('SIGINT');
        }
      });
      child.stderr.on('data', (d: Buffer) => (stderr += d));
      child.on('close', (code) => resolve({ code: code ?? -1, stderr }));
    });
    assert.equal(r.code, 1, r.stderr);
    assertOneError(r.stderr.replace(/^SIGINT: .*\n/m, ''), CODE[fault], `${out}.checkpoint`);
    await assertNoPartialFiles(f.dir, before);
    await assertLoads(out);
  });

  test(`rnn export --web onto a ${fault} file system: ${CODE[fault]}, the previous export intact, nothing partial (${HOW})`, async () => {
    const site = (d: string) => path.join(d, 'site');
    const f = await faultyFolder(`web-${fault}`, fault, (d) => fsp.cp(previousSite, site(d), { recursive: true }));
    const before = await tree(f.dir);
    const r = await runCli(['export', '--web', site(f.dir), '--model', previous, '--json'], { env: f.env });
    assert.equal(r.code, 1, r.stderr);
    assertOneError(r.stderr, CODE[fault], site(f.dir));
    await assertNoPartialFiles(f.dir, before);
    await assertLoads(path.join(site(f.dir), 'model'));
  });

  test(`rnn export --keras onto a ${fault} file system: ${CODE[fault]}, the previous archive intact, nothing partial (${HOW})`, async () => {
    const f = await faultyFolder(`keras-${fault}`, fault, (d) => fsp.copyFile(keras, path.join(d, 'm.keras')));
    const before = await tree(f.dir);
    const out = path.join(f.dir, 'm.keras');
    const r = await runCli(['export', '--keras', out, '--model', previous, '--json'], { env: f.env });
    assert.equal(r.code, 1, r.stderr);
    assertOneError(r.stderr, CODE[fault], out);
    await assertNoPartialFiles(f.dir, before);
  });

  test(`rnn import onto a ${fault} file system: ${CODE[fault]}, the previous model intact and loadable, nothing partial (${HOW})`, async () => {
    const f = await faultyFolder(`import-${fault}`, fault, (d) => fsp.cp(previous, path.join(d, 'm'), { recursive: true }));
    const before = await tree(f.dir);
    const out = path.join(f.dir, 'm');
    const r = await runCli(['import', keras, '--out', out, '--json'], { env: f.env });
    assert.equal(r.code, 1, r.stderr);
    assertOneError(r.stderr, CODE[fault], out);
    await assertNoPartialFiles(f.dir, before);
    await assertLoads(out);
  });
}
