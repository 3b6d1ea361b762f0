/**
 * The lesson model's prediction whole on rnn's oneDNN kernels (OnednnPredictor, and `createPredictor` +
 * `predictArrays` choosing it) equals stock tfjs-layers' `predict` on real reviews.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import type { Tensor } from '@tensorflow/tfjs';
import { loadBackend, type TF } from '../../src/backend/index.js';
import { buildModel, MODEL_DEFAULTS } from '../../src/models/index.js';
import { tfjsKernels } from '../../src/kernels/index.js';
import { CELLS } from '../../src/cells.js';
import { OnednnPredictor } from '../../src/predict/onednn.js';
import { LESSON_TOPOLOGY } from '../../src/kernels/lesson.js';
import { createPredictor, predictArrays } from '../../src/predict/index.js';
import type { Review } from '../../src/data/index.js';
import { REQUIRE_NATIVE } from '../helpers.js';
import { addon, batches, interleavedReviews, lessonModel, maxAbsDiff, onednnKernels, SIZE, skipOnednn as skip } from '../onednn-helpers.js';

let tf: TF;
let reviews: Review[] = [];

before(async () => {
  tf = (await loadBackend({ requireNative: REQUIRE_NATIVE })).tf;
  reviews = await interleavedReviews();
});

for (const cell of CELLS) {
  test(`${cell}: OnednnPredictor and predictArrays on the oneDNN kernels = stock tfjs-layers' predict on real reviews`, { skip }, () => {
    const stock = buildModel(tf, { ...MODEL_DEFAULTS, ...SIZE, cell, seed: 9, layers: 'stock' }, tfjsKernels('stock'));
    const fused = lessonModel(tf, cell, onednnKernels);
    fused.setWeights(stock.getWeights());
    const all = batches(reviews);
    const ids = new Int32Array(all.reduce((n, b) => n + b.ids.length, 0));
    all.reduce((at, b) => (ids.set(b.ids, at), at + b.ids.length), 0);
    const want = tf.tidy(
      () => (stock.predict(tf.tensor2d(ids, [ids.length / SIZE.maxlen, SIZE.maxlen], 'int32')) as Tensor).dataSync() as Float32Array,
    );
    const before = tf.memory().numTensors;
    const predictor = new OnednnPredictor(addon, cell, SIZE.maxlen, fused, LESSON_TOPOLOGY);
    assert.ok(maxAbsDiff([predictor.predict(ids)], [want]) < 1e-5, 'one call, all 400 reviews');
    // createPredictor takes the oneDNN path for a model on the oneDNN kernels; predictArrays runs batches of 64 (the last one short)
    const chosen = createPredictor(tf, { model: fused, cell, kernels: onednnKernels }, SIZE.maxlen);
    assert.ok(chosen instanceof OnednnPredictor);
    assert.ok(maxAbsDiff([predictArrays(chosen, ids, 64)], [want]) < 1e-5);
    assert.equal(tf.memory().numTensors, before);
    assert.ok(
      !(createPredictor(tf, { model: fused, cell, kernels: tfjsKernels('asked') }, SIZE.maxlen) instanceof OnednnPredictor),
      'not on the tfjs kernels',
    );
    const other = CELLS.find((c) => c !== cell)!;
    assert.ok(
      !(createPredictor(tf, { model: fused, cell: other, kernels: onednnKernels }, SIZE.maxlen) instanceof OnednnPredictor),
      'not for a model of another cell',
    );
    stock.dispose();
    fused.dispose();
  });
}
