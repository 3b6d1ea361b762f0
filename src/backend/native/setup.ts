/**
 * Makes `@tensorflow/tfjs-node` usable when its own install could not download libtensorflow:
 * re-adds the package if npm dropped it, provisions libtensorflow (see libtensorflow.ts),
 * builds the binding from source (or restores it from the cache) and checks that it loads.
 * Returns a status; never prints and never exits.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { createHash } from 'node:crypto';
import { UserError, isUserError, type ErrorCode } from '../../errors.js';
import { exists, linkOrCopy, readJsonIfExists, tempSibling, writeJsonAtomic } from '../../util/fs.js';
import { provisionLibtensorflow, stageIntoTfjsNode, type ProgressEvent } from './libtensorflow.js';
import { run, type OutputSink } from '../../util/proc.js';

export const TFJS_NODE_VERSION = '4.22.0';

/** Options of {@link setupNative}; defaults are resolved by the caller (`resolveSetupOptions`). */
export interface NativeSetupOptions {
  /** The project root whose node_modules holds tfjs-node. */
  projectDir: string;
  /** A libtensorflow directory, .tar.gz or .whl named by the user (RNN_LIBTENSORFLOW). */
  userSource?: string;
  /** Cache root for extracted libtensorflow and built bindings. */
  cacheDir: string;
  /** The command that runs pip; undefined means autodetect. */
  pip?: string[];
  /** The command that runs npm, e.g. `[node, npm-cli.js]` inside npm scripts or `['npm']`. */
  npm: string[];
  /** Node headers directory for node-gyp (npm's `nodedir`); undefined leaves node-gyp's default. */
  nodedir?: string;
  /** Set up again even when a working binding is present. */
  force: boolean;
  /** Environment for child processes. */
  env: NodeJS.ProcessEnv;
  /** Receives progress lines. */
  onProgress: (e: ProgressEvent) => void;
  /** Receives child process output (pip, compiler). */
  onOutput: OutputSink;
}

/** What the last native setup did; kept in `node_modules/.cache/rnn/native-status.json` for `rnn doctor`. */
export interface NativeStatus {
  /** Status file format. */
  formatVersion: 1;
  /** True when `@tensorflow/tfjs-node` loads and runs an op. */
  ok: boolean;
  /** Who produced the binding: tfjs-node's own install (CDN/mirror) or rnn's setup. */
  via: 'tfjs-node install' | 'rnn setup-native' | 'none';
  /** Where libtensorflow came from. */
  libtensorflowSource?: string;
  /** TensorFlow version reported by the loaded binding. */
  tfVersion?: string;
  /** True when the binding was restored from the cache instead of compiled. */
  bindingFromCache?: boolean;
  /** Why it failed and how to fix it (when `ok` is false). */
  error?: { code?: ErrorCode; what: string; fix: string };
  /** When this status was written. */
  at: string;
  /** Seconds the setup took. */
  seconds: number;
}

export function statusFile(projectDir: string): string {
  return path.join(projectDir, 'node_modules', '.cache', 'rnn', 'native-status.json');
}

export async function readNativeStatus(projectDir: string): Promise<NativeStatus | undefined> {
  return readJsonIfExists<NativeStatus>(statusFile(projectDir));
}

/** Result of loading tfjs-node in a child process. */
export interface BindingProbe {
  ok: boolean;
  backend?: string;
  tfVersion?: string;
  error?: string;
}

const PROBE = `
try {
  const tf = require('@tensorflow/tfjs-node');
  const sum = tf.tensor1d([1, 2, 3]).sum().dataSync()[0];
  if (sum !== 6) throw new Error('tfjs-node computed ' + sum + ' for 1+2+3');
  process.stdout.write(JSON.stringify({ ok: true, backend: tf.getBackend(), tfVersion: tf.backend().binding.TF_Version }));
} catch (e) {
  process.stdout.write(JSON.stringify({ ok: false, error: String(e && e.message || e).split('\\n')[0] }));
}`;

