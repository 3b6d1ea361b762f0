/**
 * Builds rnn's optional oneDNN kernels (the addon's source in src/kernels/addon) with node-gyp, into
 * {@link ADDON_FILE} under dist/ (src/util/addon.ts says how). Never throws for an expected failure (no oneDNN,
 * no compiler): `npm install` must not fail because of the addon; the result says why.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAddon, firstBuildError, type AddonBuildOptions } from '../util/addon.js';
import { ADDON_FILE, ONEDNN_FIX } from './index.js';

/** The addon's source (binding.gyp, rnn_dnnl.cc): src/kernels/addon, from dist/src/kernels. Read only by a build. */
export const ADDON_SOURCE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src', 'kernels', 'addon');

/** Options of {@link buildOnednnKernels}: those of a build, the source and target defaulting to the addon's. */
export type KernelBuildOptions = Omit<AddonBuildOptions, 'source' | 'target'> & Partial<Pick<AddonBuildOptions, 'source' | 'target'>>;

/** Result of a build. */
export interface KernelBuildResult {
  ok: boolean;
  seconds: number;
  /** What failed and how to fix it (when not ok). */
  error?: { what: string; fix: string };
}

/** Compiles the oneDNN addon and checks that it loads; the result says what failed and how to fix it. */
export async function buildOnednnKernels(opts: KernelBuildOptions): Promise<KernelBuildResult> {
  const source = opts.source ?? ADDON_SOURCE;
  const r = await buildAddon({ ...opts, source, target: opts.target ?? ADDON_FILE });
  if (r.ok) return { ok: true, seconds: r.seconds };
  const fail = (what: string, fix: string): KernelBuildResult => ({ ok: false, seconds: r.seconds, error: { what, fix } });
  switch (r.stage) {
    case 'no-source':
      return fail(`the oneDNN addon's source is not here (${source})`, 'Build it from a checkout of rnn, which has src/kernels/addon');
    case 'no-node-gyp':
      return fail("npm's node-gyp was not found", 'Run `npm run setup-native` from npm (it provides node-gyp)');
    case 'compile':
      if (/dnnl\.hpp: No such file|cannot find -ldnnl/.test(r.output)) return fail('oneDNN (libdnnl-dev) is not installed', ONEDNN_FIX);
      return fail(
        `compiling the oneDNN addon failed: ${firstBuildError(r.output) ?? `node-gyp exit ${r.code}`}`,
        'Install g++, make and python3 for node-gyp and libdnnl-dev, then run `npm run setup-native -- --debug`',
      );
    case 'load': {
      const why =
        r.output
          .split('\n')
          .find((l) => /Error/.test(l))
          ?.trim() ?? `exit ${r.code}`;
      return fail(`the oneDNN addon was built but does not load: ${why}`, ONEDNN_FIX);
    }
  }
}
