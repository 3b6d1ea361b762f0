/**
 * `rnn export --web`'s core on a small LSTM trained here by the real CLI on real IMDB reviews: the files of
 * the site, the model loading with stock `tf.loadLayersModel` (float32 exactly, quantized within the accuracy
 * docs/web.md reports), the site's model/ being a model directory rnn reads, and bad input leaving nothing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { loadBackend, type LoadedBackend } from '../../src/backend/index.js';
import type { Review } from '../../src/data/index.js';
import { loadModelDir } from '../../src/io/model-dir.js';
import { predictTexts } from '../../src/predict/index.js';
import { encodeTexts } from '../../src/predict/encode.js';
import { exportWebSite } from '../../src/web/site.js';
import { UserError, type ErrorCode } from '../../src/errors.js';
import { IMDB_TARBALL, imdb, REQUIRE_NATIVE, tempDir } from '../helpers.js';
import { smallModel } from '../models.js';

let run: LoadedBackend;
let work = '';
let model = '';
let reviews: Review[] = [];

before(async () => {
  run = await loadBackend({ requireNative: REQUIRE_NATIVE });
  work = await tempDir('rnn-web-');
  model = path.join(work, 'models', 'lstm');
  const env = { RNN_IMDB_URL: IMDB_TARBALL, RNN_MODELS_DIR: path.join(work, 'models'), RNN_DATA_DIR: path.join(work, 'data') };
  await smallModel(env, model, 1, ['--limit', '3000', '--epochs', '2']); // learns enough for the accuracy bounds
  // 1,000 real test reviews, both labels (every 25th).
  reviews = (await imdb()).test.filter((_, i) => i % 25 === 3);
});

after(() => fsp.rm(work, { recursive: true, force: true }));

/** Probabilities of the site's model loaded by stock tfjs (file:// through tfjs-node), with rnn's encoding. */
async function stockProbabilities(site: string): Promise<Float32Array> {
  const tf = run.tf;
  const m = await tf.loadLayersModel(`file://${path.join(site, 'model', 'model.json')}`);
  const local = await loadModelDir(run, path.join(site, 'model'), 'stock');
  local.model.dispose();
  const { x } = encodeTexts(
    local,
    reviews.map((r) => r.text),
  );
  const maxlen = local.metadata.preprocessing.maxlen;
  const probs = tf.tidy(
    () => (m.predict(tf.tensor2d(x, [reviews.length, maxlen], 'int32')) as typeof tf.Tensor.prototype).dataSync() as Float32Array,
  );
  m.dispose();
  return probs;
}

/** {@link stockProbabilities} of site-none (the float32 test exports it), computed once for the quantized sites' tests. */
let float32: Promise<Float32Array> | undefined;

const accuracy = (probs: Float32Array): number => reviews.filter((r, i) => (probs[i]! > 0.5 ? 1 : 0) === r.label).length / reviews.length;

