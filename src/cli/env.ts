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
 * The cores this process may use: its affinity mask (os.availableParallelism) and its cgroup's CPU quota
 * (cgroup v2's cpu.max, else v1's cpu.cfs_quota_us), read from /sys/fs/cgroup; none where they are absent.
 */
export function availableCores(root = '/sys/fs/cgroup'): Cores {
  const read = (file: string): string | undefined => {
    try {
      return readFileSync(path.join(root, file), 'utf8');
    } catch {
      return undefined;
    }
  };
  const cpuMax = read('cpu.max');
  const quota =
    cpuMax !== undefined
      ? cgroupQuota({ cpuMax })
      : cgroupQuota({ cfsQuota: read('cpu/cpu.cfs_quota_us'), cfsPeriod: read('cpu/cpu.cfs_period_us') });
  return { affinity: os.availableParallelism?.() ?? os.cpus().length, ...(quota !== undefined && { quota }) };
}
