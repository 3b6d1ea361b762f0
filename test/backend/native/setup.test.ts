/**
 * The native setup's failure paths end in a status with one clear message and a fix, and the
 * status is written for `rnn doctor`. (The success path runs for real in `npm install`/`npm ci` and in
 * test/backend/native/rebuild-live.test.ts; test/backend/index.test.ts checks that the native backend then
 * loads, and `rnn doctor` is tested in test/cli/main.test.ts — it reports the status the setup recorded —,
 * test/backend/onednn.test.ts (the kernels it names) and test/install.test.ts (a failed setup, explained).)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { setupNative, readNativeStatus, type NativeSetupOptions } from '../../../src/backend/native/setup.js';
import { stageIntoTfjsNode } from '../../../src/backend/native/libtensorflow.js';
import { tempDir } from '../../helpers.js';
import type { ErrorCode } from '../../../src/errors.js';

async function fakeProject(): Promise<string> {
  const dir = await tempDir();
  // A tfjs-node package without a built binding: the setup must not try npm, and the probe fails.
  const pkg = path.join(dir, 'node_modules/@tensorflow/tfjs-node');
  await fsp.mkdir(pkg, { recursive: true });
  await fsp.writeFile(
    path.join(pkg, 'package.json'),
    JSON.stringify({ name: '@tensorflow/tfjs-node', version: '4.22.0', main: 'index.js' }),
  );
  await fsp.writeFile(path.join(pkg, 'index.js'), "throw new Error('binding not built');");
  return dir;
}

const cases: Array<{
  name: string;
  opts: (dir: string) => Promise<Partial<NativeSetupOptions>>;
  code: ErrorCode;
  what: (dir: string) => string;
  fix: RegExp;
}> = [
  {
    name: 'RNN_LIBTENSORFLOW names a path that does not exist',
    opts: async () => ({ userSource: '/nonexistent/libtensorflow' }),
    code: 'NATIVE_LIBTENSORFLOW_NOT_FOUND',
    what: () => 'RNN_LIBTENSORFLOW=/nonexistent/libtensorflow does not exist',
    fix: /^Point RNN_LIBTENSORFLOW at a libtensorflow directory/,
  },
  {
    name: 'RNN_LIBTENSORFLOW names a directory without libtensorflow',
    opts: async (dir) => {
      await fsp.mkdir(path.join(dir, 'empty'));
      return { userSource: path.join(dir, 'empty') };
    },
    code: 'NATIVE_LIBTENSORFLOW_INVALID',
    what: (dir) =>
      `RNN_LIBTENSORFLOW=${path.join(dir, 'empty')} holds no libtensorflow (expected lib/libtensorflow*.so* and include/tensorflow/c/c_api.h)`,
    fix: /^Point RNN_LIBTENSORFLOW/,
  },
  {
    name: 'RNN_LIBTENSORFLOW names a file of another kind',
    opts: async (dir) => {
      await fsp.writeFile(path.join(dir, 'lib.zip'), 'x');
      return { userSource: path.join(dir, 'lib.zip') };
    },
    code: 'NATIVE_LIBTENSORFLOW_INVALID',
    what: (dir) => `RNN_LIBTENSORFLOW=${path.join(dir, 'lib.zip')} is neither a directory, a .tar.gz nor a .whl`,
    fix: /^Point RNN_LIBTENSORFLOW/,
  },
  {
    name: 'RNN_LIBTENSORFLOW names a corrupt tarball',
    opts: async (dir) => {
      await fsp.writeFile(path.join(dir, 'libtensorflow.tar.gz'), 'not a tarball');
      return { userSource: path.join(dir, 'libtensorflow.tar.gz') };
    },
    code: 'NATIVE_LIBTENSORFLOW_INVALID',
    what: (dir) =>
      `RNN_LIBTENSORFLOW=${path.join(dir, 'libtensorflow.tar.gz')} could not be extracted: TAR_BAD_ARCHIVE: Unrecognized archive format`,
    fix: /^Download the libtensorflow tarball again/,
  },
  {
    name: 'no pip to fetch the wheel',
    opts: async () => ({ pip: ['/nonexistent/pip'] }),
    code: 'NATIVE_PIP_MISSING',
    what: () => 'the pip command `/nonexistent/pip` does not run',
    fix: /^Set RNN_PIP to a working pip/,
  },
  {
    name: 'pip cannot reach an index that has the wheel',
    opts: async (dir) => {
      const pip = path.join(dir, 'pip');
      await fsp.writeFile(
        pip,
        '#!/bin/sh\nif [ "$1" = --version ]; then echo pip 99; exit 0; fi\necho "ERROR: No matching distribution found for tensorflow-cpu==2.21.0" >&2\nexit 1\n',
        { mode: 0o755 },
      );
      return { pip: [pip] };
    },
    code: 'NATIVE_DOWNLOAD_FAILED',
    what: (dir) =>
      `\`${path.join(dir, 'pip')} download tensorflow-cpu==2.21.0\` failed (exit 1): ERROR: No matching distribution found for tensorflow-cpu==2.21.0`,
    fix: /^Check that pip reaches a package index/,
  },
];

for (const c of cases) {
  test(`setup-native fails clearly when ${c.name}`, async () => {
    const dir = await fakeProject();
    const status = await setupNative({
      projectDir: dir,
      cacheDir: path.join(dir, 'cache'),
      npm: ['false'],
      force: false,
      env: process.env,
      onProgress: () => {},
      onOutput: () => {},
      ...(await c.opts(dir)),
    });
    assert.equal(status.ok, false);
    assert.equal(status.error?.code, c.code);
    assert.equal(status.error?.what, c.what(dir));
    assert.match(status.error?.fix ?? '', c.fix);
    assert.deepEqual(await readNativeStatus(dir), status, 'the status is recorded for rnn doctor');
    await fsp.rm(dir, { recursive: true, force: true });
  });
}

test('placing libtensorflow fills a new deps/ beside the old one: a placement that fails leaves the old deps/ whole, one that succeeds replaces it', async () => {
  const dir = await tempDir();
  const tfjsNode = path.join(dir, 'tfjs-node');
  const oldLib = path.join(tfjsNode, 'deps', 'lib', 'libtensorflow.so.2');
  await fsp.mkdir(path.dirname(oldLib), { recursive: true });
  await fsp.writeFile(oldLib, 'old');
  /** A libtensorflow of these files (empty include folder). */
  const lib = async (name: string, files: string[]) => {
    const root = path.join(dir, name);
    await fsp.mkdir(path.join(root, 'lib'), { recursive: true });
    await fsp.mkdir(path.join(root, 'include'), { recursive: true });
    for (const f of files) await fsp.writeFile(path.join(root, 'lib', f), name);
    return { libDir: path.join(root, 'lib'), includeDir: path.join(root, 'include'), source: name, cached: false };
  };
  // No libtensorflow_framework: refused after the new tree was linked.
  const broken = await lib('broken', ['libtensorflow_cc.so.2']);
  await assert.rejects(
    stageIntoTfjsNode(broken, tfjsNode),
    (e: unknown) => (e as { code?: string }).code === 'NATIVE_LIBTENSORFLOW_INVALID',
  );
  assert.equal(await fsp.readFile(oldLib, 'utf8'), 'old', 'the old deps/ is whole');
  assert.deepEqual(await fsp.readdir(tfjsNode), ['deps'], 'nothing staged is left beside it');
  const good = await lib('good', ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2']);
  await stageIntoTfjsNode(good, tfjsNode);
  const placed = await fsp.readdir(path.join(tfjsNode, 'deps', 'lib'));
  assert.ok(placed.includes('libtensorflow_cc.so.2') && placed.includes('libtensorflow_framework.so.2'), placed.join(', '));
  assert.equal(await fsp.readFile(oldLib, 'utf8'), 'good', 'its aliases name the new library');
  assert.deepEqual(await fsp.readdir(tfjsNode), ['deps']);
  await fsp.rm(dir, { recursive: true, force: true });
});
