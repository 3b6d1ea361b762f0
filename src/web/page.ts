/// <reference lib="dom" />
/**
 * The exported page's script (bundled by esbuild into app.js; tfjs comes from the tf.min.js script before
 * it). It loads the model with stock `tf.loadLayersModel`, the tokenizer with rnn's own Tokenizer, and
 * predicts and explains what is typed with the same encoding and occlusion code as `rnn predict`.
 *
 * `?backend=cpu|webgl` chooses tfjs's backend; by default webgl when the browser has it, else cpu.
 * For tests and scripts, `#result` carries `data-text` (the text its contents are for) once they are shown.
 */
import type * as TFJS from '@tensorflow/tfjs';
import { Tokenizer, type KerasTokenizerJson } from '../text/tokenizer.js';
import { encodeTexts, predictionsOf, type Prediction, type TextModel } from '../predict/encode.js';
import { planExplanation, topWords, wordStrengths, type Explanation } from '../explain/occlusion.js';

declare const tf: typeof TFJS;

/** How long typing must pause before the page predicts (milliseconds). */
const DEBOUNCE_MS = 200;
/** Words listed each way. */
const TOP = 5;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

async function fetchText(url: string): Promise<string> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.text();
}

/** webgl when it works (or the backend the URL asks for), else cpu; returns the backend in use. */
async function chooseBackend(): Promise<string> {
  const wanted = new URLSearchParams(location.search).get('backend');
  for (const name of wanted ? [wanted] : ['webgl', 'cpu']) {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return tf.getBackend();
      }
    } catch {
      // not available in this browser: try the next
    }
  }
  await tf.setBackend('cpu');
  return tf.getBackend();
}

function probabilities(model: TFJS.LayersModel, ids: Int32Array, maxlen: number): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor2d(ids, [ids.length / maxlen, maxlen], 'int32');
    return (model.predict(x) as TFJS.Tensor).dataSync() as Float32Array;
  });
}

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

async function main(): Promise<void> {
  const status = $('status');
  const backend = await chooseBackend();
  $('backend').textContent = `TensorFlow.js ${tf.version.tfjs} on its ${backend} backend`;
  const [model, tokText, metaText] = await Promise.all([
    tf.loadLayersModel('model/model.json'),
    fetchText('model/tokenizer.json'),
    fetchText('model/metadata.json'),
  ]);
  const metadata = JSON.parse(metaText) as TextModel['metadata'] & { labels?: { names: string[] } };
  // The model's labels (metadata.json before labels were data: the binary sentiment ones); k ≥ 3 means softmax.
  const labels = metadata.labels?.names ?? ['negative', 'positive'];
  const classes = labels.length > 2;
  const m: TextModel = { tokenizer: Tokenizer.fromJSON(JSON.parse(tokText) as KerasTokenizerJson), metadata };
  const maxlen = metadata.preprocessing.maxlen;
  const box = $<HTMLTextAreaElement>('review');
  const result = $('result');
  let generation = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const update = (): void => {
    const text = box.value;
    const mine = ++generation;
    if (text.trim() === '') {
      result.hidden = true;
      delete result.dataset.text;
      return;
    }
    const encoded = encodeTexts(m, [text]);
    const p = predictionsOf(encoded, probabilities(model, encoded.x, maxlen), maxlen, labels)[0]!;
    const verdict = $('verdict');
    verdict.textContent = p.label;
    // A binary model's verdict is coloured by its side; a k-class model's top label has no colour of its own.
    verdict.className = classes ? 'top' : p.label === labels[1] ? 'positive' : 'negative';
    verdict.dataset.label = p.label;
    const prob = $('probability');
    prob.textContent = classes ? `${(p.probability * 100).toFixed(1)}%` : `${(p.probability * 100).toFixed(1)}% ${labels[1]}`;
    prob.dataset.value = String(p.probability);
    if (classes) renderClasses(p);
    const notes: string[] = [];
    if (p.words > 0 && p.unknownWords === p.words) notes.push(`all ${p.words} words unknown: the score is only the model's bias`);
    else if (p.unknownWords > 0) notes.push(`${p.unknownWords} of ${p.words} words unknown`);
    if (p.truncatedIds > 0) notes.push(`the first ${p.truncatedIds} ids are cut off (the model reads the last ${maxlen})`);
    $('notes').textContent = notes.length ? `(${notes.join('; ')})` : '';
    // The explanation: one forward of every occluded review; skipped if the text changed meanwhile.
    setTimeout(() => {
      if (mine !== generation) return;
      const plan = planExplanation(m, text, classes ? { labels } : {});
      renderExplanation(plan.finish(probabilities(model, plan.ids, maxlen)));
      result.hidden = false;
      result.dataset.text = text;
    }, 0);
  };

  box.addEventListener('input', () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(update, DEBOUNCE_MS);
  });
  box.disabled = false;
  status.textContent = `Ready: the model runs on TensorFlow.js's ${backend} backend.`;
  document.body.dataset.ready = backend;
  if (box.value) update();
}

main().catch((e: unknown) => {
  $('status').textContent = `The model could not be loaded: ${(e as Error).message}`;
});
