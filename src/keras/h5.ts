/**
 * `model.weights.h5`, read and written with h5wasm (the HDF5 C library compiled to WebAssembly: no Python,
 * no native build; a damaged or hostile file can only make it throw). HDF5 needs a real file, so the bytes
 * pass through a private temporary directory that is always removed.
 */
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type H5wasm from 'h5wasm/node';
import { UserError } from '../errors.js';
import { writingTo } from '../util/fs.js';
import type { WeightSlot } from './spec.js';

/** h5wasm, ready, its HDF5 errors thrown as exceptions rather than printed to stderr. */
async function hdf5(): Promise<typeof H5wasm> {
  // Loaded on first use: compiling its WebAssembly costs every other command a third of a second at start.
  const h5wasm = (await import('h5wasm/node')).default;
  const module = await h5wasm.ready;
  module.activate_throwing_error_handler();
  return h5wasm;
}

async function inTempDir<T>(fn: (file: string) => Promise<T>): Promise<T> {
  const dir = await writingTo(os.tmpdir(), () => fsp.mkdtemp(path.join(os.tmpdir(), 'rnn-h5-')));
  try {
    return await fn(path.join(dir, 'model.weights.h5'));
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

/** One weight to write: its slot and its values (row-major, float32). */
export interface WeightValue extends WeightSlot {
  values: Float32Array;
}

/** model.weights.h5 holding `weights`, with the named groups Keras writes beside them. */
export async function writeWeightsH5(weights: WeightValue[], groups: { path: string; name: string }[]): Promise<Uint8Array> {
  const h5 = await hdf5();
  return inTempDir(async (file) => {
    const f = new h5.File(file, 'w');
    try {
      const group = (p: string) => {
        let g: InstanceType<typeof h5.Group> = f;
        for (const part of p.split('/')) {
          const next = g.get(part);
          g = next instanceof h5.Group ? next : g.create_group(part);
        }
        return g;
      };
      for (const g of groups) group(g.path).create_attribute('name', g.name);
      for (const w of weights) {
        const at = w.path.lastIndexOf('/');
        group(w.path.slice(0, at)).create_dataset({ name: w.path.slice(at + 1), data: w.values, shape: w.shape, dtype: '<f' });
      }
    } finally {
      f.close();
    }
    return new Uint8Array(await fsp.readFile(file));
  });
}

/**
 * The weights at `slots` from the bytes of a model.weights.h5: each must exist, be float32 (float64 is
 * narrowed, as Keras would on load), have the slot's shape, and hold only finite values.
 */
export async function readWeightsH5(bytes: Uint8Array, slots: WeightSlot[], where: string): Promise<Float32Array[]> {
  const h5 = await hdf5();
  const bad = (what: string) =>
    new UserError(
      'KERAS_WEIGHTS',
      `${where} ${what}`,
      'Save the model again in Keras 3 (`model.save("model.keras")`) and import that file',
    );
  return inTempDir(async (file) => {
    await writingTo(file, () => fsp.writeFile(file, bytes));
    let f: InstanceType<typeof h5.File>;
    try {
      f = new h5.File(file, 'r');
    } catch (e) {
      throw bad(`is not an HDF5 file (${firstLine(e)})`);
    }
    try {
      return slots.map((s) => {
        let d: unknown;
        try {
          d = f.get(s.path);
        } catch (e) {
          throw bad(`cannot be read at ${s.path} (${firstLine(e)})`);
        }
        if (!(d instanceof h5.Dataset)) throw bad(`has no weight ${s.path}`);
        const shape = d.shape ?? [];
        if (shape.length !== s.shape.length || shape.some((n, i) => n !== s.shape[i])) {
          throw bad(`has ${s.path} of shape [${shape.join(', ')}], the model's config says [${s.shape.join(', ')}]`);
        }
        const m = d.metadata;
        if (m.type !== 1 || (m.size !== 4 && m.size !== 8)) throw bad(`has ${s.path} of type ${d.dtype}, not float32`);
        let value: unknown;
        try {
          value = d.value;
        } catch (e) {
          throw bad(`cannot be read at ${s.path} (${firstLine(e)})`);
        }
        if (!(value instanceof Float32Array || value instanceof Float64Array)) throw bad(`has ${s.path} of type ${d.dtype}, not float32`);
        const out = Float32Array.from(value);
        if (!out.every(Number.isFinite)) throw bad(`has NaN or infinite values in ${s.path}`);
        return out;
      });
    } finally {
      f.close();
    }
  });
}

function firstLine(e: unknown): string {
  const text = String((e as Error)?.message ?? e);
  // HDF5's error stack: the innermost `minor:` line says what failed (e.g. "Unable to open file").
  const detail = text.split('\n').find((l) => /minor:/.test(l)) ?? text.split('\n')[0]!;
  return detail.replace(/^\s*(major|minor):\s*/, '').trim();
}
