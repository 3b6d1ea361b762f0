/**
 * `rnn bench neighbour`'s pure parts: the alternating plan, the medians and ratios, each run's environment
 * (the spinning column gets OpenMP's default wait, Keras the user's own), the samples/s of a run's output,
 * and a whole bench with a stand-in for the runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isUserError } from '../../src/errors.js';
import {
  argsOf,
  measureRun,
  neighbourPlan,
  runEnv,
  runNeighbourBench,
  samplesPerSecOf,
  startNeighbour,
  summarizeNeighbour,
  type NeighbourBenchOptions,
  type NeighbourRun,
} from '../../src/bench/neighbour.js';

test('the plan: every column of every cell once per round, every other round in reverse order', () => {
  const plan = neighbourPlan(['lstm', 'gru'], 2, true).map((r) => `${r.round}:${r.cell}:${r.column}`);
  assert.deepEqual(plan, [
    '1:lstm:rnnIdle',
    '1:lstm:rnnNeighbour',
    '1:lstm:rnnNeighbourSpin',
    '1:lstm:kerasNeighbour',
    '1:gru:rnnIdle',
    '1:gru:rnnNeighbour',
    '1:gru:rnnNeighbourSpin',
    '1:gru:kerasNeighbour',
    '2:gru:kerasNeighbour',
    '2:gru:rnnNeighbourSpin',
    '2:gru:rnnNeighbour',
    '2:gru:rnnIdle',
    '2:lstm:kerasNeighbour',
    '2:lstm:rnnNeighbourSpin',
    '2:lstm:rnnNeighbour',
    '2:lstm:rnnIdle',
  ]);
  assert.ok(
    neighbourPlan(['gru'], 3, false).every((r) => r.column !== 'kerasNeighbour'),
    'no Keras column without Keras',
  );
});

test('summarizeNeighbour: medians and ranges per column, rnn over Keras and busy over idle from the medians', () => {
  const ms = [
    ...[3000, 3100, 2900].map((v, i) => ({ cell: 'gru' as const, column: 'rnnIdle' as const, round: i + 1, samplesPerSec: v })),
    ...[1000, 1200, 1100].map((v, i) => ({ cell: 'gru' as const, column: 'rnnNeighbour' as const, round: i + 1, samplesPerSec: v })),
    ...[400, 500, 440].map((v, i) => ({ cell: 'gru' as const, column: 'kerasNeighbour' as const, round: i + 1, samplesPerSec: v })),
  ];
  const [row] = summarizeNeighbour(['gru'], ms);
  assert.deepEqual(row!.columns, {
    rnnIdle: { median: 3000, min: 2900, max: 3100 },
    rnnNeighbour: { median: 1100, min: 1000, max: 1200 },
    kerasNeighbour: { median: 440, min: 400, max: 500 },
  });
  assert.equal(row!.kerasRatio, 2.5);
  assert.equal(row!.kept, 1100 / 3000);
  const [bare] = summarizeNeighbour(['lstm'], []);
  assert.deepEqual(bare, { cell: 'lstm', columns: {} });
});

test("runEnv: rnn's columns as given, the spinning one with OpenMP's default wait, Keras the user's environment", () => {
  const env = { PATH: '/bin', OMP_WAIT_POLICY: 'PASSIVE', OMP_NUM_THREADS: '2' };
  assert.deepEqual(runEnv('rnnNeighbour', env, { PATH: '/bin' }), env);
  assert.deepEqual(runEnv('rnnIdle', env, { PATH: '/bin' }), env);
  assert.deepEqual(runEnv('rnnNeighbourSpin', env, {}), { PATH: '/bin', GOMP_SPINCOUNT: '300000' });
  assert.deepEqual(runEnv('kerasNeighbour', env, { PATH: '/bin' }), { PATH: '/bin' });
});

test("samplesPerSecOf: the last JSON line's samples/s; none when no line has them", () => {
  const train = ['{"epoch":1,"samplesPerSec":700}', '{"saved":"m","samplesPerSec":812.5,"seed":1}', ''].join('\n');
  assert.equal(samplesPerSecOf(train), 812.5);
  assert.equal(samplesPerSecOf('{"keras": "3.15.1", "samplesPerSec": 401.2}\n'), 401.2);
  assert.equal(samplesPerSecOf('Traceback (most recent call last):\nboom'), undefined);
  assert.equal(samplesPerSecOf('{"samplesPerSec":"fast"}'), undefined);
});

test('runNeighbourBench runs the plan in order and summarizes what the runs measured', async () => {
  const o = { cells: ['simplernn', 'lstm'], rounds: 3, keras: { python: 'p', script: 's' } } as unknown as NeighbourBenchOptions;
  const seen: string[] = [];
  const progress: string[] = [];
  const value = { rnnIdle: 3000, rnnNeighbour: 2000, rnnNeighbourSpin: 800, kerasNeighbour: 500 };
  const r = await runNeighbourBench(
    o,
    (m) => progress.push(m),
    async (run) => {
      seen.push(`${run.round}:${run.cell}:${run.column}`);
      return value[run.column] * (run.cell === 'lstm' ? 0.5 : 1) + run.round;
    },
  );
  assert.deepEqual(
    seen,
    neighbourPlan(['simplernn', 'lstm'], 3, true).map((x) => `${x.round}:${x.cell}:${x.column}`),
  );
  assert.equal(progress.length, 24);
  assert.equal(progress[0], 'run 1 of 24: simplernn, rnnIdle, round 1');
  assert.equal(r.runs.length, 24);
  assert.deepEqual(r.rows[1]!.columns.rnnNeighbour, { median: 1002, min: 1001, max: 1003 });
  assert.equal(r.rows[0]!.kerasRatio, 2002 / 502);
});

test('measureRun: rnn train and the Keras script with their arguments and environments, samples/s from their last line; a failure is a UserError', async () => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rnn-neighbour-'));
  try {
    // Stand-ins that echo what they were given: the spin count they saw, their arguments.
    const echo = path.join(dir, 'echo.mjs');
    await fsp.writeFile(
      echo,
      "process.stdout.write(JSON.stringify({ epoch: 1, samplesPerSec: 1 }) + '\\n' + JSON.stringify({ samplesPerSec: process.env.GOMP_SPINCOUNT ? 300 : 3000, args: process.argv.slice(2), wait: process.env.OMP_WAIT_POLICY ?? null }) + '\\n');\n",
    );
    const fail = path.join(dir, 'fail.mjs');
    await fsp.writeFile(fail, "process.stderr.write('warming up\\nno such cell\\n'); process.exit(2);\n");
    const o: NeighbourBenchOptions = {
      cells: ['gru'],
      rounds: 1,
      reviews: 128,
      batchSize: 32,
      epochs: 1,
      seed: 7,
      data: '/d/aclImdb_v1.tar.gz',
      rnn: [process.execPath, echo],
      modelDir: path.join(dir, 'm'),
      keras: { python: process.execPath, script: echo },
      env: { PATH: process.env.PATH, OMP_WAIT_POLICY: 'PASSIVE' },
      userEnv: { PATH: process.env.PATH },
    };
    assert.equal(await measureRun(o, { cell: 'gru', column: 'rnnIdle', round: 1 }), 3000);
    assert.equal(await measureRun(o, { cell: 'gru', column: 'rnnNeighbour', round: 1 }), 3000);
    assert.equal(await measureRun(o, { cell: 'gru', column: 'rnnNeighbourSpin', round: 1 }), 300);
    assert.equal(await measureRun(o, { cell: 'gru', column: 'kerasNeighbour', round: 1 }), 3000);
    const line = async (r: NeighbourRun, rnn: string[]) => {
      const last = await new Promise<string>((resolve) =>
        execFile(rnn[0]!, [...rnn.slice(1), ...argsOf(o, r)], { env: runEnv(r.column, o.env, o.userEnv) }, (_e, out) => resolve(out)),
      );
      return JSON.parse(last.trim().split('\n').at(-1)!) as { args: string[]; wait: string | null };
    };
    const train = await line({ cell: 'gru', column: 'rnnNeighbour', round: 1 }, o.rnn);
    assert.deepEqual(train.args, [
      'train',
      '--cell=gru',
      '--data=/d/aclImdb_v1.tar.gz',
      '--limit=128',
      '--epochs=1',
      '--batch-size=32',
      '--validation-split=0',
      '--seed=7',
      `--out=${o.modelDir}`,
      '--json',
    ]);
    assert.equal(train.wait, 'PASSIVE', "rnn's threading reaches rnn's runs");
    const keras = await line({ cell: 'gru', column: 'kerasNeighbour', round: 1 }, [o.keras!.python]);
    assert.deepEqual(keras.args, ['/d/aclImdb_v1.tar.gz', 'gru', '128', '1', '32', '7']);
    assert.equal(keras.wait, null, "Keras runs in the user's environment");
    await assert.rejects(
      measureRun({ ...o, rnn: [process.execPath, fail] }, { cell: 'gru', column: 'rnnNeighbour', round: 1 }),
      (e: unknown) => {
        assert.ok(isUserError(e));
        assert.equal(e.code, 'BENCH_RUN_FAILED');
        assert.match(e.message, /rnn train \(gru\) failed: no such cell/);
        return true;
      },
    );
    await assert.rejects(
      measureRun({ ...o, keras: { python: process.execPath, script: fail } }, { cell: 'gru', column: 'kerasNeighbour', round: 1 }),
      (e: unknown) => isUserError(e) && e.code === 'BENCH_KERAS_FAILED',
    );
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

test('the neighbour keeps a core busy until stopped, and stops', async () => {
  const n = await startNeighbour();
  await new Promise((r) => setTimeout(r, 400));
  // utime + stime of the shell, in clock ticks (100 a second): most of the 0.4 s even on a shared machine
  const ticks = (await fsp.readFile(`/proc/${n.pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  assert.ok(Number(ticks[11]) + Number(ticks[12]) >= 10, `the loop ran: ${ticks[11]} + ${ticks[12]} ticks`);
  await n.stop();
  await assert.rejects(fsp.access(`/proc/${n.pid}`), 'the shell is gone');
});
