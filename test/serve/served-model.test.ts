/** The batch sizes a served model runs its forwards at (batchBuckets) and the one a forward of n rows uses (bucketFor). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchBuckets, bucketFor } from '../../src/serve/served-model.js';

const BUCKETS: Array<{ batchSize: number; buckets: number[] }> = [
  { batchSize: 1, buckets: [1] },
  { batchSize: 2, buckets: [1, 2] },
  { batchSize: 3, buckets: [1, 2, 3] },
  { batchSize: 7, buckets: [1, 2, 4, 7] },
  { batchSize: 8, buckets: [1, 2, 4, 6, 8] },
  { batchSize: 50, buckets: [1, 2, 4, 8, 16, 24, 32, 40, 48, 50] },
  { batchSize: 64, buckets: [1, 2, 4, 8, 16, 32, 48, 64] },
  { batchSize: 65, buckets: [1, 2, 4, 8, 16, 32, 48, 64, 65] },
  { batchSize: 256, buckets: [1, 2, 4, 8, 16, 32, 64, 128, 192, 256] },
];
for (const { batchSize, buckets } of BUCKETS) {
  test(`batchBuckets(${batchSize}) = [${buckets.join(', ')}]`, () => {
    assert.deepEqual(batchBuckets(batchSize), buckets);
  });
}

const PICKS: Array<{ batchSize: number; rows: number; bucket: number }> = [
  { batchSize: 64, rows: 1, bucket: 1 },
  { batchSize: 64, rows: 2, bucket: 2 },
  { batchSize: 64, rows: 3, bucket: 4 },
  { batchSize: 64, rows: 4, bucket: 4 },
  { batchSize: 64, rows: 5, bucket: 8 },
  { batchSize: 64, rows: 17, bucket: 32 },
  { batchSize: 64, rows: 33, bucket: 48 },
  { batchSize: 64, rows: 49, bucket: 64 },
  { batchSize: 64, rows: 64, bucket: 64 },
  { batchSize: 50, rows: 32, bucket: 32 },
  { batchSize: 50, rows: 33, bucket: 40 },
  { batchSize: 50, rows: 49, bucket: 50 },
  { batchSize: 50, rows: 50, bucket: 50 },
  { batchSize: 1, rows: 1, bucket: 1 },
];
for (const { batchSize, rows, bucket } of PICKS) {
  test(`bucketFor(batchBuckets(${batchSize}), ${rows}) = ${bucket}`, () => {
    assert.equal(bucketFor(batchBuckets(batchSize), rows), bucket);
  });
}

test('bucketFor is the smallest bucket holding the rows, for every row count up to the batch size', () => {
  for (const batchSize of [1, 7, 50, 64, 100]) {
    const buckets = batchBuckets(batchSize);
    for (let rows = 1; rows <= batchSize; rows++) {
      const b = bucketFor(buckets, rows);
      assert.ok(buckets.includes(b) && b >= rows, `bucketFor(${batchSize}, ${rows}) = ${b}`);
      assert.ok(
        buckets.every((o) => o < rows || o >= b),
        `bucketFor(${batchSize}, ${rows}) = ${b} is the smallest`,
      );
    }
  }
});
