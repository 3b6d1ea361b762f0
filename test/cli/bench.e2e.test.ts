import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { escapeRegExp, runCli, IMDB_TARBALL, REQUIRE_NATIVE, REQUIRE_ONEDNN, ROOT, tempDir } from '../helpers.js';
import { loadBackend } from '../../src/backend/index.js';
import { probeOnednn } from '../../src/kernels/index.js';
import { describeThreading, resolveThreading, type Threading } from '../../src/kernels/threading.js';
import { availableCores } from '../../src/cli/env.js';
import { renderBench } from '../../src/cli/render-bench.js';
import type { BenchRow } from '../../src/bench/index.js';
import { SERVE_BENCH_TARGETS, type ServeBenchResult } from '../../src/bench/serve.js';
import type { NeighbourMeasurement, NeighbourRow } from '../../src/bench/neighbour.js';
import { interleavedReviews } from '../onednn-helpers.js';

/**
 * 200 real IMDB training reviews (positive and negative in turn) as a CSV for --data: the benchmarks use the first
 * few batches of their data, and reading the archive and fitting the tokenizer on its 25,000 training reviews cost
 * each `rnn bench` about 6 CPU-s, as much as its measuring here (`rnn bench neighbour` trains on aclImdb only).
 */
let reviewsCsv = '';
let csvDir = '';
before(async () => {
  csvDir = await tempDir('rnn-bench-data-');
  reviewsCsv = path.join(csvDir, 'reviews.csv');
  const q = (s: string): string => `"${s.replace(/"/g, '""')}"`;
  const rows = (await interleavedReviews()).slice(0, 200);
  await fsp.writeFile(
    reviewsCsv,
    'review,sentiment\n' + rows.map((r) => `${q(r.text)},${r.label === 1 ? 'positive' : 'negative'}\n`).join(''),
  );
});
after(() => fsp.rm(csvDir, { recursive: true, force: true }));

// The benchmark through the CLI at a small size (one timed training batch, two timed prediction batches: nothing here
// depends on how many): its rows and the settings it reports. The figures belong to
// `npm run bench`, not to tests (they move with whatever else the machine runs); what the columns measured does
// not: the stock column runs tfjs-layers' own call, the fused and oneDNN columns rnn's fused op.
test('rnn bench measures stock, fused and (when built) oneDNN for each cell, each on what its column names', async (t) => {
  if (!REQUIRE_NATIVE) return t.skip('runs with the native backend (CI)');
  const backend = await loadBackend({ requireNative: true });
  const addon = probeOnednn().addon;
  if (REQUIRE_ONEDNN) assert.ok(addon, 'the oneDNN addon is built');
  const r = await runCli(
    [
      'bench',
      '--data',
      reviewsCsv,
      '--cells',
      'simplernn,gru',
      '--batch-size',
      '16',
      '--train-batches',
      '1',
      '--predict-batches',
      '2',
      '--warmup',
      '1',
      '--json',
    ],
    { env: { RNN_IMDB_URL: IMDB_TARBALL } },
  );
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { machine: string; threading: Threading; rows: BenchRow[]; keras?: unknown };
  assert.deepEqual(Object.keys(out), ['machine', 'threading', 'rows'], 'no Keras columns without --keras-python');
  // The threading the child resolved from the environment it was given (the runner's OMP_WAIT_POLICY among it).
  const threading = resolveThreading({ ...process.env, RNN_IMDB_URL: IMDB_TARBALL }, availableCores());
  assert.deepEqual(out.threading, threading);
  assert.equal(
    out.machine,
    `${os.cpus()[0]!.model.trim()} × ${os.availableParallelism()}, backend tensorflow (TensorFlow ${backend.tfVersion}), ` +
      `oneDNN kernels: ${addon ? `${addon.onednnVersion} on ${describeThreading(threading)}` : `no (${backend.kernels.reason})`}, batch 16, maxlen 256`,
  );
  const impls = ['stock', 'fused', ...(addon ? ['onednn'] : [])];
  assert.deepEqual(
    out.rows.map((row) => `${row.cell}/${row.impl}`),
    ['simplernn', 'gru'].flatMap((cell) => impls.map((impl) => `${cell}/${impl}`)),
  );
  for (const row of out.rows) {
    assert.deepEqual(Object.keys(row), ['cell', 'impl', 'trainSamplesPerSec', 'predictSamplesPerSec', 'fusedLayers']);
    assert.ok(
      Number.isFinite(row.trainSamplesPerSec) &&
        row.trainSamplesPerSec > 0 &&
        Number.isFinite(row.predictSamplesPerSec) &&
        row.predictSamplesPerSec > 0,
      JSON.stringify(row),
    );
    const layer = row.cell === 'gru' ? /^gru/ : /^simple_rnn/;
    if (row.impl === 'stock') assert.deepEqual(row.fusedLayers, [], "stock keeps tfjs-layers' call");
    else assert.ok(row.fusedLayers.length === 1 && layer.test(row.fusedLayers[0]!), `${row.impl}: ${JSON.stringify(row.fusedLayers)}`);
    const stock = out.rows.find((x) => x.cell === row.cell && x.impl === 'stock')!;
    t.diagnostic(
      `${row.cell} ${row.impl}: train ${(row.trainSamplesPerSec / stock.trainSamplesPerSec).toFixed(1)}×, predict ${(row.predictSamplesPerSec / stock.predictSamplesPerSec).toFixed(1)}× stock`,
    );
  }
});

