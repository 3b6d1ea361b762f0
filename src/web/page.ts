/// <reference lib="dom" />
/**
 * The exported page's script (bundled by esbuild into app.js). The model runs in a Web Worker (worker.js,
 * src/web/worker.ts), so typing never waits for it: every change of the text is sent to the worker, whose
 * verdict is shown as soon as it comes, then its explanation ("explaining…" meanwhile); a newer text cancels
 * the explanation of an older one.
 *
 * `?backend=webgl|wasm|cpu` chooses tfjs's backend; by default webgl when the browser has it, else wasm, else
 * cpu. `?threads=N` sets the wasm backend's threads on a cross-origin isolated page (0: its build without threads). For tests and scripts, `#result` carries `data-verdict-for` (the text its verdict is for) once the
 * verdict is shown, `data-text` once the explanation is, and `data-cancelled`: how many explanations the
 * worker left unfinished for a newer text.
 */
import type { Prediction } from '../predict/encode.js';
import { topWords, wordStrengths, type Explanation } from '../explain/occlusion.js';
import type { FromWorker, Runner, ToWorker } from './messages.js';

/** Words listed each way. */
const TOP = 5;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

const fmt = (v: number): string => (v >= 0 ? '+' : '−') + Math.abs(v).toFixed(2);

/** Every class's probability as a bar, the most probable first (a model of k ≥ 3 classes). */
function renderClasses(p: Prediction): void {
  const list = $('classes');
  list.textContent = '';
  const order = Object.entries(p.probabilities!)
    .map(([label, value], c) => ({ label, value, c }))
    .sort((a, b) => b.value - a.value || a.c - b.c);
  for (const { label, value } of order) {
    const li = document.createElement('li');
    li.dataset.label = label;
    li.dataset.value = String(value);
    const name = document.createElement('span');
    name.textContent = label;
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.setAttribute('aria-hidden', 'true');
    const fill = document.createElement('span');
    fill.style.width = `${(value * 100).toFixed(1)}%`;
    bar.append(fill);
    const pct = document.createElement('span');
    pct.className = 'pct';
    pct.textContent = `${(value * 100).toFixed(1)}%`;
    li.append(name, bar, pct);
    list.append(li);
  }
}

function renderExplanation(e: Explanation): void {
  const box = $('explanation');
  box.textContent = '';
  if (e.classes) box.dataset.explained = e.classes.labels[e.classes.explained]!;
  const strengths = wordStrengths(e);
  e.words.forEach((w, i) => {
    box.append(document.createTextNode(e.separators[i]!));
    const span = document.createElement('span');
    span.className = 'w';
    span.textContent = w.text;
    span.dataset.contribution = String(w.contribution);
    if (!w.seen) {
      span.classList.add('unseen');
      span.title = 'never reached the model';
    } else {
      const { sign, level } = strengths[i]!;
      span.title = e.classes
        ? `${fmt(w.contribution)} log-probability of ${e.classes.labels[e.classes.explained]}`
        : `${fmt(w.contribution)} log-odds`;
      if (level > 0) {
        span.classList.add(`${sign > 0 ? 'p' : 'n'}${level}`);
        const sup = document.createElement('sup');
        sup.textContent = sign > 0 ? '+' : '−';
        sup.setAttribute('aria-hidden', 'true');
        span.append(sup);
      }
    }
    box.append(span);
  });
  box.append(document.createTextNode(e.trailing));
  for (const dir of ['positive', 'negative'] as const) {
    const list = $(`top-${dir}`);
    list.textContent = '';
    const words = topWords(e, dir, TOP);
    for (const w of words) {
      const li = document.createElement('li');
      li.dataset.word = w.tokens.join(' ');
      li.textContent = `${w.tokens.join(' ')} ${fmt(w.contribution)}`;
      list.append(li);
    }
    if (words.length === 0) list.innerHTML = '<li>(none)</li>';
  }
}

/** What the card says about how the model runs. */
function describe(r: Runner, tfjs: string): string {
  const threads = r.wasm?.threads ? `${r.wasm.threads} thread${r.wasm.threads === 1 ? '' : 's'} (the threaded build)` : 'no threads';
  const wasm = r.wasm ? ` (SIMD ${r.wasm.simd ? 'on' : 'off'}, ${threads})` : '';
  const steps = r.shortcut.used
    ? 'each review runs only its own steps, from the padding state computed when the model loaded, and the rows of an explanation share the steps of their common first words'
    : `every review runs all ${r.maxlen} steps: ${r.shortcut.reason}`;
  return `TensorFlow.js ${tfjs} on its ${r.backend} backend${wasm}, in a Web Worker; ${steps}`;
}

