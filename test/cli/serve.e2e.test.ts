/**
 * `rnn serve` as a process: the startup line (the only stdout), SIGTERM while requests are in flight (all
 * answered, exit 0), SIGHUP reloading a replaced model directory, and the errors before serving. Models are
 * small LSTMs trained here by the real CLI on real IMDB reviews (../shared/data).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { replaceDir } from '../../src/util/fs.js';
import { escapeRegExp, IMDB_TARBALL, ROOT, runCli, tempDir } from '../helpers.js';
import { smallModel } from '../models.js';

let work = '';
let env: NodeJS.ProcessEnv = {};
let dirA = '';
let dirB = '';

before(async () => {
  work = await tempDir('rnn-serve-cli-');
  env = { RNN_IMDB_URL: IMDB_TARBALL, RNN_MODELS_DIR: path.join(work, 'models'), RNN_DATA_DIR: path.join(work, 'data') };
  dirA = path.join(work, 'models', 'a');
  dirB = path.join(work, 'models', 'b');
  await smallModel(env, dirA, 1);
  await smallModel(env, dirB, 2);
});

after(() => fsp.rm(work, { recursive: true, force: true }));

interface Served {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

/** Starts `rnn serve` and waits for its startup line. */
async function startServe(args: string[]): Promise<Served> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'rnn'), 'serve', '--port', '0', ...args], {
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /on (http:\/\/\S+?)(,|\n)/.exec(out);
      if (m) resolve(m[1]!);
    });
    void exit.then((code) => reject(new Error(`rnn serve exited ${code} before serving: ${err}`)));
  });
  return { child, url, stdout: () => out, stderr: () => err, exit };
}

const predict = (url: string, texts: string[]) =>
  fetch(`${url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ texts }) });

test('rnn serve prints one startup line on stdout; SIGTERM with requests in flight answers them all and exits 0', async () => {
  const s = await startServe(['--model', dirA, '--batch-window', '1000']);
  const kernels = /oneDNN [\d.]+ whole-sequence kernels \(rnn's addon\)|TensorFlow LSTMBlockCell\/GRUBlockCell kernels|tfjs ops/;
  assert.match(s.stdout(), new RegExp(`^serving ${escapeRegExp(dirA)} \\(lstm, (${kernels.source})\\) on http://127\\.0\\.0\\.1:\\d+\\n$`));
  const texts = ['A moving, beautifully acted film.', 'Dull and far too long.', 'Not bad at all.'];
  // The rows wait 1 s for their batch: 300 ms in, all 24 requests are in the server, waiting.
  const inFlight = Array.from({ length: 24 }, (_, i) => predict(s.url, [texts[i % 3]!]));
  await new Promise((r) => setTimeout(r, 300));
  s.child.kill('SIGTERM');
  const answers = await Promise.all(inFlight);
  assert.deepEqual(
    answers.map((a) => a.status),
    Array(24).fill(200),
  );
  assert.equal(await s.exit, 0);
  assert.equal(s.stdout().split('\n').filter(Boolean).length, 1, 'nothing on stdout but the startup line');
  // stderr: JSON log lines only (TensorFlow's own start-up notices aside).
  for (const line of s.stderr().trim().split('\n')) assert.doesNotThrow(() => JSON.parse(line), line);
});

