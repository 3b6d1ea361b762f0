/**
 * Hot reload: the model the server answers with, replaced without a pause. A new model is loaded beside
 * the old one and warmed up, then swapped in with one assignment; requests that started on the old model
 * finish on it ({@link ServedModel.retire}). A model that fails to load is logged and reported by
 * `/v1/model`, and the old one keeps serving. Reloads run one at a time.
 *
 * What triggers one: {@link ModelHost.reload} (SIGHUP, through the command), and a poll of the model
 * directory: `models/latest` pointing elsewhere, or the directory replaced (its files have new inodes or
 * times). A directory caught mid-replacement (missing) is left alone until it is back.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { isUserError, type ErrorCode } from '../errors.js';
import type { ServedModel } from './served-model.js';

/** No model has loaded yet: there is nothing to answer with. */
export class NoModelError extends Error {
  constructor() {
    super('no model is loaded yet');
    this.name = 'NoModelError';
  }
}

/** The last reload that failed (cleared by a successful one). */
export interface ReloadFailure {
  dir: string;
  at: string;
  error: string;
  /** The error's code (a MODEL_* code for a model directory that does not load; INTERNAL for a bug). */
  code: ErrorCode;
}

/** What a reload did. */
export type ReloadResult = { ok: true; model: ServedModel } | { ok: false; error: string; cause: unknown };

/** A load attempt, as the host reports it (for the log and the metrics). */
export type HostEvent =
  | { event: 'model-loaded'; reason: string; dir: string; cell: string; seconds: number; replaced: boolean }
  | { event: 'model-load-failed'; reason: string; dir: string; error: string; code: ErrorCode; seconds: number; stillServing: boolean };

/** Options of a {@link ModelHost}. */
export interface HostOptions {
  /** The model directory now: re-resolved at every check (`models/latest` may point elsewhere). */
  resolveDir: () => Promise<string>;
  /** Loads and warms up a model. */
  load: (dir: string) => Promise<ServedModel>;
  /** Called after each load attempt. */
  report: (e: HostEvent) => void;
}

/** Identity of a model directory's files: changes when the directory or its files are replaced. */
async function fingerprint(dir: string): Promise<string | undefined> {
  try {
    const real = await fsp.realpath(dir);
    const parts = [real];
    for (const f of ['model.json', 'weights.bin', 'tokenizer.json', 'metadata.json']) {
      const s = await fsp.stat(path.join(real, f));
      parts.push(`${s.ino}:${s.size}:${s.mtimeMs}`);
    }
    return parts.join('|');
  } catch {
    return undefined; // missing or mid-replacement: not a model yet
  }
}

export class ModelHost {
  private model: ServedModel | undefined;
  private loaded: string | undefined;
  private failedAt: string | undefined;
  private failure: ReloadFailure | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private watcher: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly o: HostOptions) {}

  /** The model answering now, held for one request until its {@link ServedModel.release}; {@link NoModelError} before the first load. */
  acquire(): ServedModel {
    if (!this.model) throw new NoModelError();
    return this.model.acquire();
  }

  /** The model answering now, for a look at it (not held); {@link NoModelError} before the first load. */
  active(): ServedModel {
    if (!this.model) throw new NoModelError();
    return this.model;
  }

  get lastFailure(): ReloadFailure | undefined {
    return this.failure;
  }

  /** Loads the model directory as it is now and swaps it in; the old model keeps serving if this fails. */
  reload(reason: string): Promise<ReloadResult> {
    return this.queue(() => this.load(reason));
  }

  /** Runs `load` after the loads before it (one at a time). */
  private queue(load: () => Promise<ReloadResult>): Promise<ReloadResult> {
    const next = this.chain.then(load);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async load(reason: string, known?: { dir: string; print: string | undefined }): Promise<ReloadResult> {
    const t0 = performance.now();
    let dir = known?.dir ?? '';
    let print = known?.print;
    try {
      dir = dir || (await this.o.resolveDir());
      print = known ? known.print : await fingerprint(dir);
      const model = await this.o.load(dir);
      if (this.closed) {
        model.retire();
        return { ok: false, error: 'the server is shutting down', cause: new Error('the server is shutting down') };
      }
      const old = this.model;
      this.model = model;
      this.loaded = print;
      this.failure = undefined;
      this.failedAt = undefined;
      old?.retire();
      const seconds = (performance.now() - t0) / 1000;
      this.o.report({ event: 'model-loaded', reason, dir: model.dir, cell: model.stamp.cell, seconds, replaced: old !== undefined });
      return { ok: true, model };
    } catch (e) {
      const error = isUserError(e) ? e.line : `${(e as Error).message}`;
      const code = isUserError(e) ? e.code : 'INTERNAL';
      this.failure = { dir, at: new Date().toISOString(), error, code };
      this.failedAt = print;
      const seconds = (performance.now() - t0) / 1000;
      this.o.report({ event: 'model-load-failed', reason, dir, error, code, seconds, stillServing: this.model !== undefined });
      return { ok: false, error, cause: e };
    }
  }

  /** Checks the model directory every `ms` milliseconds and reloads when it changed. */
  watch(ms: number): void {
    if (ms <= 0 || this.closed) return;
    const tick = async (): Promise<void> => {
      const dir = await this.o.resolveDir().catch(() => undefined);
      const print = dir && (await fingerprint(dir));
      if (dir && print && print !== this.loaded && print !== this.failedAt) {
        await this.queue(() => this.load('model directory changed', { dir, print }));
      }
      if (!this.closed) this.watcher = setTimeout(() => void tick(), ms);
    };
    this.watcher = setTimeout(() => void tick(), ms);
  }

  /** Stops watching the model directory and swapping models in: a load under way finishes, and is discarded. */
  stop(): void {
    this.closed = true;
    if (this.watcher) clearTimeout(this.watcher);
  }

  /** Stops watching, waits for a load under way, and retires the model (disposed once the last request on it ends). */
  async close(): Promise<void> {
    this.stop();
    await this.chain;
    this.model?.retire();
  }
}
