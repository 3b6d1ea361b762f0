/**
 * Finding libtensorflow (the TensorFlow C library that tfjs-node's binding links) without
 * tfjs-node's CDN: from a directory, tarball or wheel the user names, or from the
 * `tensorflow-cpu` wheel fetched with `pip download`. Results are cached per version.
 */
import { promises as fsp, createWriteStream } from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { pipeline } from 'node:stream/promises';
import type yauzl from 'yauzl';
import { UserError } from '../../errors.js';
import { exists, linkOrCopyTree, replaceDir, tempSibling, writeDirStaged, writeJsonAtomic, readJsonIfExists } from '../../util/fs.js';
import { run, type OutputSink } from '../../util/proc.js';

/** The wheel whose shared libraries we verified against tfjs-node 4.22.0 (4034 of 4043 specs pass). */
export const TF_WHEEL = { name: 'tensorflow-cpu', version: '2.21.0' } as const;

/** Header directories (inside a wheel's `tensorflow/include`) that tfjs-node's binding needs. */
const WHEEL_HEADER_PREFIXES = [
  'tensorflow/include/tensorflow/c/',
  'tensorflow/include/tensorflow/core/platform/',
  'tensorflow/include/tsl/platform/',
  'tensorflow/include/xla/tsl/c/',
];
/** The shared libraries inside a `tensorflow`/`tensorflow-cpu` wheel. */
const WHEEL_LIBS = ['tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2'];

/** A libtensorflow laid out as `lib/` (shared libraries) and `include/` (C headers). */
export interface Libtensorflow {
  /** Directory holding the shared libraries. */
  libDir: string;
  /** Directory holding `tensorflow/c/c_api.h`. */
  includeDir: string;
  /** Where it came from, for `rnn doctor`: e.g. `pip download tensorflow-cpu==2.21.0`. */
  source: string;
  /** TensorFlow version when known (from the wheel or tarball name). */
  version?: string;
  /** True when it was taken from the cache without downloading or extracting. */
  cached: boolean;
}

/** Progress of a long step. */
export interface ProgressEvent {
  /** Short step name: `download`, `extract`, `stage`, `compile`, `verify`, … */
  step: string;
  /** One line for a human. */
  message: string;
}

/** Options of {@link provisionLibtensorflow}. */
export interface ProvisionOptions {
  /** A directory, `.tar.gz` or `.whl` the user named (RNN_LIBTENSORFLOW); when set, only this is tried. */
  userSource?: string;
  /** Cache root; libtensorflow goes to `<cacheDir>/libtensorflow/<key>`. */
  cacheDir: string;
  /** The command that runs pip (e.g. `['python3', '-m', 'pip']`); undefined means autodetect. */
  pip?: string[];
  /** Environment for child processes. */
  env: NodeJS.ProcessEnv;
  /** Receives progress lines. */
  onProgress: (e: ProgressEvent) => void;
  /** Receives child process output (pip's progress bar). */
  onOutput: OutputSink;
}

/** The name tfjs-node's install script checks for, and the aliases its binding links against. */
export const TFJS_NODE_LIB_ALIASES = {
  main: ['libtensorflow.so', 'libtensorflow.so.2', 'libtensorflow.so.2.9.1'],
  framework: ['libtensorflow_framework.so', 'libtensorflow_framework.so.2', 'libtensorflow_framework.so.2.9.1'],
};

/** Cache entry marker, written last so a half-written entry is never used. */
interface CacheMarker {
  source: string;
  version?: string;
  createdAt: string;
}

function platformKey(): string {
  return `${os.platform()}-${os.arch()}`;
}

/**
 * Returns a libtensorflow to build against: from `userSource` if given, else from the cache,
 * else from `pip download tensorflow-cpu==<pinned>`. Throws a UserError saying what failed.
 */
