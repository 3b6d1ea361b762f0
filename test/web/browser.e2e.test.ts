/**
 * The exported page in a real headless Chromium (Debian's `chromium`, driven by playwright-core; no
 * browser download), hosted by `rnn serve --web` over loopback. A small LSTM is trained here by the real
 * CLI on real IMDB reviews; 50 real test reviews are typed into the page and compared with
 * `rnn predict --json`, the explanations with `rnn predict --explain --json`. The page must log no error
 * and ask nothing of another origin. A screenshot is written to TEST_ARTIFACTS (not committed).
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { loadBackend, type LoadedBackend } from '../../src/backend/index.js';
import type { Review } from '../../src/data/index.js';
import type { RunningServer } from '../../src/serve/index.js';
import { exportWebSite } from '../../src/web/site.js';
import { CHROMIUM, IMDB_TARBALL, imdb, REQUIRE_NATIVE, runCli, tempDir, TEST_ARTIFACTS } from '../helpers.js';
import { smallModel } from '../models.js';
import {
  ask,
  browserAvailable,
  hasChromium,
  launchChromium,
  openPage,
  serveSite,
  topOf,
  verdicts,
  type JsonWord,
  type Opened,
} from './page-driver.js';

let run: LoadedBackend;
let work = '';
let model = '';
let site = '';
let server: RunningServer;
let browser: Browser | undefined;
let reviews: Review[] = [];

before(async () => {
  if (!browserAvailable()) return;
  run = await loadBackend({ requireNative: REQUIRE_NATIVE });
  work = await tempDir('rnn-browser-');
  model = path.join(work, 'models', 'lstm');
  const env = { RNN_IMDB_URL: IMDB_TARBALL, RNN_MODELS_DIR: path.join(work, 'models'), RNN_DATA_DIR: path.join(work, 'data') };
  await smallModel(env, model, 1, ['--limit', '3000', '--epochs', '2']); // learns enough for the accuracy bounds
  const ev = await runCli(['eval', '--model', model, '--limit', '1000'], { env });
  assert.equal(ev.code, 0, ev.stderr);
  site = path.join(work, 'site');
  await exportWebSite(run, { model, out: site, quantize: 'none' });
  server = await serveSite(run, site, model);
  browser = await launchChromium();
  // 50 real test reviews of every length (every 500th), one line each.
  reviews = (await imdb()).test.filter((_, i) => i % 500 === 11);
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (work) await fsp.rm(work, { recursive: true, force: true });
});

const open = (backend?: string, at: RunningServer = server): Promise<Opened> => openPage(browser!, at, backend);

async function cli(args: string[], dir: string, texts: string[]): Promise<Record<string, unknown>[]> {
  const r = await runCli(['predict', '--model', dir, '--json', ...args], { input: texts.join('\n') + '\n' });
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

/** The reviews of the parity tests: 50 real ones, a one-word one and one of words the vocabulary does not know. */
const parityTexts = (): string[] => [...reviews.map((r) => r.text), 'Wonderful.', 'zzqx vbnmq pqowie'];

let predicted: Promise<Record<string, unknown>[]> | undefined;
/** `rnn predict --json` on {@link parityTexts}, run once for the tests that compare with it (the first 50 are {@link reviews}). */
const wanted = (): Promise<Record<string, unknown>[]> => (predicted ??= cli([], model, parityTexts()));

for (const backend of ['cpu', 'wasm']) {
  test(`${backend} backend: 50 real reviews (and a one-word and an all-unknown one) typed into the page get rnn predict --json's labels, probabilities within 1e-5; each runs only its real steps`, async (t) => {
    if (skip(t)) return;
    const texts = parityTexts();
    const want = await wanted();
    const { page, backend: used, problems } = await open(backend);
    assert.equal(used, backend);
    assert.match((await page.locator('#backend').textContent())!, /each review runs only its own steps, from the padding state/);
    let largest = 0;
    for (const [i, got] of (await verdicts(page, texts)).entries()) {
      assert.equal(got.label, want[i]!.label, `review ${i}`);
      largest = Math.max(largest, Math.abs(got.probability - (want[i]!.probability as number)));
    }
    t.diagnostic(`${backend} backend: largest probability difference from rnn predict over ${texts.length} reviews: ${largest}`);
    assert.ok(largest <= 1e-5, `largest difference ${largest}`);
    assert.deepEqual(problems, []);
    await page.close();
  });
}

