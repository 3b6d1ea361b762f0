/// <reference lib="webworker" />
/**
 * The exported page's model, in a Web Worker (bundled by esbuild into worker.js): typing never waits for it.
 * It loads tfjs (tf.min.js) and its wasm backend (tf-backend-wasm.min.js, whose .wasm binaries sit beside
 * it), the model with stock `tf.loadLayersModel`, and answers each text with its verdict as soon as that is
 * computed, then its explanation, computed in slices between which a newer text cancels it.
 *
 * Backends: the one the page asks for, else webgl, else wasm (SIMD when the browser has it, threads only when
 * the page is cross-origin isolated), else cpu. Rows run only their real steps, shared prefixes once
 * (src/web/padding.ts).
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

/**
 * How long the worker computes before it lets a newer text in (ms): short enough that a newer text waits
 * little, long enough that yielding costs little.
 */
const SLICE_MS = 30;

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
  // webgl compiles a shader per op and input shape unless shapes are uniforms: an explanation's batch grows
  // by a row or two at every step, so without this nearly every op of every step would compile one.
  tf.env().set('WEBGL_USE_SHAPES_UNIFORMS', true);
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
/** The newest text not yet started; an explanation under way stops at its next slice when one arrives. */
let pending: { id: number; text: string } | undefined;
let busy = false;

/** Lets the worker's queued messages run (a MessageChannel round trip: not clamped as nested timeouts are). */
const channel = new MessageChannel();
const nextTask = (): Promise<void> =>
  new Promise((resolve) => {
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(null);
  });

async function answer(l: Loaded, id: number, text: string): Promise<void> {
  const start = performance.now();
  const classes = l.labels.length > 2;
  const encoded = encodeTexts(l.m, [text]);
  const prediction = predictionsOf(encoded, l.forward.probabilities(encoded.x), l.m.metadata.preprocessing.maxlen, l.labels)[0]!;
  post({ type: 'verdict', id, prediction, ms: performance.now() - start });
  const plan = planExplanation(l.m, text, classes ? { labels: l.labels } : {});
  // The review and its occluded rows share their first ids: one run, in slices between which a newer text
  // cancels it.
  const run = l.forward.run(plan.ids);
  let since = -Infinity;
  for (;;) {
    if (performance.now() - since >= SLICE_MS) {
      await nextTask(); // lets a newer text in
      if (pending) {
        run.return(undefined as never); // frees its tensors
        post({ type: 'cancelled', id });
        return;
      }
      since = performance.now();
    }
    const r = run.next();
    if (r.done) {
      post({ type: 'explanation', id, explanation: plan.finish(r.value.outputs), ms: performance.now() - start });
      return;
    }
  }
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
