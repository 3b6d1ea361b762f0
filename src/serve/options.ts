/**
 * What `rnn serve` can be told, and its defaults in one place: {@link SERVE_DEFAULTS} is read by
 * {@link startServer} and by the help text of `rnn serve`.
 */
import type { RecurrentImpl } from '../models/index.js';

/** Log levels of the request log (pino's). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Everything `rnn serve` can set. Defaults: {@link SERVE_DEFAULTS}. */
export interface ServeOptions {
  /** Address to listen on (127.0.0.1: this machine only; 0.0.0.0: every interface). */
  host: string;
  /** Port to listen on (0: any free port). */
  port: number;
  /** Most reviews in one forward pass: the texts of concurrent requests are coalesced up to this. */
  batchSize: number;
  /** How long the first queued text waits for others before its batch runs (milliseconds). */
  batchWindowMs: number;
  /** Most forward rows (reviews, or an explanation's rows) waiting; beyond it requests get 503 with Retry-After. */
  maxQueue: number;
  /** Largest request body in bytes. */
  bodyLimit: number;
  /** Most texts in one request. */
  maxTexts: number;
  /** Most characters in one text. */
  maxChars: number;
  /** Longest a request may wait for its predictions (milliseconds); then 503. */
  timeoutMs: number;
  /** Bearer token every /v1 and /metrics request must carry (undefined: no authentication). */
  token?: string;
  /** Origin allowed to call the API from a browser (CORS); undefined: none. */
  cors?: string;
  /** Directory of an `rnn export --web` site to host at `/` (undefined: none). */
  web?: string;
  /** How often the model directory is checked for a new model (milliseconds; 0: only on reload requests). */
  watchMs: number;
  /** Request log level. */
  logLevel: LogLevel;
  /** Recurrent implementation the model runs with: fused (rnn's kernels) or stock tfjs-layers. */
  layers: RecurrentImpl;
}

/** The defaults of every option. */
export const SERVE_DEFAULTS: Readonly<ServeOptions> = Object.freeze({
  host: '127.0.0.1',
  port: 8080,
  batchSize: 64,
  batchWindowMs: 2,
  maxQueue: 4096,
  bodyLimit: 1024 * 1024,
  maxTexts: 256,
  maxChars: 50_000,
  timeoutMs: 10_000,
  watchMs: 1000,
  logLevel: 'info',
  layers: 'fused',
});