test('SIGHUP reloads the model directory (replaced by another model) without dropping requests in flight', async () => {
  const served = path.join(work, 'models', 'served');
  await fsp.cp(dirA, served, { recursive: true });
  // Every request waits 200 ms in the batcher after it has taken its model: at the swap, requests taken by the
  // old model are always waiting for their forward.
  const s = await startServe(['--model', served, '--watch', '0', '--batch-window', '200']);
  const createdAt = async () => ((await (await fetch(`${s.url}/v1/model`)).json()) as { createdAt: string }).createdAt;
  const metaA = JSON.parse(await fsp.readFile(path.join(dirA, 'metadata.json'), 'utf8'));
  const metaB = JSON.parse(await fsp.readFile(path.join(dirB, 'metadata.json'), 'utf8'));
  assert.notEqual(metaA.createdAt, metaB.createdAt);
  assert.equal(await createdAt(), metaA.createdAt);
  const staged = path.join(work, 'models', 'staged');
  await fsp.cp(dirB, staged, { recursive: true });
  await replaceDir(staged, served);
  assert.equal(await createdAt(), metaA.createdAt, 'with --watch 0, nothing reloads until SIGHUP');
  // Eight clients send requests back to back from before the SIGHUP until after the new model answers.
  interface Sent {
    sent: number;
    received: number;
    status: number | string;
    model?: string;
  }
  const log: Sent[] = [];
  let stopAt = Infinity;
  const client = async (): Promise<void> => {
    while (Date.now() < stopAt) {
      const r: Sent = { sent: Date.now(), received: 0, status: 'no answer' };
      try {
        const res = await predict(s.url, ['A moving, beautifully acted film.']);
        r.status = res.status;
        r.model = ((await res.json()) as { model?: { createdAt: string } }).model?.createdAt;
      } catch (e) {
        r.status = String((e as Error).cause ?? e);
      }
      r.received = Date.now();
      if (r.model === metaB.createdAt) stopAt = Math.min(stopAt, r.received + 500);
      log.push(r);
    }
  };
  const clients = Array.from({ length: 8 }, client);
  await new Promise((r) => setTimeout(r, 600));
  s.child.kill('SIGHUP');
  const giveUp = setTimeout(() => (stopAt = Math.min(stopAt, Date.now())), 60_000); // the reload never came: fail below, not hang
  await Promise.all(clients);
  clearTimeout(giveUp);
  assert.deepEqual(
    log.filter((r) => r.status !== 200),
    [],
    'every request was answered with 200',
  );
  // The swap, as the server logged it (pino's time: milliseconds since the epoch, this machine's clock).
  const line = /^\{.*"event":"model-loaded","reason":"SIGHUP".*"replaced":true.*"msg":"model reloaded".*\}$/m.exec(s.stderr());
  assert.ok(line, s.stderr());
  const swap = (JSON.parse(line[0]) as { time: number }).time;
  const onOld = log.filter((r) => r.model === metaA.createdAt);
  const onNew = log.filter((r) => r.model === metaB.createdAt);
  assert.ok(onNew.length > 0, 'the new model answered');
  const acrossSwap = onOld.filter((r) => r.sent < swap && r.received > swap);
  assert.ok(
    acrossSwap.length > 0,
    `requests the old model had taken were answered by it after the swap (${onOld.length} on the old model)`,
  );
  assert.ok(
    log.filter((r) => r.sent > swap + 50).every((r) => r.model === metaB.createdAt),
    'requests sent after the swap are answered by the new model',
  );
  assert.equal(await createdAt(), metaB.createdAt);
  s.child.kill('SIGTERM');
  assert.equal(await s.exit, 0);
});

test('errors before serving: one line on stderr, exit 1, nothing on stdout', async () => {
  const busy = await startServe(['--model', dirA]);
  const port = new URL(busy.url).port;
  const cases: Array<{ args: string[]; env?: NodeJS.ProcessEnv; stderr: string | RegExp }> = [
    {
      args: ['serve'],
      env: { RNN_MODELS_DIR: path.join(work, 'no-models') },
      stderr: `error: no trained model in ${path.join(work, 'no-models')} (models/latest is missing). Train one with \`rnn train --cell lstm\`, or pass --model DIR\n`,
    },
    {
      args: ['serve', '--model', path.join(work, 'nope'), '--port', '0'],
      stderr: `error: model directory ${path.join(work, 'nope')} does not exist. Train one with \`rnn train\` or pass --model DIR\n`,
    },
    {
      args: ['serve', '--model', dirA, '--port', port],
      stderr: `error: 127.0.0.1:${port} is already in use. Stop the program listening there, or pass another --port\n`,
    },
    {
      args: ['serve', '--port', 'http'],
      stderr:
        "error: option '--port <n>' argument 'http' is invalid. Expected a whole number of at least 0.\n(run with --help for usage)\n",
    },
  ];
  try {
    for (const c of cases) {
      const r = await runCli(c.args, { env: { ...env, ...c.env }, timeoutMs: 60_000 });
      assert.equal(r.code, 1, c.args.join(' '));
      assert.equal(r.stdout, '');
      const err = r.stderr.replace(/^\{.*\}\n/gm, ''); // the request log's lines (the listen failure is logged too)
      if (typeof c.stderr === 'string') assert.equal(err, c.stderr);
      else assert.match(err, c.stderr);
    }
  } finally {
    busy.child.kill('SIGTERM');
    await busy.exit;
  }
});
