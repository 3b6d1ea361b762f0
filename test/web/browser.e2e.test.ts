/**
 * The exported page in a real headless Chromium (Debian's `chromium`, driven by playwright-core; no
 * browser download), hosted by `rnn serve --web` over loopback. A small LSTM is trained here by the real
 * CLI on real IMDB reviews; 50 real test reviews are typed into the page and compared with
 * `rnn predict --json`, the explanations with `rnn predict --explain --json`. The page must log no error
 * and ask nothing of another origin. A screenshot is written to TEST_ARTIFACTS (not committed).
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadBackend, type LoadedBackend } from '../../src/backend/index.js';
import type { Review } from '../../src/data/index.js';
import { SERVE_DEFAULTS, startServer, type RunningServer } from '../../src/serve/index.js';
import { exportWebSite } from '../../src/web/site.js';
import { CHROMIUM, IMDB_TARBALL, imdb, REQUIRE_BROWSER, REQUIRE_NATIVE, runCli, tempDir, TEST_ARTIFACTS } from '../helpers.js';
import { smallModel } from '../models.js';

let run: LoadedBackend;
let work = '';
let model = '';
let site = '';
let server: RunningServer;
let browser: Browser | undefined;
let reviews: Review[] = [];
const hasChromium = existsSync(CHROMIUM);

before(async () => {
  if (!hasChromium) {
    if (REQUIRE_BROWSER) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium (.ci/run does) or set RNN_CHROMIUM`);
    return;
  }
  run = await loadBackend({ requireNative: REQUIRE_NATIVE });
  work = await tempDir('rnn-browser-');
  model = path.join(work, 'models', 'lstm');
  const env = { RNN_IMDB_URL: IMDB_TARBALL, RNN_MODELS_DIR: path.join(work, 'models'), RNN_DATA_DIR: path.join(work, 'data') };
  await smallModel(env, model, 1, ['--limit', '3000', '--epochs', '2']); // learns enough for the accuracy bounds
  const ev = await runCli(['eval', '--model', model, '--limit', '1000'], { env });
  assert.equal(ev.code, 0, ev.stderr);
  site = path.join(work, 'site');
  await exportWebSite(run, { model, out: site, quantize: 'none' });
  server = await startServer(
    run,
    { ...SERVE_DEFAULTS, port: 0, watchMs: 0, web: site, logLevel: 'silent' },
    { resolveDir: async () => model, logStream: new PassThrough() },
  );
  await server.ready;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
  // 50 real test reviews of every length (every 500th), one line each.
  reviews = (await imdb()).test.filter((_, i) => i % 500 === 11);
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (work) await fsp.rm(work, { recursive: true, force: true });
});

interface Opened {
  page: Page;
  backend: string;
  /** Console errors, page errors and requests to other origins, as they happen. */
  problems: string[];
}

async function open(backend?: string, at: RunningServer = server): Promise<Opened> {
  const page = await browser!.newPage({ viewport: { width: 1000, height: 900 } });
  const problems: string[] = [];
  const origin = new URL(at.url).origin;
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (req) => {
    if (!req.url().startsWith('data:') && new URL(req.url()).origin !== origin) problems.push(`request outside the origin: ${req.url()}`);
  });
  await page.goto(`${at.url}/${backend ? `?backend=${backend}` : ''}`);
  await page.waitForFunction(() => document.body.dataset.ready || /could not/.test(document.getElementById('status')!.textContent!), null, {
    timeout: 120_000,
  });
  const ready = await page.evaluate(() => document.body.dataset.ready ?? '');
  assert.ok(ready, await page.evaluate(() => document.getElementById('status')!.textContent));
  return { page, backend: ready, problems };
}

/** Types (fills) a review and waits until the page shows its result; the label, probability and top words. */
async function ask(page: Page, text: string): Promise<{ label: string; probability: number; positive: string[]; negative: string[] }> {
  await page.fill('#review', text);
  await page.waitForFunction((t) => document.getElementById('result')!.dataset.text === t, text, { timeout: 60_000 });
  return page.evaluate(() => ({
    label: document.getElementById('verdict')!.dataset.label!,
    probability: Number(document.getElementById('probability')!.dataset.value),
    positive: [...document.querySelectorAll<HTMLElement>('#top-positive li[data-word]')].map((li) => li.dataset.word!),
    negative: [...document.querySelectorAll<HTMLElement>('#top-negative li[data-word]')].map((li) => li.dataset.word!),
  }));
}