test('verdict first: the verdict shows while the page says "explaining…"; a newer text cancels the older one\'s explanation', async (t) => {
  if (skip(t)) return;
  const { page, problems } = await open('cpu');
  const long = reviews.reduce((a, b) => (b.text.length > a.text.length ? b : a)).text;
  const next = reviews[0]!.text;
  // Every change of #result, as the page made it; the newer text is typed the moment the long one's verdict shows.
  await page.evaluate(
    ([long, next]) => {
      const w = window as unknown as { shown: { verdictFor?: string; text?: string; explaining: boolean }[] };
      w.shown = [];
      const result = document.getElementById('result')!;
      const box = document.getElementById('review') as HTMLTextAreaElement;
      new MutationObserver(() => {
        const now = {
          verdictFor: result.dataset.verdictFor,
          text: result.dataset.text,
          explaining: !document.getElementById('explaining')!.hidden,
        };
        w.shown.push(now);
        if (now.verdictFor === long && box.value === long) {
          box.value = next;
          box.dispatchEvent(new Event('input'));
        }
      }).observe(result, { attributes: true, attributeFilter: ['data-verdict-for', 'data-text'] });
    },
    [long, next],
  );
  await page.fill('#review', long);
  await page.waitForFunction((t) => document.getElementById('result')!.dataset.text === t, next, { timeout: 60_000 });
  const shown = await page.evaluate(
    () => (window as unknown as { shown: { verdictFor?: string; text?: string; explaining: boolean }[] }).shown,
  );
  const first = shown.find((s) => s.verdictFor === long);
  assert.ok(first, 'the long review got its verdict');
  assert.notEqual(first.text, long, 'before its explanation');
  assert.equal(first.explaining, true, 'while the page says it is explaining');
  assert.ok(!shown.some((s) => s.text === long), "the long review's explanation never showed");
  assert.equal(await page.locator('#result').getAttribute('data-cancelled'), '1', 'the worker left it unfinished for the newer text');
  assert.equal(shown[shown.length - 1]!.explaining, false);
  assert.equal(await page.locator('#explaining').isHidden(), true);
  assert.match((await page.locator('#timing').textContent())!, /^verdict in \d+ ms, explanation in \d+ ms on cpu/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('the screenshot', async (t) => {
  if (skip(t)) return;
  const { page } = await open('cpu');
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
  const want = await cli(
    ['--explain'],
    model,
    reviews.slice(0, 4).map((r) => r.text),
  );
  const { page, problems } = await open('cpu');
  for (const i of [0, 1, 2, 3]) {
    const got = await ask(page, reviews[i]!.text);
    const words = want[i]!.words as JsonWord[];
    assert.deepEqual(got.positive, topOf(words, 1), `review ${i}: most positive`);
    assert.deepEqual(got.negative, topOf(words, -1), `review ${i}: most negative`);
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

test('default backend: webgl when headless Chromium has it (else wasm); labels still agree', async (t) => {
  if (skip(t)) return;
  const want = await wanted();
  const { page, backend, problems } = await open();
  assert.ok(backend === 'webgl' || backend === 'wasm', backend);
  let largest = 0;
  for (const [i, got] of (
    await verdicts(
      page,
      reviews.slice(0, 10).map((r) => r.text),
    )
  ).entries()) {
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

test("the best preset's model (Bidirectional GRU, max over time) loads with the page's stock tfjs and runs its whole sequence: rnn predict's labels, probabilities within 1e-5", async (t) => {
  if (skip(t)) return;
  const env = { RNN_IMDB_URL: IMDB_TARBALL, RNN_MODELS_DIR: path.join(work, 'models'), RNN_DATA_DIR: path.join(work, 'data') };
  const dir = path.join(work, 'models', 'gru-best');
  await smallModel(env, dir, 2, ['--cell', 'gru', '--preset', 'best', '--vocab-size', '2000', '--epochs', '1']);
  const out = path.join(work, 'site-best');
  await exportWebSite(run, { model: dir, out, quantize: 'none' });
  const best = await serveSite(run, out, dir);
  try {
    const texts = reviews.slice(0, 10).map((r) => r.text);
    const want = await cli([], dir, texts);
    const { page, problems } = await open('cpu', best);
    assert.match((await page.locator('#card').textContent())!, /Bidirectional\(GRU\(16\)\) → GlobalMaxPooling1D → Dense\(1, sigmoid\)/);
    // No shortcut for it: the page says why and runs the whole sequence.
    assert.match(
      (await page.locator('#backend').textContent())!,
      /every review runs all \d+ steps: a bidirectional layer reads the padding after the review/,
    );
    let largest = 0;
    for (const [i, got] of (await verdicts(page, texts)).entries()) {
      assert.equal(got.label, want[i]!.label, `review ${i}`);
      largest = Math.max(largest, Math.abs(got.probability - (want[i]!.probability as number)));
    }
    t.diagnostic(`best preset, cpu backend: largest probability difference over 10 reviews: ${largest}`);
    assert.ok(largest <= 1e-5, `largest difference ${largest}`);
    assert.deepEqual(problems, []);
    await page.close();
  } finally {
    await best.close();
  }
});
