import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, IMDB_TARBALL, REQUIRE_NATIVE } from '../helpers.js';

// A smoke test of the benchmark's plumbing (the figures themselves belong to `npm run bench`, not to tests).
test('rnn bench measures stock and fused side by side and prints both', async (t) => {
  if (!REQUIRE_NATIVE) return t.skip('runs with the native backend (CI)');
  const r = await runCli(['bench', '--cells', 'simplernn', '--train-batches', '1', '--predict-batches', '1', '--warmup', '0', '--json'], { env: { RNN_IMDB_URL: IMDB_TARBALL } });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.match(out.machine, /backend tensorflow .*batch 64, maxlen 256/);
  assert.deepEqual(out.rows.map((row: { cell: string; impl: string }) => `${row.cell}/${row.impl}`), ['simplernn/stock', 'simplernn/fused']);
  for (const row of out.rows) assert.ok(row.trainSamplesPerSec > 0 && row.predictSamplesPerSec > 0);
});