async function cli(args: string[], dir = model): Promise<Record<string, unknown>[]> {
  const r = await runCli(['predict', '--model', dir, '--json', ...args], { input: reviews.map((x) => x.text).join('\n') + '\n' });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const skip = (t: TestContext): boolean => {
  if (hasChromium) return false;
  t.skip(`no Chromium at ${CHROMIUM}`);
  return true;
};

test('cpu backend: 50 real reviews typed into the page get the labels of rnn predict --json, probabilities within 1e-4', async (t) => {
  if (skip(t)) return;
  const want = await cli([]);
  const { page, backend, problems } = await open('cpu');
  assert.equal(backend, 'cpu');
  let largest = 0;
  for (const [i, r] of reviews.entries()) {
    const got = await ask(page, r.text);
    assert.equal(got.label, want[i]!.label, `review ${i}`);
    largest = Math.max(largest, Math.abs(got.probability - (want[i]!.probability as number)));
  }
  t.diagnostic(`cpu backend: largest probability difference from rnn predict over 50 reviews: ${largest}`);
  assert.ok(largest <= 1e-4, `largest difference ${largest}`);
  assert.deepEqual(problems, []);
  await fsp.mkdir(TEST_ARTIFACTS, { recursive: true });
  const shot = path.join(TEST_ARTIFACTS, 'web-export.png');
  await page.fill('#review', 'A moving, beautifully acted film. The story drags a little in the middle, but the ending is wonderful.');
  await page.waitForFunction(() => document.getElementById('result')!.dataset.text?.startsWith('A moving'));
  await page.screenshot({ path: shot, fullPage: true });
  t.diagnostic(`screenshot: ${shot}`);
  await page.close();
});

test("the explanation's top words are rnn predict --explain's", async (t) => {
  if (skip(t)) return;
  const want = await cli(['--explain']);
  const { page, problems } = await open('cpu');
  type Word = { word: string; tokens: string[]; contribution: number; seen: boolean };
  const top = (words: Word[], sign: number): string[] =>
    words
      .filter((w) => w.seen && sign * w.contribution > 0)
      .sort((a, b) => sign * (b.contribution - a.contribution))
      .slice(0, 5)
      .map((w) => w.tokens.join(' '));
  for (const i of [0, 1, 2, 3]) {
    const got = await ask(page, reviews[i]!.text);
    const words = want[i]!.words as Word[];
    assert.deepEqual(got.positive, top(words, 1), `review ${i}: most positive`);
    assert.deepEqual(got.negative, top(words, -1), `review ${i}: most negative`);
  }
  assert.deepEqual(problems, []);
  await page.close();
});

test('keyboard: the labelled text box takes typing, and the verdict follows it', async (t) => {
  if (skip(t)) return;
  const { page, problems } = await open('cpu');
  const box = page.getByLabel('Movie review');
  await box.focus();
  await page.keyboard.type('Terrible. Boring plot and awful acting, a waste of time.', { delay: 5 });
  const text = 'Terrible. Boring plot and awful acting, a waste of time.';
  await page.waitForFunction((x) => document.getElementById('result')!.dataset.text === x, text, { timeout: 60_000 });
  const verdict = await page.locator('#verdict').textContent();
  assert.ok(verdict === 'positive' || verdict === 'negative');
  // Readable without colour: strong words carry a + or − sign, and the status names the backend.
  assert.match((await page.locator('#explanation').textContent())!, /[+−]/);
  assert.match((await page.locator('#status').textContent())!, /^Ready: the model runs on TensorFlow\.js's cpu backend\.$/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('default backend: webgl when headless Chromium has it (else cpu); labels still agree', async (t) => {
  if (skip(t)) return;
  const want = await cli([]);
  const { page, backend, problems } = await open();
  assert.ok(backend === 'webgl' || backend === 'cpu', backend);
  let largest = 0;
  for (const [i, r] of reviews.slice(0, 10).entries()) {
    const got = await ask(page, r.text);
    assert.equal(got.label, want[i]!.label, `review ${i}`);
    largest = Math.max(largest, Math.abs(got.probability - (want[i]!.probability as number)));
  }
  t.diagnostic(`default backend ${backend}: largest probability difference over 10 reviews: ${largest}`);
  assert.ok(largest <= 1e-3, `largest difference ${largest}`);
  assert.deepEqual(problems, []);
  await page.close();
});

test('the model card shows the test accuracy and F1 of the last rnn eval', async (t) => {
  if (skip(t)) return;
  const record = JSON.parse(await fsp.readFile(path.join(model, 'eval.json'), 'utf8'));
  const { page } = await open('cpu');
  const card = (await page.locator('#card').textContent())!;
  const pct = `${(record.metrics.accuracy * 100).toFixed(2)}%`;
  assert.ok(card.includes(`${pct} (F1 ${record.metrics.f1.toFixed(4)}`), card);
  assert.match(card, /LSTM\(16\)/);
  await page.close();
});

test("the best preset's model (Bidirectional GRU, max over time) loads with the page's stock tfjs: rnn predict's labels", async (t) => {
  if (skip(t)) return;
  const env = { RNN_IMDB_URL: IMDB_TARBALL, RNN_MODELS_DIR: path.join(work, 'models'), RNN_DATA_DIR: path.join(work, 'data') };
  const dir = path.join(work, 'models', 'gru-best');
  await smallModel(env, dir, 2, ['--cell', 'gru', '--preset', 'best', '--vocab-size', '2000', '--epochs', '1']);
  const out = path.join(work, 'site-best');
  await exportWebSite(run, { model: dir, out, quantize: 'none' });
  const best = await startServer(
    run,
    { ...SERVE_DEFAULTS, port: 0, watchMs: 0, web: out, logLevel: 'silent' },
    { resolveDir: async () => dir, logStream: new PassThrough() },
  );
  try {
    await best.ready;
    const want = await cli([], dir);
    const { page, problems } = await open('cpu', best);
    assert.match((await page.locator('#card').textContent())!, /Bidirectional\(GRU\(16\)\) → GlobalMaxPooling1D → Dense\(1, sigmoid\)/);
    let largest = 0;
    for (const [i, r] of reviews.slice(0, 10).entries()) {
      const got = await ask(page, r.text);
      assert.equal(got.label, want[i]!.label, `review ${i}`);
      largest = Math.max(largest, Math.abs(got.probability - (want[i]!.probability as number)));
    }
    t.diagnostic(`best preset, cpu backend: largest probability difference over 10 reviews: ${largest}`);
    assert.ok(largest <= 1e-4, `largest difference ${largest}`);
    assert.deepEqual(problems, []);
    await page.close();
  } finally {
    await best.close();
  }
});