test('the bench table: every implementation measured, the fastest against stock, Keras when given', () => {
  const rows: BenchRow[] = [
    { cell: 'lstm', impl: 'stock', trainSamplesPerSec: 50, predictSamplesPerSec: 100, fusedLayers: [] },
    { cell: 'lstm', impl: 'fused', trainSamplesPerSec: 200, predictSamplesPerSec: 400, fusedLayers: ['lstm'] },
    { cell: 'lstm', impl: 'onednn', trainSamplesPerSec: 600, predictSamplesPerSec: 2000, fusedLayers: ['lstm'] },
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

test('rnn bench --cells goes through the same validating parser as compare: an unknown cell is refused, not dropped', async () => {
  for (const cmd of ['bench', 'compare']) {
    const r = await runCli([cmd, '--cells', 'lstm,grux']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      `error: option '--cells <list>' argument 'lstm,grux' is invalid. Unknown cell "grux"; allowed cells are simplernn, lstm, gru.\n(run with --help for usage)\n`,
    );
  }
});

// The preset's architecture: stock tfjs-layers, the fused layers on TensorFlow ops (what it falls back to without
// the oneDNN kernels) and the oneDNN kernels. The preset shows in the machine line and in the layers fused (a
// Bidirectional's two); the speeds are only reported.
test('rnn bench --preset best measures the preset architecture: stock tfjs-layers, the fused layers and the oneDNN kernels', async (t) => {
  if (!REQUIRE_NATIVE) return t.skip('runs with the native backend (CI)');
  const addon = probeOnednn().addon;
  if (!addon) return t.skip('the oneDNN addon is not built');
  const r = await runCli(
    [
      'bench',
      '--data',
      reviewsCsv,
      '--cells',
      'gru',
      '--preset',
      'best',
      '--batch-size',
      '8',
      '--train-batches',
      '1',
      '--predict-batches',
      '1',
      '--warmup',
      '0',
      '--json',
    ],
    { env: { RNN_IMDB_URL: IMDB_TARBALL } },
  );
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { machine: string; rows: BenchRow[] };
  assert.match(out.machine, /, batch 8, maxlen 400, preset best \(bidirectional, pooling max, maxlen 400, vocab size 40000\)$/);
  assert.deepEqual(
    out.rows.map((row) => `${row.cell}/${row.impl}`),
    ['gru/stock', 'gru/fused', 'gru/onednn'],
  );
  const [stock, fused, onednn] = out.rows as [BenchRow, BenchRow, BenchRow];
  t.diagnostic(`fused: train ${(fused.trainSamplesPerSec / stock.trainSamplesPerSec).toFixed(1)}× stock`);
  t.diagnostic(`onednn: train ${(onednn.trainSamplesPerSec / stock.trainSamplesPerSec).toFixed(1)}× stock`);
  // The preset's layers, fused in both of rnn's columns: a Bidirectional's two GRUs.
  assert.deepEqual(stock.fusedLayers, []);
  for (const row of [fused, onednn]) assert.equal(row.fusedLayers.length, 2, JSON.stringify(row.fusedLayers));
});

test("rnn bench serve is a command of its own: its flags reach it, the other command's are refused, rnn bench --serve names it", async () => {
  const moved = await runCli(['bench', '--serve', '--model', 'models/lstm']);
  assert.equal(moved.code, 1);
  assert.equal(moved.stdout, '');
  assert.equal(
    moved.stderr,
    'error: `rnn bench --serve` is now `rnn bench serve`: run that, with the same flags\n(run with --help for usage)\n',
  );
  for (const [args, flag] of [
    [['bench', 'serve', '--cells', 'lstm'], '--cells'],
    [['bench', '--model', 'models/lstm'], '--model'],
    [['bench', 'layers', '--soak', '10'], '--soak'],
  ] as const) {
    const r = await runCli([...args]);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stderr, new RegExp(`^error: unknown option '${flag}'`), args.join(' '));
  }
});

// A short run end to end on a Keras-trained fixture (imported: no training): the JSON has every part, and --json
// after `serve` reaches it. Measured: ~20 s, most of it the fixed 2 s warm-ups and starting rnn serve.
test('rnn bench serve --json: latency, throughput rounds and the targets, the server drained', async (t) => {
  if (!REQUIRE_NATIVE) return t.skip('runs with the native backend (CI)');
  const work = await tempDir('rnn-bench-serve-');
  t.after(() => fsp.rm(work, { recursive: true, force: true }));
  const fixtures = path.join(ROOT, 'test', 'fixtures', 'keras');
  const model = path.join(work, 'lstm');
  const env = { RNN_IMDB_URL: IMDB_TARBALL, RNN_MODELS_DIR: work };
  const tokenizer = path.join(fixtures, 'tokenizer.json');
  const imported = await runCli(['import', path.join(fixtures, 'lstm.keras'), '--tokenizer', tokenizer, '--out', model], { env });
  assert.equal(imported.code, 0, imported.stderr);
  const r = await runCli(['bench', 'serve', '--model', model, '--duration', '1', '--rounds', '1', '--json'], { env });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as ServeBenchResult & { machine: string; targets: typeof SERVE_BENCH_TARGETS };
  assert.deepEqual(Object.keys(out), ['machine', 'model', 'settings', 'latency', 'throughput', 'serverExitCode', 'targets']);
  assert.match(out.machine, new RegExp(` × \\d+, backend tensorflow \\(TensorFlow [\\d.]+\\), model ${escapeRegExp(model)} \\(lstm, `));
  assert.match(out.machine, /, 1 s per run after 2 s of warm-up, pool of 2,000 IMDB test reviews, predict batch \d+$/);
  assert.deepEqual(
    out.latency.map((l) => l.connections),
    [1, 1],
  );
  assert.equal(out.throughput.rounds.length, 1);
  const round = out.throughput.rounds[0]!;
  assert.ok(round.predict.reviewsPerSec > 0 && round.serve.requestsPerSec > 0, JSON.stringify(round));
  assert.equal(round.serve.non2xx, 0);
  assert.deepEqual(out.targets, { ...SERVE_BENCH_TARGETS });
  assert.equal(out.serverExitCode, 0);
});

// `rnn bench neighbour` at its smallest: one cell, one round, 64 reviews, no Keras. Its figures belong to the
// bench (docs/benchmarks.md); here: each column is a real `rnn train` run, in the plan's order, summarized.
test('rnn bench neighbour trains the cell idle, beside a busy neighbour, and with OpenMP’s default wait', async (t) => {
  if (!REQUIRE_NATIVE) return t.skip('runs with the native backend (CI)');
  // The user's models: a model of their own is models/latest, and stays so after the bench's training runs.
  const models = await tempDir('rnn-bench-neighbour-models-');
  t.after(() => fsp.rm(models, { recursive: true, force: true }));
  await fsp.mkdir(path.join(models, 'mine'));
  await fsp.symlink('mine', path.join(models, 'latest'));
  const r = await runCli(['bench', 'neighbour', '--cells', 'gru', '--reviews', '64', '--batch-size', '32', '--rounds', '1', '--json'], {
    env: { RNN_IMDB_URL: IMDB_TARBALL, RNN_MODELS_DIR: models },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await fsp.readlink(path.join(models, 'latest')), 'mine', "the bench's runs leave models/latest as it was");
  assert.deepEqual(await fsp.readdir(models), ['latest', 'mine']);
  const out = JSON.parse(r.stdout) as { machine: string; threading: Threading; rows: NeighbourRow[]; runs: NeighbourMeasurement[] };
  assert.deepEqual(Object.keys(out), ['machine', 'threading', 'rows', 'runs']);
  assert.deepEqual(
    out.runs.map((m) => m.column),
    ['rnnIdle', 'rnnNeighbour', 'rnnNeighbourSpin'],
  );
  for (const m of out.runs) assert.ok(Number.isFinite(m.samplesPerSec) && m.samplesPerSec > 0, JSON.stringify(m));
  assert.deepEqual(Object.keys(out.rows[0]!.columns), ['rnnIdle', 'rnnNeighbour', 'rnnNeighbourSpin']);
  assert.equal(out.rows[0]!.kept, out.runs[1]!.samplesPerSec / out.runs[0]!.samplesPerSec);
  assert.match(out.machine, /; 64 reviews, 1 epoch, batch 32; neighbour: a shell busy loop; median \(range\) of 1 alternated round$/);
});
