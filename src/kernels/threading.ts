/**
 * How the oneDNN kernels' threads wait and how many there are. The addon and Debian's libdnnl run on OpenMP
 * (GNU libgomp), which reads OMP_WAIT_POLICY, GOMP_SPINCOUNT and OMP_NUM_THREADS once, when it is loaded
 * with the addon: rnn's CLI resolves them here and writes them into its environment before anything loads
 * the addon (src/cli/main.ts `run`), so they reach libgomp and every process rnn starts. A variable the user
 * set wins; rnn adds only what the user left unset. Pure: the caller passes the environment and the cores.
 *
 * The choice, measured in docs/benchmarks.md ("A busy neighbour"): libgomp's own default spins 300,000
 * times (about 3 ms) at every barrier and between parallel regions before it sleeps; beside another
 * process that computes, a spinning thread takes the core its partner needs, and rnn's training lost
 * 60–78% of its speed. Passive waiting (threads sleep at once) keeps it, at no measurable cost when idle.
 */

/** The OpenMP variables rnn reports and may set. */
export const THREADING_VARIABLES = ['OMP_WAIT_POLICY', 'GOMP_SPINCOUNT', 'OMP_NUM_THREADS'] as const;
export type ThreadingVariable = (typeof THREADING_VARIABLES)[number];

/** rnn's default wait: OMP_WAIT_POLICY's value unless the user set OMP_WAIT_POLICY or GOMP_SPINCOUNT (the two interact). */
export const THREADING_DEFAULTS = Object.freeze({ OMP_WAIT_POLICY: 'PASSIVE' });

/** What libgomp does with the variables unset: spin 300,000 times, then sleep (its documented default). */
export const OPENMP_DEFAULT_SPINCOUNT = 300000;

/** The cores this process may use. */
export interface Cores {
  /** CPUs in the process's affinity mask (os.availableParallelism). */
  affinity: number;
  /** The cgroup's CPU quota in cores (cpu.max or cpu.cfs_quota_us / cpu.cfs_period_us), when it has one. */
  quota?: number;
}

/** One variable: its value and who chose it (`openmp`: unset, libgomp's default applies). */
export interface ThreadingSetting {
  name: ThreadingVariable;
  value?: string;
  source: 'user' | 'rnn' | 'openmp';
}

/** The threading of the oneDNN kernels, for `rnn doctor`, `rnn bench` and the environment. */
export interface Threading {
  settings: ThreadingSetting[];
  /** Threads the kernels run on: OMP_NUM_THREADS, else the cores of the affinity mask (libgomp's default). */
  threads: number;
  /** How waiting threads behave, in words. */
  wait: string;
  cores: Cores;
}

/**
 * A cgroup's CPU quota in cores, from cgroup v2's `cpu.max` ("200000 100000", or "max 100000": none) or
 * cgroup v1's cpu.cfs_quota_us (-1: none) and cpu.cfs_period_us; undefined without a quota or a readable file.
 */
export function cgroupQuota(files: { cpuMax?: string; cfsQuota?: string; cfsPeriod?: string }): number | undefined {
  const ratio = (q: string | undefined, p: string | undefined): number | undefined => {
    const quota = Number(q?.trim());
    const period = Number(p?.trim());
    return Number.isFinite(quota) && quota > 0 && Number.isFinite(period) && period > 0 ? quota / period : undefined;
  };
  if (files.cpuMax !== undefined) {
    const [q, p] = files.cpuMax.trim().split(/\s+/);
    return q === 'max' ? undefined : ratio(q, p);
  }
  return ratio(files.cfsQuota, files.cfsPeriod);
}

/**
 * OMP_NUM_THREADS rnn would choose: the quota's whole cores when a cgroup quota allows fewer than the affinity
 * mask has (libgomp counts the mask only, and threads beyond a quota are stopped for the rest of each period
 * while their partners wait), else none (libgomp's default, one thread per core of the mask).
 */
export function defaultThreads(cores: Cores): number | undefined {
  if (cores.quota === undefined) return undefined;
  const q = Math.max(1, Math.floor(cores.quota));
  return q < cores.affinity ? q : undefined;
}

const isSet = (v: string | undefined): v is string => v !== undefined && v.trim() !== '';

/** The settings for `env` (the user's environment, before rnn adds anything) and the cores available. */
export function resolveThreading(env: Readonly<Record<string, string | undefined>>, cores: Cores): Threading {
  const user = (name: ThreadingVariable): ThreadingSetting | undefined =>
    isSet(env[name]) ? { name, value: env[name]!.trim(), source: 'user' } : undefined;
  const openmp = (name: ThreadingVariable): ThreadingSetting => ({ name, source: 'openmp' });
  const waitSet = isSet(env.OMP_WAIT_POLICY) || isSet(env.GOMP_SPINCOUNT);
  const policy: ThreadingSetting =
    user('OMP_WAIT_POLICY') ??
    (waitSet ? openmp('OMP_WAIT_POLICY') : { name: 'OMP_WAIT_POLICY', value: THREADING_DEFAULTS.OMP_WAIT_POLICY, source: 'rnn' });
  const spin = user('GOMP_SPINCOUNT') ?? openmp('GOMP_SPINCOUNT');
  const n = defaultThreads(cores);
  const threadsSetting =
    user('OMP_NUM_THREADS') ?? (n === undefined ? openmp('OMP_NUM_THREADS') : { name: 'OMP_NUM_THREADS', value: String(n), source: 'rnn' });
  // OMP_NUM_THREADS may be a list (nested levels): the first level's count is what the kernels get.
  const first = Number.parseInt(threadsSetting.value ?? '', 10);
  return {
    settings: [policy, spin, threadsSetting],
    threads: Number.isFinite(first) && first > 0 ? first : cores.affinity,
    wait: describeWait(policy.value, spin.value),
    cores,
  };
}

/** libgomp's wait in words: a spin count wins over the policy's default spin (none passive, 300,000 unset, ~forever active). */
export function describeWait(policy: string | undefined, spincount: string | undefined): string {
  const p = policy?.toUpperCase();
  if (spincount !== undefined) return `spin ${spincount} times, then sleep`;
  if (p === 'PASSIVE') return 'sleep at once (passive)';
  if (p === 'ACTIVE') return 'spin (active)';
  return `spin ${OPENMP_DEFAULT_SPINCOUNT.toLocaleString('en-US')} times, then sleep (OpenMP's default)`;
}

/** The variables rnn adds to the environment (its defaults for what the user left unset). */
export function threadingEnv(t: Threading): Record<string, string> {
  return Object.fromEntries(t.settings.filter((s) => s.source === 'rnn').map((s) => [s.name, s.value!]));
}

/** One line, e.g. `2 threads (2 cores), OMP_WAIT_POLICY=PASSIVE (rnn's default): sleep at once (passive)`. */
export function describeThreading(t: Threading): string {
  const cores = `${t.cores.affinity} core${t.cores.affinity === 1 ? '' : 's'}${t.cores.quota === undefined ? '' : `, cgroup quota ${+t.cores.quota.toFixed(2)}`}`;
  const set = t.settings
    .filter((s) => s.source !== 'openmp')
    .map((s) => `${s.name}=${s.value} (${s.source === 'rnn' ? "rnn's default" : 'set by you'})`);
  return `${t.threads} thread${t.threads === 1 ? '' : 's'} (${cores}), ${set.length ? `${set.join(', ')}: ` : ''}${t.wait}`;
}
