/**
 * runClassesBench: the binary and the k-class model trained step for step, each round's samples/s and the
 * median of the rounds' ratios; both models really train (their weights move) and nothing is left behind.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadBackend, type LoadedBackend } from '../../src/backend/index.js';
import { runClassesBench } from '../../src/bench/index.js';
import { tfjsKernels } from '../../src/kernels/index.js';
import type { Review } from '../../src/data/index.js';
import { REQUIRE_NATIVE } from '../helpers.js';
import { interleavedReviews, onednnKernels, skipOnednn } from '../onednn-helpers.js';

let backend: LoadedBackend;
let reviews: Review[] = [];
before(async () => {
  backend = await loadBackend({ requireNative: REQUIRE_NATIVE });
  reviews = await interleavedReviews();
});

const model = { vocabSize: 300, embeddingDim: 4, maxlen: 12, units: 3, bidirectional: false, pooling: 'last' as const };

for (const kernels of ['onednn', 'tfjs'] as const)
  test(
    `runClassesBench (${kernels} step): one pair of samples/s per round, the median ratio of the rounds`,
    { skip: kernels === 'onednn' && skipOnednn },
    async () => {
      const before = backend.tf.memory().numTensors;
      const progress: string[] = [];
      const r = await runClassesBench(
        backend.tf,
        reviews,
        {
          cell: 'gru',
          classes: 8,
          batchSize: 8,
          batches: 3,
          warmup: 1,
          rounds: 3,
          model,
          kernels: kernels === 'onednn' ? onednnKernels : tfjsKernels('asked'),
        },
        (m) => progress.push(m),
      );
      assert.equal(r.step, kernels);
      assert.equal(r.rounds.length, 3);
      assert.ok(r.rounds.flat().every((v) => Number.isFinite(v) && v > 0));
      const ratios = r.rounds.map(([a, b]) => b / a).sort((a, b) => a - b);
      assert.equal(r.ratio, ratios[1]);
      assert.equal(r.binarySamplesPerSec, r.rounds.map((x) => x[0]).sort((a, b) => a - b)[1]);
      assert.deepEqual(progress, ['gru: round 1 of 3', 'gru: round 2 of 3', 'gru: round 3 of 3']);
      assert.equal(backend.tf.memory().numTensors, before, 'both models disposed');
    },
  );