/** Loads tfjs-node in a child process (a broken native library cannot take this process down). */
export async function probeBinding(projectDir: string, env: NodeJS.ProcessEnv): Promise<BindingProbe> {
  const res = await run(process.execPath, ['-e', PROBE], {
    cwd: projectDir,
    env: { ...env, TF_CPP_MIN_LOG_LEVEL: '2' },
    onOutput: () => {},
  });
  const json = res.output
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{"ok"'));
  if (json) {
    const start = json.indexOf('{"ok"');
    try {
      return JSON.parse(json.slice(start)) as BindingProbe;
    } catch {
      /* fall through */
    }
  }
  return { ok: false, error: `loading tfjs-node crashed (exit ${res.code})` };
}

/** Runs the setup and records the status; never throws for setup failures (they are in the status). */
export async function setupNative(opts: NativeSetupOptions): Promise<NativeStatus> {
  const started = Date.now();
  const done = async (s: Omit<NativeStatus, 'formatVersion' | 'at' | 'seconds'>): Promise<NativeStatus> => {
    const status: NativeStatus = {
      formatVersion: 1,
      ...s,
      at: new Date().toISOString(),
      seconds: Math.round((Date.now() - started) / 100) / 10,
    };
    await writeJsonAtomic(statusFile(opts.projectDir), status);
    return status;
  };
  try {
    const tfjsNodeDir = path.join(opts.projectDir, 'node_modules', '@tensorflow', 'tfjs-node');
    if (!opts.force && (await exists(path.join(tfjsNodeDir, 'package.json')))) {
      opts.onProgress({ step: 'check', message: 'checking the installed @tensorflow/tfjs-node' });
      const probe = await probeBinding(opts.projectDir, opts.env);
      if (probe.ok) {
        const previous = await readNativeStatus(opts.projectDir);
        const ours = previous?.ok && previous.via === 'rnn setup-native';
        return done({
          ok: true,
          via: ours ? 'rnn setup-native' : 'tfjs-node install',
          libtensorflowSource: ours ? previous.libtensorflowSource : 'tfjs-node install (libtensorflow CDN or mirror)',
          tfVersion: probe.tfVersion,
          bindingFromCache: ours ? previous.bindingFromCache : undefined,
        });
      }
    }
    await ensureTfjsNodePackage(tfjsNodeDir, opts);
    const lib = await provisionLibtensorflow({ ...opts, userSource: opts.userSource });
    opts.onProgress({ step: 'stage', message: `placing libtensorflow into ${path.relative(opts.projectDir, tfjsNodeDir)}/deps` });
    await stageIntoTfjsNode(lib, tfjsNodeDir);
    const fromCache = await buildBinding(tfjsNodeDir, lib.source + (lib.version ?? ''), opts);
    opts.onProgress({ step: 'verify', message: 'loading the native backend' });
    const probe = await probeBinding(opts.projectDir, opts.env);
    if (!probe.ok) {
      throw new UserError(
        'NATIVE_BINDING_BROKEN',
        `the tfjs-node binding built against libtensorflow from ${lib.source} does not load: ${probe.error}`,
        'Run `npm run setup-native -- --force` to rebuild; if it persists, set RNN_LIBTENSORFLOW to another libtensorflow',
      );
    }
    return done({
      ok: true,
      via: 'rnn setup-native',
      libtensorflowSource: lib.source,
      tfVersion: probe.tfVersion,
      bindingFromCache: fromCache,
    });
  } catch (e) {
    const err = isUserError(e)
      ? { code: e.code, what: e.message, fix: e.fix }
      : {
          code: 'NATIVE_SETUP_FAILED' as const,
          what: `native setup failed: ${(e as Error)?.message ?? String(e)}`,
          fix: 'Run `npm run setup-native -- --debug` to see the details',
        };
    return done({ ok: false, via: 'none', error: err });
  }
}

/** npm drops an optional dependency whose install script failed; put it back without its script. */
async function ensureTfjsNodePackage(tfjsNodeDir: string, opts: NativeSetupOptions): Promise<void> {
  if (await exists(path.join(tfjsNodeDir, 'package.json'))) return;
  opts.onProgress({ step: 'npm', message: `adding @tensorflow/tfjs-node@${TFJS_NODE_VERSION} without its download script` });
  const [cmd, ...pre] = opts.npm;
  const res = await run(cmd!, [...pre, 'install', '--ignore-scripts', '--no-save', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: opts.projectDir,
    env: opts.env,
    onOutput: opts.onOutput,
  }).catch((e: Error) => ({ code: -1, output: e.message }));
  if (res.code !== 0 || !(await exists(path.join(tfjsNodeDir, 'package.json')))) {
    throw new UserError(
      'NATIVE_INSTALL_FAILED',
      `could not add @tensorflow/tfjs-node to node_modules (npm exit ${res.code}): ${res.output.trim().split('\n').at(-1) ?? ''}`,
      'Run `npm install --ignore-scripts` and then `npm run setup-native`',
    );
  }
}

/** Compiles tfjs-node's binding, or restores it from the cache; returns true when restored. */
async function buildBinding(tfjsNodeDir: string, libKey: string, opts: NativeSetupOptions): Promise<boolean> {
  const pkg = JSON.parse(await fsp.readFile(path.join(tfjsNodeDir, 'package.json'), 'utf8')) as { version: string };
  const key = createHash('sha256')
    .update([pkg.version, libKey, os.platform(), os.arch(), process.versions.napi].join('\n'))
    .digest('hex')
    .slice(0, 16);
  const cacheEntry = path.join(opts.cacheDir, 'bindings', `tfjs-node-${pkg.version}-${key}`);
  const marker = await readJsonIfExists<{ relPath: string }>(path.join(cacheEntry, 'binding.json'));
  if (marker && (await exists(path.join(cacheEntry, 'tfjs_binding.node')))) {
    const dest = path.join(tfjsNodeDir, marker.relPath);
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    // Copy beside and rename over: a running rnn has the old binding mapped, and overwriting it in place
    // would crash that process (SIGBUS); a rename leaves its inode alone.
    const tmp = tempSibling(dest);
    await fsp.copyFile(path.join(cacheEntry, 'tfjs_binding.node'), tmp);
    await fsp.rename(tmp, dest);
    const probe = await probeBinding(opts.projectDir, opts.env);
    if (probe.ok) {
      opts.onProgress({ step: 'compile', message: `reused the binding compiled earlier (${cacheEntry})` });
      return true;
    }
  }
  opts.onProgress({ step: 'compile', message: 'compiling the tfjs-node binding from source (about 20 s)' });
  // Unlink (never overwrite) a binding a running process may have mapped; the build writes a new file.
  const old = await findBuiltBinding(tfjsNodeDir);
  if (old) await fsp.rm(path.join(tfjsNodeDir, old), { force: true });
  const nodePreGyp = path.join(opts.projectDir, 'node_modules', '@mapbox', 'node-pre-gyp', 'bin', 'node-pre-gyp');
  const binDir = path.join(opts.projectDir, 'node_modules', '.bin');
  const env: NodeJS.ProcessEnv = { ...opts.env, PATH: `${binDir}${path.delimiter}${opts.env.PATH ?? ''}` };
  if (opts.nodedir) env.npm_config_nodedir = opts.nodedir;
  const res = await run(process.execPath, [nodePreGyp, 'install', '--build-from-source'], {
    cwd: tfjsNodeDir,
    env,
    onOutput: opts.onOutput,
  });
  if (res.code !== 0) {
    const reason =
      res.output
        .split('\n')
        .filter((l) => /error/i.test(l))
        .slice(-2)
        .join(' ')
        .trim() || `exit ${res.code}`;
    throw new UserError(
      'NATIVE_BUILD_FAILED',
      `compiling the tfjs-node binding failed: ${reason}`,
      'Install a C++ toolchain and python3 for node-gyp (e.g. `apt-get install g++ make python3`), then run `npm run setup-native`',
    );
  }
  const built = await findBuiltBinding(tfjsNodeDir);
  if (!built)
    throw new UserError(
      'NATIVE_BUILD_FAILED',
      'node-pre-gyp reported success but no tfjs_binding.node was built',
      'Run `npm run setup-native -- --force --debug`',
    );
  await fsp.mkdir(cacheEntry, { recursive: true });
  await linkOrCopy(path.join(tfjsNodeDir, built), path.join(cacheEntry, 'tfjs_binding.node'));
  await writeJsonAtomic(path.join(cacheEntry, 'binding.json'), { relPath: built });
  return false;
}

async function findBuiltBinding(tfjsNodeDir: string): Promise<string | undefined> {
  const libDir = path.join(tfjsNodeDir, 'lib');
  for (const d of (await fsp.readdir(libDir).catch(() => [] as string[])).sort().reverse()) {
    const rel = path.join('lib', d, 'tfjs_binding.node');
    if (await exists(path.join(tfjsNodeDir, rel))) return rel;
  }
  return undefined;
}
