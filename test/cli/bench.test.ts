import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, IMDB_TARBALL, REQUIRE_NATIVE } from '../helpers.js';
import { renderBench } from '../../src/cli/commands/bench.js';
import type { BenchRow } from '../../src/bench/index.js';

// A smoke test of the benchmark's plumbing (the figures themselves belong to `npm run bench`, not to tests).
test('rnn bench measures stock, fused and (when built) oneDNN side by side and prints them', async (t) => {
  if (!REQUIRE_NATIVE) return t.skip('runs with the native backend (CI)');
  const r = await runCli(['bench', '--cells', 'simplernn', '--train-batches', '1', '--predict-batches', '1', '--warmup', '0', '--json'], { env: { RNN_IMDB_URL: IMDB_TARBALL } });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.match(out.machine, /backend tensorflow .*batch 64, maxlen 256/);
  const onednn = !/oneDNN kernels: no /.test(out.machine);
  assert.deepEqual(
    out.rows.map((row: { cell: string; impl: string }) => `${row.cell}/${row.impl}`),
    ['simplernn/stock', 'simplernn/fused', ...(onednn ? ['simplernn/onednn'] : [])],
  );
  for (const row of out.rows) assert.ok(row.trainSamplesPerSec > 0 && row.predictSamplesPerSec > 0);
});

test('the bench table: every implementation measured, the fastest against stock, Keras when given', () => {
  const rows: BenchRow[] = [
    { cell: 'lstm', impl: 'stock', trainSamplesPerSec: 50, predictSamplesPerSec: 100 },
    { cell: 'lstm', impl: 'fused', trainSamplesPerSec: 200, predictSamplesPerSec: 400 },
    { cell: 'lstm', impl: 'onednn', trainSamplesPerSec: 600, predictSamplesPerSec: 2000 },
  ];
  assert.equal(
    renderBench(rows, 'M', { keras: '3.15.1', rows: { lstm: { trainSamplesPerSec: 500, predictSamplesPerSec: 1600 } } }),
    'M, Keras 3.15.1\n' +
      '| cell | train samples/s stock | fused | oneDNN | oneDNN/stock | Keras | oneDNN/Keras | predict samples/s stock | fused | oneDNN | oneDNN/stock | Keras | oneDNN/Keras |\n' +
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n' +
      '| lstm | 50.0 | 200.0 | 600.0 | 12.00× | 500.0 | 1.20× | 100.0 | 400.0 | 2000.0 | 20.00× | 1600.0 | 1.25× |\n',
  );
  assert.equal(
    renderBench(rows.slice(0, 2), 'M'),
    'M\n| cell | train samples/s stock | fused | fused/stock | predict samples/s stock | fused | fused/stock |\n|---|---:|---:|---:|---:|---:|---:|\n' +
      '| lstm | 50.0 | 200.0 | 4.00× | 100.0 | 400.0 | 4.00× |\n',
  );
});
