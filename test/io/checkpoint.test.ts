/** Checkpoints: written and read back exactly, and ones from earlier rnn versions migrated to resume as they were trained. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { loadCheckpoint, migrateCheckpoint, saveCheckpoint, type CheckpointMeta } from '../../src/io/checkpoint.js';
import { resolveTrainOptions, type TrainOptions } from '../../src/train/options.js';
import type { TrainCheckpoint } from '../../src/train/types.js';
import { tempDir } from '../helpers.js';
import { UserError, type ErrorCode } from '../../src/errors.js';

const today = resolveTrainOptions({ cell: 'gru', seed: 5, ema: 0.99, wordDropout: 0.3, clipNorm: 2 });
const without = (...keys: Array<keyof TrainOptions>): TrainOptions => {
  const o: Partial<TrainOptions> = { ...today };
  for (const k of keys) delete o[k];
  return o as TrainOptions;
};

// Options a checkpoint of each earlier version holds, and what it resumes with: what that version trained with.
const cases: Array<{ name: string; options: TrainOptions; want: Pick<TrainOptions, 'clipNorm' | 'wordDropout' | 'ema'> }> = [
  { name: 'today', options: today, want: { clipNorm: 2, wordDropout: 0.3, ema: 0.99 } },
  {
    name: 'today, everything off',
    options: { ...today, clipNorm: null, wordDropout: 0, ema: null },
    want: { clipNorm: null, wordDropout: 0, ema: null },
  },
  { name: 'before --clip-norm', options: without('clipNorm'), want: { clipNorm: null, wordDropout: 0.3, ema: 0.99 } },
  {
    name: 'before --word-dropout and --ema',
    options: without('clipNorm', 'wordDropout', 'ema'),
    want: { clipNorm: null, wordDropout: 0, ema: null },
  },
];
for (const c of cases) {
  test(`migrateCheckpoint: ${c.name}`, () => {
    const meta = { options: c.options } as CheckpointMeta;
    const migrated = migrateCheckpoint(meta).options;
    assert.deepEqual({ clipNorm: migrated.clipNorm, wordDropout: migrated.wordDropout, ema: migrated.ema }, c.want);
    assert.deepEqual({ ...migrated, ...c.want }, { ...today, ...c.want }, 'every other option as it was');
    assert.equal(meta.options, c.options, 'the checkpoint read is not changed in place');
  });
}

test('saveCheckpoint → loadCheckpoint gives back every array and field; an old checkpoint loads migrated', async () => {
  const dir = path.join(await tempDir('rnn-ckpt-'), 'm.checkpoint');
  const ckpt: TrainCheckpoint = {
    epoch: 2,
    batch: 3,
    order: [2, 0, 1],
    rngState: 12345,
    sums: { loss: 1.5, acc: 2, seen: 3 },
    epochTrainSeconds: 4.5,
    history: [{ epoch: 1, loss: 0.6, acc: 0.7, val_loss: 0.5, val_acc: 0.8, lr: 1e-3, best: true, seconds: 9, samplesPerSec: 100 }],
    tracker: { best: 0.8, bestEpoch: 1, wait: 0 },
    scheduler: { current: 1e-3, wait: 0 },
    trainOnlySeconds: 8,
    trainedSamples: 300,
    weights: [Float32Array.from([1, 2, 3]), Float32Array.from([4])],
    optimizer: [
      { name: 'iter', shape: [], dtype: 'int32', data: Int32Array.from([7]) },
      { name: 'w/m', shape: [3], dtype: 'float32', data: Float32Array.from([0.1, 0.2, 0.3]) },
    ],
    bestWeights: [Float32Array.from([5, 6, 7]), Float32Array.from([8])],
    average: { updates: 6, weights: [Float32Array.from([9, 9, 9]), Float32Array.from([9])] },
  };
  const data = { flags: { data: 'x.csv' }, source: { kind: 'csv' as const, path: '/x.csv', sha256: 'ab' } };
  await saveCheckpoint(dir, { options: without('clipNorm'), out: '/m', data }, ckpt);
  const { meta, checkpoint } = await loadCheckpoint(dir);
  assert.deepEqual(checkpoint, ckpt);
  assert.equal(meta.options.clipNorm, null, 'migrated on load');
  assert.deepEqual(meta.data, data);

  // Broken checkpoints: CHECKPOINT_NOT_FOUND without checkpoint.json, CHECKPOINT_INVALID when its files are damaged.
  const rejects = (code: ErrorCode, message: string) => (e: unknown) => {
    assert.ok(e instanceof UserError, String(e));
    assert.equal(e.code, code);
    assert.equal(e.message, message);
    return true;
  };
  const stateBin = path.join(dir, 'state.bin');
  const size = (await fsp.stat(stateBin)).size;
  await fsp.truncate(stateBin, 8);
  await assert.rejects(
    loadCheckpoint(dir),
    rejects('CHECKPOINT_INVALID', `${stateBin} is missing or has the wrong size (expected ${size} bytes)`),
  );
  const metaFile = path.join(dir, 'checkpoint.json');
  await fsp.writeFile(metaFile, JSON.stringify({ ...JSON.parse(await fsp.readFile(metaFile, 'utf8')), formatVersion: 99 }));
  await assert.rejects(loadCheckpoint(dir), rejects('CHECKPOINT_INVALID', `${metaFile} is not a checkpoint of format version 1`));
  await fsp.rm(metaFile);
  await assert.rejects(loadCheckpoint(dir), rejects('CHECKPOINT_NOT_FOUND', `${dir} is not a training checkpoint (no checkpoint.json)`));
  await fsp.rm(path.dirname(dir), { recursive: true, force: true });
});

// Regressions of the fuzz campaign (test/fuzz): a field of another type in checkpoint.json was a TypeError where
// training first used it ("shape.forEach is not a function", reported as a bug); now one line naming the field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a checkpoint.json edited field by field, as a fuzzer would
const edits: Array<{ name: string; edit: (m: Record<string, any>) => void; what: RegExp }> = [
  {
    name: "an optimizer weight's shape that is an object (fuzz finding)",
    edit: (m) => (m.tensors[2].shape = {}),
    what: /tensors\.2\.shape must be array/,
  },
  { name: 'units that are a string', edit: (m) => (m.options.units = 'x'), what: /options\.units must be integer/ },
  { name: 'units of 2^32', edit: (m) => (m.options.units = 2 ** 32), what: /options\.units must be <= 65536/ },
  { name: 'a state that is null', edit: (m) => (m.state = null), what: /not a checkpoint of format version 1/ },
  {
    name: 'an epoch of history nested 100,000 deep',
    edit: (m) => (m.state.history = ['DEEP']),
    what: /state\.history\.0 must be object/,
  },
  {
    name: 'a tensor whose shape does not match its length',
    edit: (m) => (m.tensors[0].shape = [5]),
    what: /tensors\.0 has a shape that does not match its length/,
  },
];
for (const c of edits) {
  test(`a checkpoint.json with ${c.name} is CHECKPOINT_INVALID naming it`, async () => {
    const dir = path.join(await tempDir('rnn-ckpt-'), 'm.checkpoint');
    const ckpt: TrainCheckpoint = {
      epoch: 1,
      batch: 0,
      order: [1, 0],
      rngState: 1,
      sums: { loss: 0, acc: 0, seen: 0 },
      epochTrainSeconds: 0,
      history: [],
      tracker: { best: null, bestEpoch: 0, wait: 0 },
      scheduler: { current: 1e-3, wait: 0 },
      trainOnlySeconds: 0,
      trainedSamples: 0,
      weights: [Float32Array.from([1, 2]), Float32Array.from([3])],
      optimizer: [{ name: 'w/m', shape: [2], dtype: 'float32', data: Float32Array.from([0, 0]) }],
    };
    await saveCheckpoint(
      dir,
      { options: today, out: '/m', data: { flags: {}, source: { kind: 'csv', path: '/x.csv', sha256: 'ab' } } },
      ckpt,
    );
    await loadCheckpoint(dir); // as saved, it loads
    const file = path.join(dir, 'checkpoint.json');
    const meta = JSON.parse(await fsp.readFile(file, 'utf8'));
    c.edit(meta);
    // JSON.stringify recurses: the deep value is spliced into the text.
    await fsp.writeFile(file, JSON.stringify(meta).replace('"DEEP"', '['.repeat(1e5) + ']'.repeat(1e5)));
    await assert.rejects(loadCheckpoint(dir), (e: unknown) => {
      assert.ok(e instanceof UserError, String((e as Error)?.stack ?? e));
      assert.equal(e.code, 'CHECKPOINT_INVALID');
      assert.match(e.message, c.what);
      return true;
    });
    await fsp.rm(path.dirname(dir), { recursive: true, force: true });
  });
}
