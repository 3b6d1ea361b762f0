/**
 * Builds one of rnn's native addons with npm's node-gyp. node-gyp writes its output beside the binding.gyp it is
 * given, so the build runs on a copy of the source in a temporary directory beside the target, and only the
 * addon itself is kept, renamed into place once it loads in a fresh process: the compiled TypeScript and the
 * compiled C/C++ are both under dist/, and nothing under src/ is written or read at run time. An earlier build
 * is removed first, as `node-gyp rebuild` cleans, so a failed build leaves no addon behind.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { exists } from './fs.js';
import { run, type OutputSink } from './proc.js';

/** Options of {@link buildAddon}. */
export interface AddonBuildOptions {
  /** The addon's source directory (binding.gyp and its sources). */
  source: string;
  /** Where the built `.node` goes (its name is the binding's target name). */
  target: string;
  /** Node headers directory for node-gyp (npm's `nodedir`); undefined leaves node-gyp's default. */
  nodedir?: string;
  /** How to run npm (its node-gyp is used): `[node, npm-cli.js]` or `['npm']`. */
  npm: string[];
  /** Environment of the build (npm_config_node_gyp, set by npm in scripts, names its node-gyp). */
  env: NodeJS.ProcessEnv;
  /** Receives node-gyp's output. */
  onOutput: OutputSink;
}

/** How a build ended: built and loading, or where it stopped with the output that says why. */
export type AddonBuildResult =
  | { ok: true; seconds: number }
  | { ok: false; seconds: number; stage: 'no-source' | 'no-node-gyp' | 'compile' | 'load'; output: string; code?: number };

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

/** The first compiler or linker error line of node-gyp's output, if any. */
export function firstBuildError(output: string): string | undefined {
  return output
    .split('\n')
    .find((l) => /error/i.test(l) && !/^gyp (ERR|info)/.test(l))
    ?.trim();
}

/** Compiles the addon, checks that it loads in a fresh process, and moves it to `target`. Never throws for a failed build. */
export async function buildAddon(o: AddonBuildOptions): Promise<AddonBuildResult> {
  const t0 = Date.now();
  const seconds = (): number => Math.round((Date.now() - t0) / 1000);
  if (!(await exists(path.join(o.source, 'binding.gyp')))) return { ok: false, seconds: seconds(), stage: 'no-source', output: '' };
  const nodeGyp = await findNodeGyp(o.env, o.npm);
  if (!nodeGyp) return { ok: false, seconds: seconds(), stage: 'no-node-gyp', output: '' };
  await fsp.rm(o.target, { force: true });
  await fsp.mkdir(path.dirname(o.target), { recursive: true });
  // Under the package (not the system's temporary directory): binding.gyp finds node-addon-api from there, and
  // the finished addon is renamed into place on the same filesystem.
  const work = await fsp.mkdtemp(path.join(path.dirname(o.target), '.build-'));
  try {
    for (const e of await fsp.readdir(o.source, { withFileTypes: true })) {
      if (e.isFile()) await fsp.copyFile(path.join(o.source, e.name), path.join(work, e.name));
    }
    const args = [nodeGyp, 'rebuild', `--directory=${work}`];
    if (o.nodedir) args.push(`--nodedir=${o.nodedir}`);
    const res = await run(process.execPath, args, { cwd: work, env: o.env, onOutput: o.onOutput }).catch((e: Error) => ({
      code: -1,
      output: e.message,
    }));
    if (res.code !== 0) return { ok: false, seconds: seconds(), stage: 'compile', output: res.output, code: res.code };
    const built = path.join(work, 'build', 'Release', path.basename(o.target));
    const probe = await run(process.execPath, ['-e', `require(${JSON.stringify(built)})`], { env: o.env, onOutput: () => {} });
    if (probe.code !== 0) return { ok: false, seconds: seconds(), stage: 'load', output: probe.output, code: probe.code };
    await fsp.rename(built, o.target);
    return { ok: true, seconds: seconds() };
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
}
