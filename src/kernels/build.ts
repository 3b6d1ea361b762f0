/**
 * Builds rnn's optional oneDNN kernels (the addon's source in src/kernels/addon) with node-gyp. Never throws for an
 * expected failure (no oneDNN, no compiler): `npm install` must not fail because of the addon; the result says why.
 *
 * node-gyp writes its output beside the binding.gyp it is given, so the build runs on a copy of the source in a
 * temporary directory under dist/addon, and only the addon itself is kept, as {@link ADDON_FILE}: the compiled
 * TypeScript and the compiled C++ are both under dist/, and nothing under src/ is written or read at run time.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, type OutputSink } from '../util/proc.js';
import { ADDON_FILE, ONEDNN_FIX } from './index.js';
import { exists } from '../util/fs.js';

/** The addon's source (binding.gyp, rnn_dnnl.cc): src/kernels/addon, from dist/src/kernels. Read only by a build. */
export const ADDON_SOURCE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src', 'kernels', 'addon');

/** Options of {@link buildOnednnKernels}. */
export interface KernelBuildOptions {
  /** Node headers directory for node-gyp (npm's `nodedir`); undefined leaves node-gyp's default. */
  nodedir?: string;
  /** How to run npm (its node-gyp is used): `[node, npm-cli.js]` or `['npm']`. */
  npm: string[];
  /** Environment of the build (npm_config_node_gyp, set by npm in scripts, names its node-gyp). */
  env: NodeJS.ProcessEnv;
  /** Receives node-gyp's output. */
  onOutput: OutputSink;
  /** The addon's source directory (default {@link ADDON_SOURCE}). */
  source?: string;
  /** Where the addon goes (default {@link ADDON_FILE}). */
  target?: string;
}

/** Result of a build. */
export interface KernelBuildResult {
  ok: boolean;
  seconds: number;
  /** What failed and how to fix it (when not ok). */
  error?: { what: string; fix: string };
}

/** npm's own node-gyp: npm sets npm_config_node_gyp in scripts; otherwise beside npm's CLI or node. */
export async function findNodeGyp(env: NodeJS.ProcessEnv, npm: string[]): Promise<string | undefined> {
  const candidates = [
    env.npm_config_node_gyp,
    npm.length > 1 ? path.join(path.dirname(npm[1]!), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js') : undefined,
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  for (const c of candidates) if (c && (await exists(c))) return c;
  return undefined;
}

/** The first compiler/linker error worth showing, from node-gyp's output. */
function buildFailure(output: string, code: number): { what: string; fix: string } {
  if (/dnnl\.hpp: No such file|cannot find -ldnnl/.test(output)) {
    return { what: 'oneDNN (libdnnl-dev) is not installed', fix: ONEDNN_FIX };
  }
  const line = output
    .split('\n')
    .find((l) => /error/i.test(l) && !/^gyp (ERR|info)/.test(l))
    ?.trim();
  return {
    what: `compiling the oneDNN addon failed: ${line ?? `node-gyp exit ${code}`}`,
    fix: 'Install g++, make and python3 for node-gyp and libdnnl-dev, then run `npm run setup-native -- --debug`',
  };
}

/**
 * Compiles the addon's source with node-gyp in a temporary directory, checks that the result loads in a fresh
 * process, and moves it to {@link ADDON_FILE}. An earlier build is removed first, as `node-gyp rebuild` cleans: a
 * failed build leaves no addon behind.
 */
export async function buildOnednnKernels(opts: KernelBuildOptions): Promise<KernelBuildResult> {
  const { source = ADDON_SOURCE, target = ADDON_FILE } = opts;
  const t0 = Date.now();
  const done = (error?: { what: string; fix: string }): KernelBuildResult => ({
    ok: !error,
    seconds: Math.round((Date.now() - t0) / 1000),
    error,
  });
  if (!(await exists(path.join(source, 'binding.gyp')))) {
    return done({
      what: `the oneDNN addon's source is not here (${source})`,
      fix: 'Build it from a checkout of rnn, which has src/kernels/addon',
    });
  }
  const nodeGyp = await findNodeGyp(opts.env, opts.npm);
  if (!nodeGyp) return done({ what: "npm's node-gyp was not found", fix: 'Run `npm run setup-native` from npm (it provides node-gyp)' });
  await fsp.rm(target, { force: true });
  await fsp.mkdir(path.dirname(target), { recursive: true });
  // Under the package (not the system's temporary directory): binding.gyp finds node-addon-api from there, and
  // the finished addon is renamed into place on the same filesystem.
  const work = await fsp.mkdtemp(path.join(path.dirname(target), '.build-'));
  try {
    for (const e of await fsp.readdir(source, { withFileTypes: true })) {
      if (e.isFile()) await fsp.copyFile(path.join(source, e.name), path.join(work, e.name));
    }
    const args = [nodeGyp, 'rebuild', `--directory=${work}`];
    if (opts.nodedir) args.push(`--nodedir=${opts.nodedir}`);
    const res = await run(process.execPath, args, { cwd: work, env: opts.env, onOutput: opts.onOutput }).catch((e: Error) => ({
      code: -1,
      output: e.message,
    }));
    if (res.code !== 0) return done(buildFailure(res.output, res.code));
    const built = path.join(work, 'build', 'Release', path.basename(target));
    const probe = await run(process.execPath, ['-e', `require(${JSON.stringify(built)})`], { env: opts.env, onOutput: () => {} });
    if (probe.code !== 0) {
      const why =
        probe.output
          .split('\n')
          .find((l) => /Error/.test(l))
          ?.trim() ?? `exit ${probe.code}`;
      return done({ what: `the oneDNN addon was built but does not load: ${why}`, fix: ONEDNN_FIX });
    }
    await fsp.rename(built, target);
    return done();
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
}