export async function provisionLibtensorflow(opts: ProvisionOptions): Promise<Libtensorflow> {
  if (opts.userSource !== undefined && opts.userSource !== '') {
    return fromUserSource(opts.userSource, opts);
  }
  const key = `${TF_WHEEL.name}-${TF_WHEEL.version}-${platformKey()}`;
  const entry = path.join(opts.cacheDir, 'libtensorflow', key);
  const cached = await readCache(entry);
  if (cached) {
    opts.onProgress({ step: 'cache', message: `using cached libtensorflow ${TF_WHEEL.version} from ${entry}` });
    return cached;
  }
  if (os.platform() !== 'linux' || os.arch() !== 'x64') {
    throw new UserError(
      'NATIVE_PLATFORM_UNSUPPORTED',
      `no libtensorflow for ${platformKey()}: the pip fallback only knows Linux x86_64 wheels`,
      'Set RNN_LIBTENSORFLOW to a libtensorflow directory or .tar.gz for your platform and run `npm run setup-native`',
    );
  }
  const pip = opts.pip ?? (await findPip(opts.env));
  const pipWorks = await run(pip[0]!, [...pip.slice(1), '--version'], { env: opts.env, onOutput: () => {} }).then(
    (r) => r.code === 0,
    () => false,
  );
  if (!pipWorks) {
    throw new UserError(
      'NATIVE_PIP_MISSING',
      `the pip command \`${pip.join(' ')}\` does not run`,
      'Set RNN_PIP to a working pip (e.g. `python3 -m pip`), or set RNN_LIBTENSORFLOW to a libtensorflow directory, .tar.gz or .whl, then run `npm run setup-native`',
    );
  }
  const downloadDir = tempSibling(entry) + '-wheel';
  await fsp.mkdir(downloadDir, { recursive: true });
  try {
    const spec = `${TF_WHEEL.name}==${TF_WHEEL.version}`;
    opts.onProgress({ step: 'download', message: `downloading ${spec} with pip (about 270 MB, once; cached afterwards)` });
    const [cmd, ...pre] = pip;
    const res = await run(cmd!, [...pre, 'download', '--no-deps', '--only-binary=:all:', '--progress-bar', 'on', spec, '-d', downloadDir], {
      env: opts.env,
      onOutput: opts.onOutput,
    });
    if (res.code !== 0) {
      throw new UserError(
        'NATIVE_DOWNLOAD_FAILED',
        `\`${pip.join(' ')} download ${spec}\` failed (exit ${res.code}): ${lastLine(res.output)}`,
        'Check that pip reaches a package index, or set RNN_LIBTENSORFLOW to a libtensorflow directory, .tar.gz or .whl and run `npm run setup-native`',
      );
    }
    const wheel = (await fsp.readdir(downloadDir)).find((f) => f.endsWith('.whl'));
    if (!wheel) {
      throw new UserError(
        'NATIVE_DOWNLOAD_FAILED',
        `pip download ${spec} produced no wheel in ${downloadDir}`,
        'Run it by hand to see why, or set RNN_LIBTENSORFLOW',
      );
    }
    return await extractWheelToCache(path.join(downloadDir, wheel), entry, `pip download ${spec}`, TF_WHEEL.version, opts);
  } finally {
    await fsp.rm(downloadDir, { recursive: true, force: true });
  }
}

async function readCache(entry: string): Promise<Libtensorflow | undefined> {
  const marker = await readJsonIfExists<CacheMarker>(path.join(entry, 'rnn-cache.json'));
  if (!marker) return undefined;
  const libDir = path.join(entry, 'lib');
  const includeDir = path.join(entry, 'include');
  if (!(await exists(path.join(includeDir, 'tensorflow/c/c_api.h')))) return undefined;
  if (!(await findMainLib(libDir))) return undefined;
  return { libDir, includeDir, source: marker.source, version: marker.version, cached: true };
}

