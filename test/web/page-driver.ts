/**
 * What the browser tests share: Debian's headless Chromium (playwright-core, no browser download), a site
 * hosted by `rnn serve --web` over loopback, a page opened on a backend that logs every problem it sees
 * (console errors, page errors, requests to other origins), and typing a review and reading what the page shows.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { LoadedBackend } from '../../src/backend/index.js';
import { SERVE_DEFAULTS, startServer, type RunningServer } from '../../src/serve/index.js';
import { CHROMIUM, REQUIRE_BROWSER } from '../helpers.js';

export const hasChromium = existsSync(CHROMIUM);

/** Throws when CI demands a browser and there is none; false (the caller skips) when there is none. */
export function browserAvailable(): boolean {
  if (hasChromium) return true;
  if (REQUIRE_BROWSER) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium (.ci/run does) or set RNN_CHROMIUM`);
  return false;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
}

/** `rnn serve --web site` for the model in `modelDir`, on a free port. */
export async function serveSite(run: LoadedBackend, site: string, modelDir: string): Promise<RunningServer> {
  const server = await startServer(
    run,
    { ...SERVE_DEFAULTS, port: 0, watchMs: 0, web: site, logLevel: 'silent' },
    { resolveDir: async () => modelDir, logStream: new PassThrough() },
  );
  await server.ready;
  return server;
}

export interface Opened {
  page: Page;
  backend: string;
  /** Console errors, page errors and requests to other origins, as they happen. */
  problems: string[];
}

/** Opens the page (on `backend` when given) and waits until its model is loaded. */
export async function openPage(browser: Browser | BrowserContext, at: RunningServer, backend?: string): Promise<Opened> {
  const page = 'newContext' in browser ? await browser.newPage({ viewport: { width: 1000, height: 900 } }) : await browser.newPage();
  const problems: string[] = [];
  const origin = new URL(at.url).origin;
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (req) => {
    const url = req.url();
    if (!/^(data|blob):/.test(url) && new URL(url).origin !== origin) problems.push(`request outside the origin: ${url}`);
  });
  await page.goto(`${at.url}/${backend ? `?backend=${backend}` : ''}`);
  await page.waitForFunction(() => document.body.dataset.ready || /could not/.test(document.getElementById('status')!.textContent!), null, {
    timeout: 120_000,
  });
  const ready = await page.evaluate(() => document.body.dataset.ready ?? '');
  assert.ok(ready, await page.evaluate(() => document.getElementById('status')!.textContent));
  return { page, backend: ready, problems };
}

/** What the page shows for a review once its explanation is there. */
export interface Shown {
  label: string;
  probability: number;
  /** k ≥ 3 classes: the bars, top to bottom. */
  classes: { label: string; value: number }[];
  /** k ≥ 3 classes: the label the explanation explains. */
  explained: string | undefined;
  positive: string[];
  negative: string[];
}

/** Types (fills) a review and waits until the page shows its explanation. */
export async function ask(page: Page, text: string, timeout = 60_000): Promise<Shown> {
  await page.fill('#review', text);
  await page.waitForFunction((t) => document.getElementById('result')!.dataset.text === t, text, { timeout });
  return page.evaluate(() => ({
    label: document.getElementById('verdict')!.dataset.label!,
    probability: Number(document.getElementById('probability')!.dataset.value),
    classes: [...document.querySelectorAll<HTMLElement>('#classes li')].map((li) => ({
      label: li.dataset.label!,
      value: Number(li.dataset.value),
    })),
    explained: document.getElementById('explanation')!.dataset.explained,
    positive: [...document.querySelectorAll<HTMLElement>('#top-positive li[data-word]')].map((li) => li.dataset.word!),
    negative: [...document.querySelectorAll<HTMLElement>('#top-negative li[data-word]')].map((li) => li.dataset.word!),
  }));
}

/** What the page shows for a review as soon as its verdict is there, before its explanation. */
export type Verdict = Pick<Shown, 'label' | 'probability' | 'classes'>;

/**
 * Types (fills) each of `texts` and reads its verdict as soon as the page shows it; typing the next one then
 * cancels the explanation under way, as a newer text does. The explanation of `texts[explain]` is waited for
 * (as {@link ask} does), so one explanation still runs to the end on the page's backend.
 */
export async function verdicts(page: Page, texts: readonly string[], explain = 0, timeout = 60_000): Promise<Verdict[]> {
  const out: Verdict[] = [];
  for (const [i, text] of texts.entries()) {
    await page.fill('#review', text);
    const shown = await page.waitForFunction(
      (t) =>
        document.getElementById('result')!.dataset.verdictFor === t && {
          label: document.getElementById('verdict')!.dataset.label!,
          probability: Number(document.getElementById('probability')!.dataset.value),
          classes: [...document.querySelectorAll<HTMLElement>('#classes li')].map((li) => ({
            label: li.dataset.label!,
            value: Number(li.dataset.value),
          })),
        },
      text,
      { timeout },
    );
    out.push((await shown.jsonValue()) as Verdict);
    await shown.dispose();
    if (i === explain) await page.waitForFunction((t) => document.getElementById('result')!.dataset.text === t, text, { timeout });
  }
  return out;
}

/** An explanation's word as `rnn predict --explain --json` gives it. */
export interface JsonWord {
  word: string;
  tokens: string[];
  contribution: number;
  seen: boolean;
}

/** The `n` words pushing most towards (sign 1) or against (sign −1) the explained class, as the page lists them. */
export function topOf(words: JsonWord[], sign: 1 | -1, n = 5): string[] {
  return words
    .filter((w) => w.seen && sign * w.contribution > 0)
    .sort((a, b) => sign * (b.contribution - a.contribution))
    .slice(0, n)
    .map((w) => w.tokens.join(' '));
}
