/**
 * Everything the CLI takes from the environment, resolved in one function. Core modules receive
 * these values as options and never read process.env themselves.
 */
import * as path from 'node:path';
import * as os from 'node:os';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_IMDB_URL } from '../data/index.js';
import { cgroupQuota, type Cores } from '../kernels/threading.js';

/** Settings taken from environment variables. */
export interface CliEnv {
  /** Root of the rnn package (holds package.json and node_modules). */
  projectDir: string;
  /** Dataset cache (RNN_DATA_DIR, default `./data`). */
  dataDir: string;
  /** Models directory (RNN_MODELS_DIR, default `./models`). */
  modelsDir: string;
  /** Cache for libtensorflow, compiled bindings and decoded reviews (RNN_CACHE_DIR, default `$XDG_CACHE_HOME/rnn` or `~/.cache/rnn`). */
  cacheDir: string;
  /** The decoded reviews of aclImdb archives read before: `reviews/` in {@link CliEnv.cacheDir} (src/data/review-cache.ts). */
  reviewCacheDir: string;
  /** RNN_REQUIRE_NATIVE=1: fail instead of falling back to pure-JS tfjs. */
  requireNative: boolean;
  /** TF_ENABLE_ONEDNN_OPTS as set (undefined when unset). */
  onednnOpts: string | undefined;
  /** RNN_LIBTENSORFLOW: a libtensorflow directory, .tar.gz or .whl to build against. */
  libtensorflow: string | undefined;
  /** RNN_PIP: the pip command (split on spaces), e.g. `python3 -m pip`; undefined means autodetect. */
  pip: string[] | undefined;
  /** How to run npm: npm's own CLI when we run inside an npm script, else `npm` from PATH. */
  npm: string[];
  /** Default dataset source: RNN_IMDB_URL (URL or local path) or the Stanford URL. */
  imdbSource: string;
  /** Whether colours are allowed at all: NO_COLOR unset or empty (no-color.org). */
  colorAllowed: boolean;
  /** RNN_WORKER=1: this process is the worker `rnn train` or `rnn serve` started (internal; see src/cli/worker.ts). */
  worker: boolean;
  /** RNN_SERVE_TOKEN: the bearer token `rnn serve` requires when --token is not given. */
  serveToken: string | undefined;
  /** RNN_DEBUG=1: npm's postinstall shows the native build's output (the CLI's own flag is --debug). */
  debug: boolean;
  /** RNN_SKIP_NATIVE_SETUP set (and not 0): npm's postinstall skips the native backend setup. */
  skipNativeSetup: boolean;
  /** TF_CPP_MIN_LOG_LEVEL as set (undefined when unset): rnn quiets TensorFlow's C++ INFO lines unless it is set. */
  tfLogLevel: string | undefined;
}

/** The package root: three levels above dist/src/cli. */
export function packageRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

export function resolveCliEnv(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): CliEnv {
  const cacheBase = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  const cacheDir = path.resolve(cwd, env.RNN_CACHE_DIR || path.join(cacheBase, 'rnn'));
  const truthy = (v: string | undefined): boolean => v !== undefined && /^(1|true|yes|on)$/i.test(v.trim());
  return {
    projectDir: packageRoot(),
    dataDir: path.resolve(cwd, env.RNN_DATA_DIR || 'data'),
    modelsDir: path.resolve(cwd, env.RNN_MODELS_DIR || 'models'),
    cacheDir,
    reviewCacheDir: path.join(cacheDir, 'reviews'),
    requireNative: truthy(env.RNN_REQUIRE_NATIVE),
    onednnOpts: env.TF_ENABLE_ONEDNN_OPTS,
    libtensorflow: env.RNN_LIBTENSORFLOW || undefined,
    pip: env.RNN_PIP ? env.RNN_PIP.trim().split(/\s+/) : undefined,
    npm: env.npm_execpath && /npm-cli\.js$/.test(env.npm_execpath) ? [process.execPath, env.npm_execpath] : ['npm'],
    imdbSource: env.RNN_IMDB_URL || DEFAULT_IMDB_URL,
    colorAllowed: !env.NO_COLOR,
    worker: env.RNN_WORKER === '1',
    serveToken: env.RNN_SERVE_TOKEN || undefined,
    debug: truthy(env.RNN_DEBUG),
    skipNativeSetup: env.RNN_SKIP_NATIVE_SETUP !== undefined && env.RNN_SKIP_NATIVE_SETUP !== '' && env.RNN_SKIP_NATIVE_SETUP !== '0',
    tfLogLevel: env.TF_CPP_MIN_LOG_LEVEL,
  };
}

/** npm's `nodedir` (headers for node-gyp): from npm's script environment, else `npm config get nodedir`. */
export function npmNodedir(env: NodeJS.ProcessEnv, npm: string[]): string | undefined {
  if (env.npm_config_nodedir) return env.npm_config_nodedir;
  const [cmd, ...pre] = npm;
  const r = spawnSync(cmd!, [...pre, 'config', 'get', 'nodedir'], { encoding: 'utf8', env });
  const v = r.status === 0 ? r.stdout.trim() : '';
  return v && v !== 'undefined' && v !== 'null' ? v : undefined;
}

/**
 * The cores this process may use: its affinity mask (os.availableParallelism) and the tightest CPU quota of its
 * cgroup and the cgroups above it (cgroup v2's cpu.max, else v1's cpu.cfs_quota_us / cpu.cfs_period_us), read
 * from `root` (/sys/fs/cgroup) along the path /proc/self/cgroup names; none where they are absent. A container
 * usually sees its own cgroup as the root, but a process in a nested cgroup (systemd slices, a CI runner's
 * job group) has its quota below it.
 */
export function availableCores(root = '/sys/fs/cgroup', procCgroup = '/proc/self/cgroup'): Cores {
  const read = (file: string): string | undefined => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
  };
  const groups = cgroupPaths(read(procCgroup) ?? '');
  // The cgroup's directory and every one above it, up to the root: the quota that binds is the smallest.
  const upward = (dir: string, rel: string): string[] => {
    const parts = rel.split('/').filter((p) => p !== '' && p !== '.' && p !== '..');
    return parts.map((_, i) => path.join(dir, ...parts.slice(0, parts.length - i))).concat(dir);
  };
  const quotas = [
    ...upward(root, groups.v2 ?? '/').map((d) => cgroupQuota({ cpuMax: read(path.join(d, 'cpu.max')) ?? 'max' })),
    ...upward(path.join(root, 'cpu'), groups.cpu ?? '/').map((d) =>
      cgroupQuota({ cfsQuota: read(path.join(d, 'cpu.cfs_quota_us')), cfsPeriod: read(path.join(d, 'cpu.cfs_period_us')) }),
    ),
  ].filter((q): q is number => q !== undefined);
  const quota = quotas.length > 0 ? Math.min(...quotas) : undefined;
  return { affinity: os.availableParallelism?.() ?? os.cpus().length, ...(quota !== undefined && { quota }) };
}

/** The cgroup paths in /proc/self/cgroup's lines: v2's (`0::/path`) and v1's cpu controller's (`N:cpu,cpuacct:/path`). */
export function cgroupPaths(text: string): { v2?: string; cpu?: string } {
  const out: { v2?: string; cpu?: string } = {};
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] === '') out.v2 = m[2]!;
    else if (m[1]!.split(',').includes('cpu')) out.cpu = m[2]!;
  }
  return out;
}
