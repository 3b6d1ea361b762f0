/**
 * `rnn export` through the real CLI: what it prints for a site (the files, their sizes, the total, how to
 * open it) and its errors (one line, exit 1, nothing written). The model is a small LSTM trained here on
 * real IMDB reviews.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { IMDB_TARBALL, runCli, tempDir } from '../helpers.js';
import { smallModel } from '../models.js';

let work = '';
let env: NodeJS.ProcessEnv = {};
let model = '';

before(async () => {
  work = await tempDir('rnn-export-cli-');
  env = { RNN_IMDB_URL: IMDB_TARBALL, RNN_MODELS_DIR: path.join(work, 'models'), RNN_DATA_DIR: path.join(work, 'data') };
  model = path.join(work, 'models', 'gru');
  // The GRU test/keras trains too (same arguments: trained once per run).
  await smallModel(env, model, 13, ['--cell', 'gru', '--no-ema', '--lr', '0.01']);
});

after(() => fsp.rm(work, { recursive: true, force: true }));

test('rnn export --web DIR --quantize uint8: the site, file by file, its total, and how to open it', async () => {
  const out = path.join(work, 'site');
  const r = await runCli(['export', '--web', out, '--quantize', 'uint8'], { env, cwd: work });
  assert.equal(r.code, 0, r.stderr);
  const files = [
    '_headers',
    'app.js',
    'card.json',
    'index.html',
    'model/metadata.json',
    'model/model.json',
    'model/tokenizer.json',
    'model/weights.bin',
    'rnn-web.json',
    'tf-backend-wasm.min.js',
    'tf.min.js',
    'tfjs-backend-wasm-simd.wasm',
    'tfjs-backend-wasm-threaded-simd.wasm',
    'tfjs-backend-wasm.wasm',
    'worker.js',
  ];
  const sizes = await Promise.all(files.map(async (f) => (await fsp.stat(path.join(out, f))).size));
  const total = sizes.reduce((a, b) => a + b, 0);
  const lines = r.stdout.split('\n');
  assert.equal(lines[0], `exported ${model} to ${out} (uint8 weights): ${(total / 1e6).toFixed(1)} MB in ${files.length} files`);
  assert.match(lines[1]!, /^file +size$/);
  files.forEach((f, i) => assert.match(lines[2 + i]!, new RegExp(`^${f.replace(/\./g, '\\.')} +[\\d,.]+ (B|MB)$`)));
  assert.equal(
    lines[2 + files.length],
    `open it: rnn serve --web ${out} (then http://127.0.0.1:8080/), or host the directory on any static web server`,
  );
  assert.equal(
    lines[3 + files.length],
    "(wasm threads need the two headers in _headers, which Netlify and Cloudflare Pages read; elsewhere set them in the server's configuration)",
  );
  const json = await runCli(['export', '--web', out, '--json'], { env });
  assert.equal(json.code, 0, json.stderr);
  const site = JSON.parse(json.stdout);
  assert.equal(site.quantize, 'none');
  assert.equal(site.card.cell, 'gru');
});

test('rnn export errors: one line on stderr, exit 1, nothing written', async () => {
  const cases: Array<{ args: string[]; env?: NodeJS.ProcessEnv; stderr: string }> = [
    {
      args: ['export'],
      stderr: 'error: nothing to export to. Pass --web DIR to write a static site, or --keras FILE.keras to write a Keras 3 model\n',
    },
    {
      args: ['export', '--web', path.join(work, 'x'), '--model', path.join(work, 'missing')],
      stderr: `error: model directory ${path.join(work, 'missing')} does not exist. Train one with \`rnn train\` or pass --model DIR\n`,
    },
    {
      args: ['export', '--web', path.join(work, 'x')],
      env: { RNN_MODELS_DIR: path.join(work, 'empty') },
      stderr: `error: no trained model in ${path.join(work, 'empty')} (models/latest is missing). Train one with \`rnn train --cell lstm\`, or pass --model DIR\n`,
    },
    {
      args: ['export', '--web', path.join(work, 'x'), '--quantize', 'int4'],
      stderr:
        "error: option '--quantize <how>' argument 'int4' is invalid. Allowed choices are none, float16, uint8.\n(run with --help for usage)\n",
    },
  ];
  for (const c of cases) {
    const r = await runCli(c.args, { env: { ...env, ...c.env } });
    assert.equal(r.code, 1, c.args.join(' '));
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, c.stderr);
  }
  await assert.rejects(fsp.stat(path.join(work, 'x')));
});

test('rnn serve --web DIR that is not an export: one line, exit 1', async () => {
  const dir = path.join(work, 'plain');
  await fsp.mkdir(dir);
  const r = await runCli(['serve', '--model', model, '--port', '0', '--web', dir], { env, timeoutMs: 60_000 });
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(
    r.stderr,
    `error: ${dir} is not a web export (no index.html). Create one with \`rnn export --web DIR\`, then pass that DIR\n`,
  );
});

test('rnn export --keras FILE.keras: the archive and the tokenizer beside it, and how to load them in Keras', async () => {
  const file = path.join(work, 'keras', 'gru.keras');
  const r = await runCli(['export', '--keras', file], { env });
  assert.equal(r.code, 0, r.stderr);
  const size = (await fsp.stat(file)).size;
  assert.equal(
    r.stdout,
    `exported ${model} to ${file} (Keras 3.15.1 archive, ${(size / 1e6).toFixed(1)} MB): gru, 16 units\n` +
      `tokenizer: ${path.join(work, 'keras', 'gru.tokenizer.json')} (Keras's Tokenizer JSON)\n` +
      'in Keras: model = keras.saving.load_model("gru.keras"); x = pad_sequences(tokenizer.texts_to_sequences(texts), maxlen=80, padding="pre", truncating="pre")\n',
  );
  assert.equal(
    await fsp.readFile(path.join(work, 'keras', 'gru.tokenizer.json'), 'utf8'),
    await fsp.readFile(path.join(model, 'tokenizer.json'), 'utf8'),
  );
  const json = await runCli(['export', '--keras', file, '--json'], { env });
  assert.equal(json.code, 0, json.stderr);
  const k = JSON.parse(json.stdout);
  assert.deepEqual(k.spec, {
    cell: 'gru',
    vocabSize: 3000,
    embeddingDim: 100,
    maxlen: 80,
    units: 16,
    bidirectional: false,
    pooling: 'last',
  });
  assert.deepEqual(k.preprocessing, { maxlen: 80, padding: 'pre', truncating: 'pre', numWords: 3000 });
});

test('rnn export --keras errors: one line on stderr, exit 1, nothing written', async () => {
  const cases: Array<{ args: string[]; stderr: string }> = [
    {
      args: ['export', '--keras', path.join(work, 'y', 'model.zip')],
      stderr: `error: option '--keras <file>' argument '${path.join(work, 'y', 'model.zip')}' is invalid. Expected a file name ending in .keras (Keras 3 opens only those).\n(run with --help for usage)\n`,
    },
    {
      args: ['export', '--web', path.join(work, 'y'), '--keras', path.join(work, 'y', 'm.keras')],
      stderr: "error: option '--keras <file>' cannot be used with option '--web <dir>'\n(run with --help for usage)\n",
    },
  ];
  for (const c of cases) {
    const r = await runCli(c.args, { env });
    assert.equal(r.code, 1, c.args.join(' '));
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, c.stderr);
  }
  await assert.rejects(fsp.stat(path.join(work, 'y')));
});
