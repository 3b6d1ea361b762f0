/**
 * Ctrl-C / SIGTERM during `rnn train` on real IMDB reviews: the run stops after the current batch, saves a
 * checkpoint beside the model directory, exits 130 and leaves the previous model untouched; `--resume`
 * continues to the same history and weights as a run that was never interrupted. SIGKILL mid-training
 * also leaves the previous model loadable.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fsp, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { escapeRegExp, runCli, imdb, imdbWorkspace, ROOT, REQUIRE_NATIVE, type CliResult } from '../helpers.js';
import { trainedModel } from '../models.js';
import { loadBackend } from '../../src/backend/index.js';
import { labelsOf, loadModelDir } from '../../src/io/model-dir.js';
import { PREDICT_BATCH_SIZE } from '../../src/predict/index.js';
import { evaluateModel, testSubset } from '../../src/predict/score.js';

let native = false;
let work = '';
let env: NodeJS.ProcessEnv = {};
before(async () => {
  ({ native, work, env } = await imdbWorkspace('rnn-resume-'));
});

// 2,700 training reviews (300 held out) at batch 32: 85 batches an epoch; about 2 s per epoch with the oneDNN kernels
// (5 s with the tfjs kernels), so a signal 300 ms into epoch 2 lands mid-epoch.
const args = ['train', '--cell', 'gru', '--limit', '3000', '--maxlen', '200', '--epochs', '2', '--seed', '4', '--json'];

/**
 * The uninterrupted run of {@link args}, trained once per run (test/models.ts) and copied to `dest`: the first
 * test's reference, the second's previous model.
 */
const uninterrupted = (dest: string) => trainedModel(args.slice(1), dest, env);

/**
 * Runs the CLI and sends `signal` once the first epoch's JSON line is out (so training is mid-epoch 2).
 * `tfLoaded` says whether the process that got the signal had libtensorflow mapped (it must not: a handled
 * signal landing in TensorFlow's oneDNN kernels corrupts the heap, see src/cli/worker.ts).
 */
function runAndSignal(extra: string[], signal: NodeJS.Signals): Promise<CliResult & { tfLoaded: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'rnn'), ...args, ...extra], {
      env: { ...process.env, NO_COLOR: '1', ...env },
    });
    let stdout = '';
    let stderr = '';
    let sent = false;
    let tfLoaded = false;
    child.stdout.on('data', (d) => {
      stdout += d;
      if (!sent && stdout.includes('\n')) {
        sent = true;
        setTimeout(() => {
          tfLoaded = readFileSync(`/proc/${child.pid}/maps`, 'utf8').includes('libtensorflow');
          child.kill(signal);
        }, 300);
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, sig) => resolve({ code: code ?? (sig === 'SIGKILL' ? 137 : -1), stdout, stderr, tfLoaded }));
  });
}

async function hashDir(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await fsp.readdir(dir)).sort()) {
    const p = path.join(dir, f);
    if ((await fsp.stat(p)).isFile())
      out[f] = createHash('sha256')
        .update(await fsp.readFile(p))
        .digest('hex');
  }
  return out;
}

const weights = async (dir: string): Promise<Float32Array> => {
  const b = await fsp.readFile(path.join(dir, 'weights.bin'));
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};

