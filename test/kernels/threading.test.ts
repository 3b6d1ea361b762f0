/**
 * The oneDNN kernels' threading (src/kernels/threading.ts): rnn's default wait unless the user set a wait
 * variable, a thread count from a cgroup quota below the affinity mask, the variables rnn adds, the words.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { availableCores, cgroupPaths } from '../../src/cli/env.js';
import {
  cgroupQuota,
  defaultThreads,
  describeThreading,
  describeWait,
  resolveThreading,
  THREADING_DEFAULTS,
  threadingEnv,
} from '../../src/kernels/threading.js';

const two = { affinity: 2 };

test("with nothing set, rnn's default wait is added and OpenMP keeps its thread count", () => {
  const t = resolveThreading({}, two);
  assert.deepEqual(t.settings, [
    { name: 'OMP_WAIT_POLICY', value: THREADING_DEFAULTS.OMP_WAIT_POLICY, source: 'rnn' },
    { name: 'GOMP_SPINCOUNT', source: 'openmp' },
    { name: 'OMP_NUM_THREADS', source: 'openmp' },
  ]);
  assert.deepEqual(threadingEnv(t), { OMP_WAIT_POLICY: 'PASSIVE' });
  assert.equal(t.threads, 2);
  assert.equal(describeThreading(t), "2 threads (2 cores), OMP_WAIT_POLICY=PASSIVE (rnn's default): sleep at once (passive)");
});

test("a wait variable the user set wins, and rnn then adds no wait of its own (GOMP_SPINCOUNT overrides the policy's spin)", () => {
  const active = resolveThreading({ OMP_WAIT_POLICY: 'active' }, two);
  assert.deepEqual(active.settings[0], { name: 'OMP_WAIT_POLICY', value: 'active', source: 'user' });
  assert.deepEqual(threadingEnv(active), {});
  assert.equal(active.wait, 'spin (active)');
  const spin = resolveThreading({ GOMP_SPINCOUNT: '10000' }, two);
  assert.deepEqual(spin.settings.slice(0, 2), [
    { name: 'OMP_WAIT_POLICY', source: 'openmp' },
    { name: 'GOMP_SPINCOUNT', value: '10000', source: 'user' },
  ]);
  assert.deepEqual(threadingEnv(spin), {});
  assert.equal(describeThreading(spin), '2 threads (2 cores), GOMP_SPINCOUNT=10000 (set by you): spin 10000 times, then sleep');
  // Empty or blank is unset, as libgomp's parser would reject it.
  assert.deepEqual(threadingEnv(resolveThreading({ OMP_WAIT_POLICY: ' ', GOMP_SPINCOUNT: '' }, two)), { OMP_WAIT_POLICY: 'PASSIVE' });
});

test('OMP_NUM_THREADS: the user’s wins (its first level counts); else the whole cores of a cgroup quota below the mask', () => {
  const user = resolveThreading({ OMP_NUM_THREADS: '1,1' }, { affinity: 2, quota: 8 });
  assert.deepEqual(user.settings[2], { name: 'OMP_NUM_THREADS', value: '1,1', source: 'user' });
  assert.equal(user.threads, 1);
  assert.deepEqual(threadingEnv(user), { OMP_WAIT_POLICY: 'PASSIVE' });
  const quota = resolveThreading({}, { affinity: 8, quota: 2.5 });
  assert.deepEqual(threadingEnv(quota), { OMP_WAIT_POLICY: 'PASSIVE', OMP_NUM_THREADS: '2' });
  assert.equal(quota.threads, 2);
  assert.match(
    describeThreading(quota),
    /^2 threads \(8 cores, cgroup quota 2\.5\), OMP_WAIT_POLICY=PASSIVE \(rnn's default\), OMP_NUM_THREADS=2 \(rnn's default\)/,
  );
  assert.equal(defaultThreads({ affinity: 2, quota: 4 }), undefined, 'a quota above the mask changes nothing');
  assert.equal(defaultThreads({ affinity: 2, quota: 0.5 }), 1, 'at least one thread');
  assert.equal(defaultThreads({ affinity: 2 }), undefined);
});

test('cgroupQuota reads cgroup v2 cpu.max and v1 cfs quota/period; no quota or no file is none', () => {
  assert.equal(cgroupQuota({ cpuMax: '150000 100000\n' }), 1.5);
  assert.equal(cgroupQuota({ cpuMax: 'max 100000\n' }), undefined);
  assert.equal(cgroupQuota({ cfsQuota: '200000\n', cfsPeriod: '100000\n' }), 2);
  assert.equal(cgroupQuota({ cfsQuota: '-1\n', cfsPeriod: '100000\n' }), undefined);
  assert.equal(cgroupQuota({}), undefined);
  assert.equal(cgroupQuota({ cpuMax: 'garbage' }), undefined);
});

test("availableCores takes the tightest quota of the process's cgroup and those above it (v2 and v1), not only the root's", () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'rnn-cgroup-'));
  const file = (rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  };
  try {
    const proc = path.join(root, 'proc-cgroup');
    assert.deepEqual(cgroupPaths('12:cpu,cpuacct:/ci/job\n0::/system.slice/runner.service\n1:name=systemd:/x\n'), {
      cpu: '/ci/job',
      v2: '/system.slice/runner.service',
    });
    // v2: no quota at the root, 1.5 cores on the slice, none on the service inside it.
    file('proc-cgroup', '0::/system.slice/runner.service\n');
    file('cpu.max', 'max 100000\n');
    file('system.slice/cpu.max', '150000 100000\n');
    file('system.slice/runner.service/cpu.max', 'max 100000\n');
    assert.equal(availableCores(root, proc).quota, 1.5);
    // A tighter one further down wins.
    file('system.slice/runner.service/cpu.max', '50000 100000\n');
    assert.equal(availableCores(root, proc).quota, 0.5);
    // v1: the cpu controller's own path.
    rmSync(path.join(root, 'cpu.max'));
    rmSync(path.join(root, 'system.slice'), { recursive: true });
    file('proc-cgroup', '4:cpu,cpuacct:/ci/job\n');
    file('cpu/ci/cpu.cfs_quota_us', '100000\n');
    file('cpu/ci/cpu.cfs_period_us', '100000\n');
    file('cpu/ci/job/cpu.cfs_quota_us', '-1\n');
    file('cpu/ci/job/cpu.cfs_period_us', '100000\n');
    assert.equal(availableCores(root, proc).quota, 1);
    // No quota anywhere, or no files at all: none.
    file('cpu/ci/cpu.cfs_quota_us', '-1\n');
    assert.equal(availableCores(root, proc).quota, undefined);
    assert.equal(availableCores(path.join(root, 'absent'), path.join(root, 'absent')).quota, undefined);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('describeWait follows libgomp: a spin count wins, passive sleeps, unset spins 300,000 times', () => {
  assert.equal(describeWait(undefined, undefined), "spin 300,000 times, then sleep (OpenMP's default)");
  assert.equal(describeWait('Passive', undefined), 'sleep at once (passive)');
  assert.equal(describeWait('PASSIVE', '500'), 'spin 500 times, then sleep');
});
