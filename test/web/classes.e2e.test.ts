/**
 * The exported page of a model of three classes, in headless Chromium: a small LSTM trained by the real CLI
 * on the 3-class CSV of real IMDB reviews (negative, neutral, positive by rating; test/three-class.ts). Real
 * test reviews typed into the page show every class's probability as a bar, the most probable first, equal
 * to `rnn predict --json`'s; the explanation explains the top class, as `rnn predict --explain --json` does;
 * the model card lists the labels and the per-label figures of eval.json.
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { loadBackend, type LoadedBackend } from '../../src/backend/index.js';
import { computeClassMetrics } from '../../src/eval/classes.js';
import type { RunningServer } from '../../src/serve/index.js';
import { exportWebSite } from '../../src/web/site.js';
import { CHROMIUM, imdb, REQUIRE_NATIVE, runCli, tempDir, TEST_ARTIFACTS } from '../helpers.js';
import { SMALL_MODEL, trainedModel } from '../models.js';
import { sentimentOfRating, sharedThreeClassCsv } from '../three-class.js';
import { imdbRating } from '../../src/data/imdb.js';
import { ask, browserAvailable, hasChromium, launchChromium, openPage, serveSite, topOf, verdicts, type JsonWord } from './page-driver.js';

let run: LoadedBackend;
let work = '';
let model = '';
let server: RunningServer;
let browser: Browser | undefined;
let labels: string[] = [];
/** Real test reviews of every length, and one whose words the model does not know. */
let texts: string[] = [];
let truth: number[] = [];
/** `rnn predict --json` on {@link texts}, run once (in before) for eval.json and the parity test. */
let predicted: Record<string, unknown>[] = [];

before(async () => {
  if (!browserAvailable()) return;
  run = await loadBackend({ requireNative: REQUIRE_NATIVE });
  work = await tempDir('rnn-web-classes-');
  model = path.join(work, 'three');
  const csv = await sharedThreeClassCsv(8);
  await trainedModel([...SMALL_MODEL, '--data', csv, '--seed', '3'], model);
  labels = (JSON.parse(await fsp.readFile(path.join(model, 'metadata.json'), 'utf8')) as { labels: { names: string[] } }).labels.names;
  assert.deepEqual(labels, ['negative', 'neutral', 'positive']);
  const reviews = (await imdb()).test.filter((_, i) => i % 1250 === 7);
  texts = [...reviews.map((r) => r.text), 'Zyzzyva qwxv blorfle.'];
  truth = reviews.map((r) => labels.indexOf(sentimentOfRating(imdbRating(r.id))));
  server = await serveSite(run, await exportSite(), model);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (work) await fsp.rm(work, { recursive: true, force: true });
});

const skip = (t: TestContext): boolean => {
  if (hasChromium) return false;
  t.skip(`no Chromium at ${CHROMIUM}`);
  return true;
};