test('the site: index.html, the bundled script, tfjs, the model files and the card; the total size', async () => {
  const out = path.join(work, 'site');
  const site = await exportWebSite(run, { model, out, quantize: 'none' });
  assert.deepEqual(
    site.files.map((f) => f.name),
    [
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
    ],
  );
  assert.equal(
    site.totalBytes,
    site.files.reduce((s, f) => s + f.bytes, 0),
  );
  for (const f of site.files) assert.equal((await fsp.stat(path.join(out, f.name))).size, f.bytes, f.name);
  const html = await fsp.readFile(path.join(out, 'index.html'), 'utf8');
  // Nothing from another origin: every src/href is relative (or data:), and the CSP says 'self'.
  for (const [, url] of html.matchAll(/(?:src|href)="([^"]*)"/g)) assert.match(url!, /^(?!\/\/|[a-z]+:\/\/)|^data:/, url);
  assert.match(html, /Content-Security-Policy" content="default-src 'self'; script-src 'self';/);
  assert.match(html, /<label for="review">Movie review<\/label>\n<textarea id="review"/);
  const [app, worker] = await Promise.all(['app.js', 'worker.js'].map((f) => fsp.readFile(path.join(out, f), 'utf8')));
  for (const bundle of [app, worker]) assert.doesNotMatch(bundle!, /require\(|node:|process\.env/, 'the bundles hold no Node code');
  assert.ok(
    worker!.includes('textToSequenceWithStats') && worker!.includes('<=>?@[\\\\]^_`{|}~'),
    "rnn's tokenizer (its method, Keras's filters) is in the worker's bundle",
  );
  assert.match(html, /<script src="app\.js"><\/script>/);
  assert.doesNotMatch(html, /tf\.min\.js/, 'tfjs is loaded by the worker, not the page');
  assert.match(await fsp.readFile(path.join(out, '_headers'), 'utf8'), /Cross-Origin-Embedder-Policy: require-corp/);
  const card = JSON.parse(await fsp.readFile(path.join(out, 'card.json'), 'utf8'));
  assert.equal(card.cell, 'lstm');
  assert.equal(card.test, null, 'never evaluated');
  assert.equal(card.data.name, 'aclImdb_v1.tar.gz');
  const meta = JSON.parse(await fsp.readFile(path.join(out, 'model', 'metadata.json'), 'utf8'));
  assert.equal(meta.dataset.path, 'aclImdb_v1.tar.gz', "the machine's path is not published");
});

test('float32: stock tf.loadLayersModel gives the probabilities rnn predict gives', async () => {
  const out = path.join(work, 'site-none');
  await exportWebSite(run, { model, out, quantize: 'none' });
  const probs = await (float32 = stockProbabilities(out));
  const m = await loadModelDir(run, model);
  const want = predictTexts(
    run.tf,
    m,
    reviews.map((r) => r.text),
  );
  m.model.dispose();
  let largest = 0;
  want.forEach((p, i) => (largest = Math.max(largest, Math.abs(p.probability - probs[i]!))));
  assert.ok(largest <= 1e-5, `largest difference ${largest}`);
});

// Measured on these 1,000 reviews: float32 and float16 agree on every label, uint8 on all but 0–2
// (accuracy moves ≤ 0.2 points); the full-size LSTM on all 25,000 test reviews: docs/web.md.
for (const c of [
  { quantize: 'float16' as const, maxProbDiff: 2e-3, maxAccDiff: 0.002, bytesPerValue: 2 },
  { quantize: 'uint8' as const, maxProbDiff: 5e-2, maxAccDiff: 0.005, bytesPerValue: 1 },
]) {
  test(`${c.quantize}: the quantized site loads with stock tfjs and stays within the accuracy reported`, async () => {
    const none = path.join(work, 'site-none');
    const out = path.join(work, `site-${c.quantize}`);
    const site = await exportWebSite(run, { model, out, quantize: c.quantize });
    const weights = site.files.find((f) => f.name === 'model/weights.bin')!.bytes;
    const full = (await fsp.stat(path.join(none, 'model', 'weights.bin'))).size;
    assert.equal(weights, (full / 4) * c.bytesPerValue);
    const [p0, p1] = [await (float32 ??= stockProbabilities(none)), await stockProbabilities(out)];
    let largest = 0;
    p0.forEach((p, i) => (largest = Math.max(largest, Math.abs(p - p1[i]!))));
    assert.ok(largest <= c.maxProbDiff, `largest probability difference ${largest}`);
    assert.ok(Math.abs(accuracy(p0) - accuracy(p1)) <= c.maxAccDiff, `accuracy ${accuracy(p0)} → ${accuracy(p1)}`);
    assert.ok(accuracy(p1) > 0.6, `the model learned: ${accuracy(p1)}`);
    // The site's model/ is a model directory rnn reads (rnn eval --model site/model).
    const m = await loadModelDir(run, path.join(out, 'model'));
    m.model.dispose();
  });
}

async function siblings(dir: string): Promise<string[]> {
  return (await fsp.readdir(path.dirname(dir))).filter((n) => n.startsWith(`.${path.basename(dir)}.tmp-`));
}

test('bad input: one clear error, and no site (nor a half-written one) is left', async () => {
  const broken = path.join(work, 'models', 'broken');
  await fsp.cp(model, broken, { recursive: true });
  const weights = path.join(broken, 'weights.bin');
  await fsp.truncate(weights, (await fsp.stat(weights)).size - 8);
  const notExport = path.join(work, 'notes');
  await fsp.mkdir(notExport);
  await fsp.writeFile(path.join(notExport, 'todo.txt'), 'keep me');
  const cases: Array<{ model: string; out: string; code: ErrorCode; message: RegExp }> = [
    {
      model: path.join(work, 'nope'),
      out: path.join(work, 'out-a'),
      code: 'MODEL_NOT_FOUND',
      message: /^model directory .*nope does not exist$/,
    },
    {
      model: broken,
      out: path.join(work, 'out-b'),
      code: 'MODEL_WEIGHTS_SIZE',
      message: /^the weights of .*broken are \d+ bytes, model\.json expects \d+$/,
    },
    { model, out: notExport, code: 'EXPORT_DIR_NOT_EMPTY', message: /^.*notes exists and is not an rnn web export$/ },
  ];
  for (const c of cases) {
    await assert.rejects(exportWebSite(run, { model: c.model, out: c.out, quantize: 'uint8' }), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.equal(e.code, c.code);
      assert.match(e.message, c.message);
      return true;
    });
    assert.deepEqual(await siblings(c.out), [], 'no temporary directory left');
  }
  await assert.rejects(fsp.stat(path.join(work, 'out-a')));
  await assert.rejects(fsp.stat(path.join(work, 'out-b')));
  assert.deepEqual(await fsp.readdir(notExport), ['todo.txt']);
  // An earlier export is replaced whole.
  const out = path.join(work, 'site-again');
  await exportWebSite(run, { model, out, quantize: 'uint8' });
  await fsp.writeFile(path.join(out, 'stale.txt'), 'from before');
  await exportWebSite(run, { model, out, quantize: 'none' });
  await assert.rejects(fsp.stat(path.join(out, 'stale.txt')));
  assert.equal(JSON.parse(await fsp.readFile(path.join(out, 'card.json'), 'utf8')).quantize, 'none');
});
