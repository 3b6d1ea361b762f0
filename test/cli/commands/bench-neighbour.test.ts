/**
 * `rnn bench neighbour`: its flags (defaults in the help, bad values refused before anything runs) and its table,
 * exactly, from fixed rows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { main } from '../../../src/cli/main.js';
import { renderNeighbourBench, describeNeighbourBench } from '../../../src/cli/commands/bench-neighbour.js';
import { NEIGHBOUR_BENCH_DEFAULTS } from '../../../src/bench/neighbour.js';
import { resolveThreading } from '../../../src/kernels/threading.js';

async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = new PassThrough().on('data', (d) => (stdout += d));
  const err = new PassThrough().on('data', (d) => (stderr += d));
  const code = await main(argv, { out, err }, { NO_COLOR: '1' }, new PassThrough(), resolveThreading({}, { affinity: 2 }));
  return { code, stdout, stderr };
}

test('rnn bench neighbour --help lists its flags with their defaults', async () => {
  const r = await cli(['bench', 'neighbour', '--help']);
  assert.equal(r.code, 0);
  const help = r.stdout.replace(/\s+/g, ' '); // commander wraps the lines
  for (const flag of [
    '--cells',
    '--reviews',
    '--batch-size',
    '--epochs',
    '--rounds',
    '--seed',
    '--keras-python',
    '--pin',
    '--json',
    '--data',
  ])
    assert.match(help, new RegExp(`${flag}\\b`), flag);
  assert.match(help, /--reviews <n> training reviews of each run \(rnn train --limit\) \(default: 2048\)/);
  assert.match(
    help,
    new RegExp(`--cells <list> cells to measure, comma-separated \\(default ${NEIGHBOUR_BENCH_DEFAULTS.cells.join(',')}\\)`),
  );
});

test('rnn bench neighbour refuses bad values before it runs anything', async () => {
  for (const [args, what] of [
    [['--rounds', '0'], /--rounds/],
    [['--reviews', 'many'], /--reviews/],
    [['--pin', '-1'], /--pin/],
    [['--cells', 'transformer'], /transformer/],
  ] as const) {
    const r = await cli(['bench', 'neighbour', ...args]);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stderr, what);
    assert.equal(r.stdout, '');
  }
});

test('rnn bench --neighbour names the command', async () => {
  const r = await cli(['bench', '--neighbour']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error: the neighbour benchmark is `rnn bench neighbour`: run that/);
});

test("the table: the issue's four columns as median (range), rnn over Keras, what rnn kept of its idle speed", () => {
  const range = (median: number, min: number, max: number) => ({ median, min, max });
  const text = renderNeighbourBench(
    [
      {
        cell: 'simplernn',
        columns: {
          rnnIdle: range(3337.4, 3300, 3854),
          rnnNeighbour: range(2400, 2378, 2401),
          rnnNeighbourSpin: range(811, 800, 838),
          kerasNeighbour: range(800, 789, 802),
        },
        kerasRatio: 3,
        kept: 2400 / 3337.4,
      },
      { cell: 'gru', columns: { rnnIdle: range(2051, 2051, 2051) }, kept: undefined },
    ],
    'machine',
  );
  assert.equal(
    text,
    [
      'machine',
      "| cell | rnn idle | rnn, busy neighbour | rnn, busy neighbour, OpenMP's default wait | Keras, busy neighbour | rnn / Keras, neighbour | rnn kept |",
      '|---|---:|---:|---:|---:|---:|---:|',
      '| simplernn | 3,337 (3,300–3,854) | 2,400 (2,378–2,401) | 811 (800–838) | 800 (789–802) | 3.00× | 72% |',
      '| gru | 2,051 (2,051–2,051) | – | – | – | – | – |',
      '',
    ].join('\n'),
  );
  assert.doesNotMatch(
    renderNeighbourBench([{ cell: 'gru', columns: { rnnIdle: range(1, 1, 1) } }], 'm'),
    /Keras/,
    'no Keras columns without Keras',
  );
});

test('the line above the table names the threading, the runs and the neighbour', () => {
  const t = resolveThreading({}, { affinity: 2 });
  const line = describeNeighbourBench(t, { reviews: 2048, epochs: 1, batchSize: 64, rounds: 3, pin: 1 });
  assert.match(
    line,
    / × 2, oneDNN kernels on 2 threads \(2 cores\), OMP_WAIT_POLICY=PASSIVE \(rnn's default\): sleep at once \(passive\); 2,048 reviews, 1 epoch, batch 64; neighbour: a shell busy loop pinned to CPU 1; median \(range\) of 3 alternated rounds$/,
  );
});
