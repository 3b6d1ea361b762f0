/**
 * The exported page's latency benchmark (a script, not a test; docs/web.md has its figures):
 *
 *   node dist/test/web/bench-page.js SITE [--backend cpu|wasm|webgl] [--threads N] [--runs N] [--json]
 *
 * hosts SITE (an `rnn export --web` directory) with `rnn serve --web`, opens it in headless Chromium and, for a
 * 20-word, a 230-word and a 1,000-word real IMDB test review, types the review but its last character, waits
 * until the page has settled on that, then types the last character and measures, in the page's own clock, the
 * time from that keystroke to the verdict and to the full explanation, and the longest main-thread task in
 * between (PerformanceObserver 'longtask'). Medians and the spread of N runs (alternating the reviews).
 *
 * A page that shows nothing before its explanation (before the worker) has one time for both.
 */
import * as path from 'node:path';
import { loadBackend } from '../../src/backend/index.js';
import { imdb } from '../helpers.js';
import { launchChromium, openPage, serveSite } from './page-driver.js';

interface Sample {
  verdict: number;
  explanation: number;
  longestTask: number;
}

const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : fallback;
};
const site = path.resolve(args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--')) ?? '');
const backend = flag('--backend', 'cpu');
/** The wasm backend's threads (the page's `?threads=`; they need the cross-origin isolation `rnn serve --web` gives). */
const threads = flag('--threads', '');
const runs = Number(flag('--runs', '5'));
const words = (t: string): number => t.split(/\s+/).filter(Boolean).length;

/** The first test review (archive order) with exactly `n` words, else the closest. */
function reviewOf(texts: string[], n: number): string {
  return texts.reduce((best, t) => (Math.abs(words(t) - n) < Math.abs(words(best) - n) ? t : best));
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const texts = (await imdb()).test.map((r) => r.text.replace(/\s+/g, ' ').trim());
  const reviews = [20, 230, 1000].map((n) => reviewOf(texts, n));
  const run = await loadBackend({});
  const server = await serveSite(run, site, path.join(site, 'model'));
  const browser = await launchChromium();
  try {
    const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
    await context.addInitScript(() => {
      const w = window as unknown as { __tasks: { start: number; duration: number }[] };
      w.__tasks = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) w.__tasks.push({ start: e.startTime, duration: e.duration });
      }).observe({ type: 'longtask', buffered: true });
    });
    const { page, backend: used } = await openPage(context, server, threads ? `${backend}&threads=${threads}` : backend);
    const samples: Sample[][] = reviews.map(() => []);
    for (let r = 0; r < runs; r++) {
      for (const [i, text] of reviews.entries()) {
        await page.fill('#review', '');
        await page.fill('#review', text.slice(0, -1));
        await page.waitForFunction((t) => document.getElementById('result')!.dataset.text === t, text.slice(0, -1), { timeout: 300_000 });
        await page.waitForTimeout(300);
        await page.evaluate((t) => {
          const w = window as unknown as { __t: Record<string, number> };
          w.__t = {};
          document.addEventListener('keydown', () => (w.__t.key = performance.now()), { once: true, capture: true });
          const result = document.getElementById('result')!;
          new MutationObserver((_, obs) => {
            const now = performance.now();
            if (w.__t.verdict === undefined && (result.dataset.verdictFor === t || result.dataset.text === t)) w.__t.verdict = now;
            if (result.dataset.text === t) {
              w.__t.explanation = now;
              obs.disconnect();
            }
          }).observe(result, { attributes: true, subtree: true, childList: true });
        }, text);
        await page.focus('#review');
        await page.keyboard.press('End');
        await page.keyboard.type(text.slice(-1));
        await page.waitForFunction(() => (window as unknown as { __t: { explanation?: number } }).__t.explanation !== undefined, null, {
          timeout: 300_000,
        });
        samples[i]!.push(
          await page.evaluate(() => {
            const w = window as unknown as { __t: Record<string, number>; __tasks: { start: number; duration: number }[] };
            const during = w.__tasks.filter((x) => x.start + x.duration >= w.__t.key! && x.start <= w.__t.explanation!);
            return {
              verdict: w.__t.verdict! - w.__t.key!,
              explanation: w.__t.explanation! - w.__t.key!,
              longestTask: Math.max(0, ...during.map((x) => x.duration)),
            };
          }),
        );
      }
    }
    const rows = reviews.map((text, i) => {
      const s = samples[i]!;
      const v = s.map((x) => x.verdict);
      const e = s.map((x) => x.explanation);
      return {
        words: words(text),
        runs: s.length,
        verdictMs: Math.round(median(v)),
        verdictRangeMs: [Math.round(Math.min(...v)), Math.round(Math.max(...v))],
        explanationMs: Math.round(median(e)),
        explanationRangeMs: [Math.round(Math.min(...e)), Math.round(Math.max(...e))],
        longestTaskMs: Math.round(Math.max(...s.map((x) => x.longestTask))),
      };
    });
    const card = await page.evaluate(() => document.getElementById('backend')?.textContent ?? '');
    if (args.includes('--json')) console.log(JSON.stringify({ site, backend: used, card, rows }));
    else {
      console.log(`${site} on ${used} (${card})`);
      for (const r of rows)
        console.log(
          `${String(r.words).padStart(5)} words: verdict ${r.verdictMs} ms [${r.verdictRangeMs.join('–')}], explanation ${r.explanationMs} ms [${r.explanationRangeMs.join('–')}], longest main-thread task ${r.longestTaskMs} ms (${r.runs} runs)`,
        );
    }
  } finally {
    await browser.close();
    await server.close();
  }
}

await main();