test("SIGINT saves a checkpoint and exits 130; --resume reaches the uninterrupted run's history and weights", async (t) => {
  if (!native) return t.skip('the native backend is needed to train');
  const full = (await uninterrupted(path.join(work, 'models', 'full'))).train;
  assert.equal(full.code, 0, full.stderr);
  const want = full.stdout
    .trim()
    .split('\n')
    .slice(0, 2)
    .map((l) => JSON.parse(l));

  const out = path.join(work, 'models', 'int');
  const ckpt = `${out}.checkpoint`;
  const int = await runAndSignal(['--out', out], 'SIGINT');
  assert.equal(int.code, 130, int.stderr);
  assert.equal(int.tfLoaded, false, 'the rnn process that receives Ctrl-C does not run TensorFlow');
  const lines = int.stderr.trimEnd().split('\n');
  assert.equal(lines.at(-2), 'SIGINT: stopping after this batch and saving a checkpoint (Ctrl-C again quits at once, without one)');
  const m =
    /^interrupted: checkpoint saved to (.*) \(epoch 2 of 2, (\d+) of 85 batches done\); (.*) was not changed\. Resume with `rnn train --resume (.*)`$/.exec(
      lines.at(-1)!,
    );
  assert.ok(m, lines.at(-1));
  assert.equal(m[1], ckpt);
  assert.equal(m[3], out);
  assert.equal(m[4], ckpt);
  t.diagnostic(`interrupted after ${m[2]} of 85 batches of epoch 2`);
  assert.equal(await fsp.stat(out).catch(() => undefined), undefined, 'no model directory from an interrupted run');
  const list = await runCli(['list'], { env });
  assert.ok(list.stdout.includes(`\nint.checkpoint  interrupted gru training (epoch 2 of 2): rnn train --resume ${ckpt}\n`), list.stdout);

  const res = await runCli(['train', '--resume', ckpt, '--json'], { env });
  assert.equal(res.code, 0, res.stderr);
  assert.match(
    res.stderr,
    new RegExp(`^resuming gru \\(seed 4\\) at epoch 2, batch ${Number(m[2]) + 1}; the model goes to ${escapeRegExp(out)}\n`),
  );
  const got = res.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(got.length, 2, 'epoch 2, then the saved model');
  // The resumed Adam recomputes β^t as a power, as tfjs's setWeights does, where the straight run multiplied
  // step by step: a last-bit difference, which can tip one review's rounded prediction (of 2,700 / 300).
  for (const k of ['loss', 'val_loss'] as const) assert.ok(Math.abs(got[0][k] - want[1][k]) < 1e-4, `${k}: ${got[0][k]} vs ${want[1][k]}`);
  assert.ok(Math.abs(got[0].acc - want[1].acc) <= 1 / 2700 + 1e-9, `acc: ${got[0].acc} vs ${want[1].acc}`);
  assert.ok(Math.abs(got[0].val_acc - want[1].val_acc) <= 1 / 300 + 1e-9, `val_acc: ${got[0].val_acc} vs ${want[1].val_acc}`);
  assert.equal(got[1].saved, out);
  const a = await weights(path.join(work, 'models', 'full'));
  const b = await weights(out);
  assert.equal(a.length, b.length);
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
  assert.ok(maxDiff < 1e-4, `weights differ by up to ${maxDiff}`);
  const meta = JSON.parse(await fsp.readFile(path.join(out, 'metadata.json'), 'utf8'));
  assert.equal(meta.history.length, 2, 'the history holds the epoch from before the interruption too');
  assert.equal(await fsp.stat(ckpt).catch(() => undefined), undefined, 'the checkpoint is removed once the model is saved');
});

test('SIGTERM and SIGKILL during training leave the previous model as it was, and loadable', async (t) => {
  if (!native) return t.skip('the native backend is needed to train');
  const out = path.join(work, 'models', 'keep');
  const first = (await uninterrupted(out)).train;
  assert.equal(first.code, 0, first.stderr);
  const before = await hashDir(out);

  const term = await runAndSignal(['--out', out], 'SIGTERM');
  assert.equal(term.code, 130, term.stderr);
  assert.match(
    term.stderr,
    /SIGTERM: stopping after this batch and saving a checkpoint \(another signal quits at once, without one\)\ninterrupted: checkpoint saved to /,
  );
  assert.deepEqual(await hashDir(out), before);

  const kill = await runAndSignal(['--out', out], 'SIGKILL');
  assert.equal(kill.code, 137);
  assert.deepEqual(await hashDir(out), before);
  // Loadable: read and scored as `rnn eval --limit 200` would (by its core, in this process: a spawned eval costs
  // a load of TensorFlow and a decoding of the archive, and would write its record into the directory).
  const backend = await loadBackend({ requireNative: REQUIRE_NATIVE });
  const m = await loadModelDir(backend, out);
  const ev = evaluateModel(backend.tf, m, testSubset((await imdb()).test, 200), labelsOf(m.metadata), PREDICT_BATCH_SIZE);
  m.model.dispose();
  assert.equal(ev.metrics.count, 200);
  assert.ok('loss' in ev.metrics && Number.isFinite(ev.metrics.loss), `metrics ${JSON.stringify(ev.metrics)}`);
  assert.deepEqual(await hashDir(out), before, 'loading it changed nothing');

  // A second interruption replaces the checkpoint; resuming it still works.
  const res = await runCli(['train', '--resume', `${out}.checkpoint`, '--json'], { env });
  assert.equal(res.code, 0, res.stderr);
  assert.notDeepEqual(await hashDir(out), before, 'the resumed run saved its model');
});

test('--resume of a directory that is no checkpoint is a clear error; --cell is still required without --resume', async () => {
  const notCkpt = await runCli(['train', '--resume', work], { env });
  assert.equal(notCkpt.code, 1);
  assert.equal(
    notCkpt.stderr,
    `error: ${work} is not a training checkpoint (no checkpoint.json). Pass --resume the .checkpoint directory an interrupted \`rnn train\` named, or start again without --resume\n`,
  );
  const mixed = await runCli(['train', '--resume', work, '--epochs', '5', '--no-restore-best'], { env });
  assert.equal(mixed.code, 1);
  assert.equal(
    mixed.stderr,
    'error: --epochs, --no-restore-best cannot be combined with --resume. A resumed run keeps the options of the interrupted one: drop them, or start a new run without --resume\n',
  );
  const noCell = await runCli(['train', '--epochs', '1'], { env });
  assert.equal(noCell.code, 1);
  assert.equal(noCell.stderr, "error: required option '--cell <cell>' not specified\n(run with --help for usage)\n");
});