/** Finds pip: `RNN_PIP`-style overrides are resolved by the caller; here pip3, pip, python3 -m pip. */
export async function findPip(env: NodeJS.ProcessEnv): Promise<string[]> {
  const candidates = [['pip3'], ['pip'], ['python3', '-m', 'pip'], ['python', '-m', 'pip']];
  for (const c of candidates) {
    const [cmd, ...args] = c;
    const r = await run(cmd!, [...args, '--version'], { env, onOutput: () => {} }).catch(() => undefined);
    if (r && r.code === 0) return c;
  }
  throw new UserError(
    'NATIVE_PIP_MISSING',
    'tfjs-node could not download libtensorflow and no pip was found to fetch the tensorflow-cpu wheel instead',
    'Install python3 with pip (e.g. `apt-get install python3-pip`), or set RNN_LIBTENSORFLOW to a libtensorflow directory, .tar.gz or .whl, then run `npm run setup-native`',
  );
}

async function fromUserSource(src: string, opts: ProvisionOptions): Promise<Libtensorflow> {
  const abs = path.resolve(src);
  const stat = await fsp.stat(abs).catch(() => undefined);
  const fix =
    'Point RNN_LIBTENSORFLOW at a libtensorflow directory (lib/ and include/), its .tar.gz, or a tensorflow-cpu .whl, or unset it to use pip, then run `npm run setup-native`';
  if (!stat) throw new UserError('NATIVE_LIBTENSORFLOW_NOT_FOUND', `RNN_LIBTENSORFLOW=${src} does not exist`, fix);
  if (stat.isDirectory()) {
    // A libtensorflow release (lib/ + include/) or an unpacked wheel (tensorflow/…).
    if ((await exists(path.join(abs, 'include/tensorflow/c/c_api.h'))) && (await findMainLib(path.join(abs, 'lib')))) {
      return { libDir: path.join(abs, 'lib'), includeDir: path.join(abs, 'include'), source: `RNN_LIBTENSORFLOW=${abs}`, cached: false };
    }
    if (
      (await exists(path.join(abs, 'tensorflow/libtensorflow_cc.so.2'))) &&
      (await exists(path.join(abs, 'tensorflow/include/tensorflow/c/c_api.h')))
    ) {
      return {
        libDir: path.join(abs, 'tensorflow'),
        includeDir: path.join(abs, 'tensorflow/include'),
        source: `RNN_LIBTENSORFLOW=${abs}`,
        cached: false,
      };
    }
    throw new UserError(
      'NATIVE_LIBTENSORFLOW_INVALID',
      `RNN_LIBTENSORFLOW=${src} holds no libtensorflow (expected lib/libtensorflow*.so* and include/tensorflow/c/c_api.h)`,
      fix,
    );
  }
  const entry = path.join(opts.cacheDir, 'libtensorflow', `user-${path.basename(abs)}-${stat.size}-${Math.floor(stat.mtimeMs)}`);
  const cached = await readCache(entry);
  if (cached) return { ...cached, source: `RNN_LIBTENSORFLOW=${abs}` };
  if (abs.endsWith('.whl')) {
    return extractWheelToCache(abs, entry, `RNN_LIBTENSORFLOW=${abs}`, versionFromName(abs), opts);
  }
  if (/\.(tar\.gz|tgz)$/.test(abs)) {
    return extractTarballToCache(abs, entry, `RNN_LIBTENSORFLOW=${abs}`, opts);
  }
  throw new UserError('NATIVE_LIBTENSORFLOW_INVALID', `RNN_LIBTENSORFLOW=${src} is neither a directory, a .tar.gz nor a .whl`, fix);
}

function versionFromName(file: string): string | undefined {
  return /-(\d+\.\d+\.\d+)[-.]/.exec(path.basename(file))?.[1];
}

