/** What the exported page and its worker (src/web/worker.ts) tell each other. Types only. */
import type { Prediction } from '../predict/encode.js';
import type { Explanation } from '../explain/occlusion.js';

/** Page → worker. */
export type ToWorker =
  /**
   * Load the model on `backend` (webgl, wasm, cpu) or, when null, the first of them that works; `threads`:
   * the wasm backend's threads when the page is cross-origin isolated (null: tfjs's default; 0: none).
   */
  | { type: 'load'; backend: string | null; threads: number | null }
  /** Predict, then explain, `text`; a newer text cancels what is left of an older one. */
  | { type: 'text'; id: number; text: string };

/** How the worker runs the model. */
export interface Runner {
  backend: string;
  /** The wasm backend's SIMD and threads (wasm only; 0 threads: its build without threads). */
  wasm?: { simd: boolean; threads: number };
  /** Whether rows run only their real steps from the precomputed padding state, shared prefixes once; else why not. */
  shortcut: { used: true } | { used: false; reason: string };
  labels: string[];
  maxlen: number;
  /** Model load and padding states, milliseconds. */
  loadMs: number;
}

/** Worker → page. */
export type FromWorker =
  | { type: 'ready'; runner: Runner }
  | { type: 'failed'; message: string }
  | { type: 'verdict'; id: number; prediction: Prediction; ms: number }
  | { type: 'explanation'; id: number; explanation: Explanation; ms: number }
  /** The explanation of text `id` was left unfinished for a newer text. */
  | { type: 'cancelled'; id: number };