function renderVerdict(p: Prediction, r: Runner): void {
  const classes = r.labels.length > 2;
  const verdict = $('verdict');
  verdict.textContent = p.label;
  // A binary model's verdict is coloured by its side; a k-class model's top label has no colour of its own.
  verdict.className = classes ? 'top' : p.label === r.labels[1] ? 'positive' : 'negative';
  verdict.dataset.label = p.label;
  const prob = $('probability');
  prob.textContent = classes ? `${(p.probability * 100).toFixed(1)}%` : `${(p.probability * 100).toFixed(1)}% ${r.labels[1]}`;
  prob.dataset.value = String(p.probability);
  if (classes) renderClasses(p);
  const notes: string[] = [];
  if (p.words > 0 && p.unknownWords === p.words) notes.push(`all ${p.words} words unknown: the score is only the model's bias`);
  else if (p.unknownWords > 0) notes.push(`${p.unknownWords} of ${p.words} words unknown`);
  if (p.truncatedIds > 0) notes.push(`the first ${p.truncatedIds} ids are cut off (the model reads the last ${r.maxlen})`);
  $('notes').textContent = notes.length ? `(${notes.join('; ')})` : '';
}

function main(): void {
  const status = $('status');
  const box = $<HTMLTextAreaElement>('review');
  const result = $('result');
  const explaining = $('explaining');
  const stale = [$('explanation'), document.querySelector<HTMLElement>('.tops')!];
  const tfjs = /TensorFlow\.js ([^\s,]+)/.exec($('backend').textContent ?? '')?.[1] ?? '';
  const worker = new Worker('worker.js');
  const send = (m: ToWorker): void => worker.postMessage(m);
  let runner: Runner | undefined;
  /** The texts sent, by id, with when they were typed; only the newest one's explanation is shown. */
  const sent = new Map<number, { text: string; at: number }>();
  let latest = 0;
  let shownVerdict = 0;
  let verdictMs = 0;

  const update = (): void => {
    const text = box.value;
    const id = ++latest;
    if (text.trim() === '') {
      result.hidden = true;
      delete result.dataset.text;
      delete result.dataset.verdictFor;
      explaining.hidden = true;
      return;
    }
    sent.set(id, { text, at: performance.now() });
    send({ type: 'text', id, text });
  };

  worker.onmessage = (e: MessageEvent<FromWorker>): void => {
    const msg = e.data;
    if (msg.type === 'failed') {
      status.textContent = `The model could not be loaded: ${msg.message}`;
      return;
    }
    if (msg.type === 'ready') {
      runner = msg.runner;
      $('backend').textContent = describe(runner, tfjs);
      box.disabled = false;
      status.textContent = `Ready: the model runs on TensorFlow.js's ${runner.backend} backend.`;
      document.body.dataset.ready = runner.backend;
      if (box.value) update();
      return;
    }
    if (msg.type === 'cancelled') {
      result.dataset.cancelled = String(Number(result.dataset.cancelled ?? 0) + 1);
      return;
    }
    const asked = sent.get(msg.id);
    // Older than what is shown (or the text was cleared since): nothing to show.
    if (!asked || !runner || msg.id < shownVerdict || (latest !== msg.id && msg.type === 'explanation')) return;
    if (msg.type === 'verdict') {
      shownVerdict = msg.id;
      renderVerdict(msg.prediction, runner);
      verdictMs = performance.now() - asked.at;
      result.hidden = false;
      result.dataset.verdictFor = asked.text;
      if (msg.id === latest) {
        explaining.hidden = false;
        for (const el of stale) el.classList.add('stale');
      }
      return;
    }
    renderExplanation(msg.explanation);
    for (const el of stale) el.classList.remove('stale');
    explaining.hidden = true;
    result.dataset.text = asked.text;
    const explanationMs = performance.now() - asked.at;
    $('timing').textContent =
      `verdict in ${Math.round(verdictMs)} ms, explanation in ${Math.round(explanationMs)} ms on ${runner.backend} (the last review, ${msg.explanation.words.length} words)`;
    for (const id of sent.keys()) if (id <= msg.id) sent.delete(id);
  };
  worker.onerror = (e: ErrorEvent): void => {
    status.textContent = `The model could not be loaded: ${e.message}`;
  };

  box.addEventListener('input', update);
  const query = new URLSearchParams(location.search);
  const threads = query.get('threads');
  send({ type: 'load', backend: query.get('backend'), threads: threads !== null && /^\d+$/.test(threads) ? Number(threads) : null });
}

main();