async function extractTarballToCache(file: string, entry: string, source: string, opts: ProvisionOptions): Promise<Libtensorflow> {
  const staged = tempSibling(entry);
  await fsp.mkdir(staged, { recursive: true });
  try {
    opts.onProgress({ step: 'extract', message: `extracting ${file}` });
    try {
      const tar = await import('tar');
      await tar.x({ file, cwd: staged, strict: true });
    } catch (e) {
      throw new UserError(
        'NATIVE_LIBTENSORFLOW_INVALID',
        `RNN_LIBTENSORFLOW=${file} could not be extracted: ${(e as Error).message}`,
        'Download the libtensorflow tarball again',
      );
    }
    if (!(await exists(path.join(staged, 'include/tensorflow/c/c_api.h'))) || !(await findMainLib(path.join(staged, 'lib')))) {
      throw new UserError(
        'NATIVE_LIBTENSORFLOW_INVALID',
        `${file} is not a libtensorflow tarball (no lib/libtensorflow*.so* and include/tensorflow/c/c_api.h)`,
        'Use a libtensorflow C library release',
      );
    }
    await writeJsonAtomic(path.join(staged, 'rnn-cache.json'), {
      source,
      version: versionFromName(file),
      createdAt: new Date().toISOString(),
    } satisfies CacheMarker);
    await fsp.mkdir(path.dirname(entry), { recursive: true });
    await replaceDir(staged, entry);
  } finally {
    await fsp.rm(staged, { recursive: true, force: true });
  }
  return {
    libDir: path.join(entry, 'lib'),
    includeDir: path.join(entry, 'include'),
    source,
    version: versionFromName(file),
    cached: false,
  };
}

/** Extracts the two shared libraries and the C headers of a TensorFlow wheel into a cache entry. */
async function extractWheelToCache(
  wheel: string,
  entry: string,
  source: string,
  version: string | undefined,
  opts: ProvisionOptions,
): Promise<Libtensorflow> {
  const staged = tempSibling(entry);
  await fsp.mkdir(path.join(staged, 'lib'), { recursive: true });
  try {
    opts.onProgress({ step: 'extract', message: `extracting libtensorflow and C headers from ${path.basename(wheel)}` });
    const wanted = (name: string): string | undefined => {
      if (WHEEL_LIBS.includes(name)) return path.join(staged, 'lib', path.basename(name));
      if (WHEEL_HEADER_PREFIXES.some((p) => name.startsWith(p)) && !name.endsWith('/')) {
        return path.join(staged, 'include', name.slice('tensorflow/include/'.length));
      }
      return undefined;
    };
    const count = await unzipSelected(wheel, wanted);
    const missing = [];
    for (const lib of WHEEL_LIBS) if (!(await exists(path.join(staged, 'lib', path.basename(lib))))) missing.push(lib);
    if (!(await exists(path.join(staged, 'include/tensorflow/c/c_api.h')))) missing.push('tensorflow/include/tensorflow/c/c_api.h');
    if (missing.length > 0) {
      throw new UserError(
        'NATIVE_LIBTENSORFLOW_INVALID',
        `${path.basename(wheel)} lacks ${missing.join(', ')}`,
        `Use the ${TF_WHEEL.name}==${TF_WHEEL.version} wheel`,
      );
    }
    opts.onProgress({ step: 'extract', message: `extracted ${count} files` });
    await writeJsonAtomic(path.join(staged, 'rnn-cache.json'), {
      source,
      version,
      createdAt: new Date().toISOString(),
    } satisfies CacheMarker);
    await fsp.mkdir(path.dirname(entry), { recursive: true });
    await replaceDir(staged, entry);
  } finally {
    await fsp.rm(staged, { recursive: true, force: true });
  }
  return { libDir: path.join(entry, 'lib'), includeDir: path.join(entry, 'include'), source, version, cached: false };
}

