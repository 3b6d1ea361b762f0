/// <reference lib="webworker" />
/**
 * The exported page's model, in a Web Worker (bundled by esbuild into worker.js): typing never waits for it.
 * It loads tfjs (tf.min.js) and its wasm backend (tf-backend-wasm.min.js, whose .wasm binaries sit beside
 * it), the model with stock `tf.loadLayersModel`, and answers each text with its verdict as soon as that is
 * computed, then its explanation, computed in chunks of rows between which a newer text cancels it.
 *
 * Backends: the one the page asks for, else webgl, else wasm (SIMD when the browser has it, threads only when
 * the page is cross-origin isolated), else cpu. Rows run only their real steps (src/web/padding.ts).
 */
import type * as TFJS from '@tensorflow/tfjs';
import { Tokenizer, type KerasTokenizerJson } from '../text/tokenizer.js';
import { encodeTexts, predictionsOf, type TextModel } from '../predict/encode.js';
import { planExplanation } from '../explain/occlusion.js';
import { paddedForward, type PaddedForward } from './padding.js';
import type { FromWorker, Runner, ToWorker } from './messages.js';

interface WasmApi {
  setWasmPaths(prefix: string): void;
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
}
declare const tf: typeof TFJS & { wasm?: WasmApi };

/** Occluded rows run per chunk: small enough that a newer text waits little, big enough to batch. */
const CHUNK_ROWS = 32;

const scope = self as unknown as DedicatedWorkerGlobalScope;
const post = (m: FromWorker): void => scope.postMessage(m);

async function fetchText(url: string): Promise<string> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.text();
}

async function chooseBackend(wanted: string | null): Promise<string> {
  for (const name of wanted ? [wanted] : ['webgl', 'wasm', 'cpu']) {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return tf.getBackend();
      }
    } catch {
      // not available here: try the next
    }
  }
  await tf.setBackend('cpu');
  return tf.getBackend();
}

interface Loaded {
  m: TextModel;
  labels: string[];
  forward: PaddedForward;
}

async function load(wanted: string | null, threads: number | null): Promise<{ loaded: Loaded; runner: Runner }> {
  const start = performance.now();
  scope.importScripts('tf.min.js', 'tf-backend-wasm.min.js');
  tf.wasm?.setWasmPaths(new URL('./', scope.location.href).href);
  // wasm's threads (cross-origin isolated pages only): tfjs's default, half the cores, from 4 cores up (the
  // threaded build on one thread was slower here than the plain one); `?threads=N` sets them, 0 none.
  const cores = navigator.hardwareConcurrency || 1;
  if (threads === 0 || (threads === null && cores < 4)) tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  else if (threads) tf.wasm?.setThreadsCount(threads);
  const backend = await chooseBackend(wanted);
  const [model, tokText, metaText] = await Promise.all([
    tf.loadLayersModel('model/model.json'),
    fetchText('model/tokenizer.json'),
    fetchText('model/metadata.json'),
  ]);
  const metadata = JSON.parse(metaText) as TextModel['metadata'] & { labels?: { names: string[] }; preprocessing: { value?: number } };
  // The model's labels (metadata.json before labels were data: the binary sentiment ones).
  const labels = metadata.labels?.names ?? ['negative', 'positive'];
  const m: TextModel = { tokenizer: Tokenizer.fromJSON(JSON.parse(tokText) as KerasTokenizerJson), metadata };
  const pre = metadata.preprocessing;
  const forward = paddedForward(tf, model, { maxlen: pre.maxlen, padding: pre.padding, value: pre.value ?? 0 });
  const runner: Runner = {
    backend,
    ...(backend === 'wasm' &&
      tf.wasm && {
        wasm: {
          simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
          threads: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') ? tf.wasm.getThreadsCount() : 0,
        },
      }),
    shortcut: forward.shortcut,
    labels,
    maxlen: pre.maxlen,
    loadMs: Math.round(performance.now() - start),
  };
  return { loaded: { m, labels, forward }, runner };
}

let loaded: Loaded | undefined;
/** The newest text not yet started; a chunked explanation stops when one arrives. */
let pending: { id: number; text: string } | undefined;
let busy = false;

const nextTask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

async function answer(l: Loaded, id: number, text: string): Promise<void> {
  const start = performance.now();
  const classes = l.labels.length > 2;
  const encoded = encodeTexts(l.m, [text]);
  const prediction = predictionsOf(encoded, l.forward.probabilities(encoded.x), l.m.metadata.preprocessing.maxlen, l.labels)[0]!;
  post({ type: 'verdict', id, prediction, ms: performance.now() - start });
  const plan = planExplanation(l.m, text, classes ? { labels: l.labels } : {});
  const maxlen = l.m.metadata.preprocessing.maxlen;
  const width = classes ? l.labels.length : 1;
  const probs = new Float32Array(plan.rows * width);
  for (let row = 0; row < plan.rows; row += CHUNK_ROWS) {
    await nextTask(); // lets a newer text in
    if (pending) {
      post({ type: 'cancelled', id });
      return;
    }
    const end = Math.min(plan.rows, row + CHUNK_ROWS);
    probs.set(l.forward.probabilities(plan.ids.subarray(row * maxlen, end * maxlen)), row * width);
  }
  post({ type: 'explanation', id, explanation: plan.finish(probs), ms: performance.now() - start });
}

async function pump(): Promise<void> {
  if (busy || !loaded) return;
  busy = true;
  try {
    while (pending) {
      const { id, text } = pending;
      pending = undefined;
      await answer(loaded, id, text);
    }
  } finally {
    busy = false;
  }
}

scope.onmessage = (e: MessageEvent<ToWorker>): void => {
  const msg = e.data;
  if (msg.type === 'load') {
    load(msg.backend, msg.threads).then(
      (r) => {
        loaded = r.loaded;
        post({ type: 'ready', runner: r.runner });
        void pump();
      },
      (err: unknown) => post({ type: 'failed', message: (err as Error).message }),
    );
  } else {
    pending = { id: msg.id, text: msg.text };
    void pump();
  }
};