async function cli(args: string[], of = texts): Promise<Record<string, unknown>[]> {
  const r = await runCli(['predict', '--model', model, '--json', ...args], { input: of.join('\n') + '\n' });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/**
 * eval.json with the k-class metrics (src/eval/classes.ts's ClassMetrics, as `rnn eval` records them) of the
 * model's own probabilities on the real test reviews, then the site.
 */
async function exportSite(): Promise<string> {
  predicted = await cli([]);
  const probs = predicted.slice(0, truth.length).flatMap((p) => Object.values(p.probabilities as Record<string, number>));
  const metrics = computeClassMetrics(probs, truth, { names: labels, numeric: false });
  const record = {
    evaluatedAt: '2026-12-01T00:00:00.000Z',
    data: { path: 'three-class.csv', reviews: truth.length },
    metrics,
    samplesPerSec: 1,
  };
  await fsp.writeFile(path.join(model, 'eval.json'), JSON.stringify(record));
  const site = path.join(work, 'site');
  await exportWebSite(run, { model, out: site, quantize: 'none' });
  return site;
}

test('3 classes: real reviews get every class probability of rnn predict --json (within 1e-5), a bar each, the top class first', async (t) => {
  if (skip(t)) return;
  const want = predicted;
  const { page, problems } = await openPage(browser!, server, 'cpu');
  let largest = 0;
  for (const [i, got] of (await verdicts(page, texts)).entries()) {
    const expected = Object.values(want[i]!.probabilities as Record<string, number>);
    assert.equal(got.classes.length, 3, `review ${i}: a bar per class`);
    for (const bar of got.classes) largest = Math.max(largest, Math.abs(bar.value - expected[labels.indexOf(bar.label)]!));
    const values = got.classes.map((b) => b.value);
    assert.deepEqual(
      values,
      [...values].sort((a, b) => b - a),
      `review ${i}: bars in order`,
    );
    const top = expected.indexOf(Math.max(...expected));
    assert.equal(got.classes[0]!.label, labels[top], `review ${i}: the top bar is the most probable class`);
    assert.equal(got.label, labels[top], `review ${i}: the verdict is the top class`);
    assert.ok(Math.abs(got.probability - expected[top]!) <= 1e-5, `review ${i}: the verdict's probability`);
  }
  t.diagnostic(`3 classes, cpu backend: largest probability difference from rnn predict over ${texts.length} reviews: ${largest}`);
  assert.ok(largest <= 1e-5, `largest difference ${largest}`);
  assert.deepEqual(problems, []);
  await fsp.mkdir(TEST_ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(TEST_ARTIFACTS, 'web-export-classes.png'), fullPage: true });
  await page.close();
});

test('3 classes: the explanation explains the top class, with the top words of rnn predict --explain --json', async (t) => {
  if (skip(t)) return;
  const want = await cli(['--explain'], texts.slice(0, 4));
  const { page, problems } = await openPage(browser!, server, 'cpu');
  for (const i of [0, 1, 2, 3]) {
    const got = await ask(page, texts[i]!);
    assert.equal(got.explained, got.label, `review ${i}: explains the top class`);
    const explained = want[i]!.explained as string;
    // rnn predict names the class by its label (or, before it knew the labels, by its index).
    assert.ok(explained === got.label || explained === String(labels.indexOf(got.label)), `review ${i}: ${explained} vs ${got.label}`);
    const words = want[i]!.words as JsonWord[];
    assert.deepEqual(got.positive, topOf(words, 1), `review ${i}: words for the top class`);
    assert.deepEqual(got.negative, topOf(words, -1), `review ${i}: words against it`);
  }
  assert.match((await page.locator('#explanation').getAttribute('data-explained'))!, /^(negative|neutral|positive)$/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('3 classes: the model card lists the labels, Dense(3, softmax) and the per-label figures of eval.json', async (t) => {
  if (skip(t)) return;
  const record = JSON.parse(await fsp.readFile(path.join(model, 'eval.json'), 'utf8')) as {
    metrics: { accuracy: number; macroF1: number; perClass: { label: string; f1: number; support: number }[] };
  };
  const { page } = await openPage(browser!, server, 'cpu');
  const card = (await page.locator('#card').textContent())!;
  assert.match(card, /LSTM\(16\) → Dense\(3, softmax\)/);
  assert.doesNotMatch(card, /sigmoid/);
  assert.ok(card.includes('negative, neutral, positive (3 classes'), card);
  const m = record.metrics;
  assert.ok(card.includes(`${(m.accuracy * 100).toFixed(2)}% (macro-F1 ${m.macroF1.toFixed(4)}`), card);
  const rows = await page.locator('#per-class tbody tr').allTextContents();
  assert.equal(rows.length, 3);
  for (const [c, r] of m.perClass.entries()) assert.ok(rows[c]!.startsWith(r.label) && rows[c]!.includes(r.f1.toFixed(4)), rows[c]);
  assert.equal(await page.locator('h1').textContent(), 'Which label fits this review?');
  await page.close();
});