/** Extracts the zip entries for which `target(name)` returns a path; returns how many. */
async function unzipSelected(zipFile: string, target: (name: string) => string | undefined): Promise<number> {
  const { default: unzip } = await import('yauzl'); // loaded when a wheel is unpacked, not at every start-up
  return new Promise((resolve, reject) => {
    unzip.open(zipFile, { lazyEntries: true, validateEntrySizes: true }, (err, zip) => {
      if (err || !zip) {
        reject(
          new UserError(
            'NATIVE_LIBTENSORFLOW_INVALID',
            `${zipFile} is not a readable wheel (zip): ${err?.message ?? 'unknown error'}`,
            'Download it again',
          ),
        );
        return;
      }
      let count = 0;
      // A damaged wheel: yauzl's own errors (sizes, CRCs, truncation) are the file's fault, not rnn's.
      const damaged = (e: Error): void =>
        reject(new UserError('NATIVE_LIBTENSORFLOW_INVALID', `${zipFile} is damaged: ${e.message}`, 'Download it again', { cause: e }));
      zip.on('error', damaged);
      zip.on('end', () => resolve(count));
      zip.on('entry', (entry: yauzl.Entry) => {
        const dest = target(entry.fileName);
        if (!dest) {
          zip.readEntry();
          return;
        }
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) {
            damaged(e ?? new Error(`cannot read ${entry.fileName}`));
            return;
          }
          fsp
            .mkdir(path.dirname(dest), { recursive: true })
            .then(() => pipeline(stream, createWriteStream(dest)))
            .then(() => {
              count++;
              zip.readEntry();
            }, reject);
        });
      });
      zip.readEntry();
    });
  });
}

/** The main library file in a lib directory: `libtensorflow_cc.so.2` (wheel) or `libtensorflow.so*` (C release). */
export async function findMainLib(libDir: string): Promise<string | undefined> {
  const files = await fsp.readdir(libDir).catch(() => [] as string[]);
  return files.find((f) => f === 'libtensorflow_cc.so.2') ?? files.find((f) => /^libtensorflow\.so(\.\d+)*$/.test(f));
}

function lastLine(output: string): string {
  const lines = output
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.at(-1) ?? 'no output';
}

/**
 * Places libtensorflow into tfjs-node's `deps/` (hard links where possible), under the file names
 * its install script checks and its binding links against. The new `deps/` is filled beside the old one and
 * renamed over it, so that an rnn process starting meanwhile finds one or the other: removing it first left
 * it missing while the tree was linked again, and such a process failed to load libtensorflow.
 */
export async function stageIntoTfjsNode(lib: Libtensorflow, tfjsNodeDir: string): Promise<void> {
  await writeDirStaged(path.join(tfjsNodeDir, 'deps'), (staged) => fillDeps(lib, staged));
}

async function fillDeps(lib: Libtensorflow, deps: string): Promise<void> {
  const libOut = path.join(deps, 'lib');
  await linkOrCopyTree(lib.libDir, libOut);
  await linkOrCopyTree(lib.includeDir, path.join(deps, 'include'));
  const names = await fsp.readdir(libOut);
  const main =
    names.find((f) => f === 'libtensorflow_cc.so.2') ??
    names.find((f) => /^libtensorflow\.so\.\d+$/.test(f)) ??
    (await findMainLib(libOut));
  const framework =
    names.find((f) => f === 'libtensorflow_framework.so.2') ?? names.find((f) => /^libtensorflow_framework\.so(\.\d+)*$/.test(f));
  if (!main || !framework) {
    throw new UserError(
      'NATIVE_LIBTENSORFLOW_INVALID',
      `libtensorflow from ${lib.source} lacks libtensorflow or libtensorflow_framework`,
      'Use a complete libtensorflow release or the tensorflow-cpu wheel',
    );
  }
  for (const [target, aliases] of [
    [main, TFJS_NODE_LIB_ALIASES.main],
    [framework, TFJS_NODE_LIB_ALIASES.framework],
  ] as const) {
    for (const alias of aliases) {
      if (!names.includes(alias)) await fsp.symlink(target, path.join(libOut, alias));
    }
  }
}
