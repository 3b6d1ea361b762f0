/**
 * The install contract on a fresh copy of the project: when the native setup cannot work
 * (a bogus RNN_LIBTENSORFLOW) and rnn's addons cannot compile (CC=false, CXX=false), `npm ci` still
 * succeeds, prints one warning and one note with their fixes, and `rnn doctor` exits 1 explaining why.
 * Uses npm's local cache (`--prefer-offline`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { ROOT, tempDir } from './helpers.js';

test('npm ci succeeds with a failing native setup, warns once, and rnn doctor explains', async () => {
  const dir = await tempDir('rnn-install-');
  for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'bin', 'src', 'test']) {
    // not a build of the addon from this checkout
    await fsp.cp(path.join(ROOT, f), path.join(dir, f), {
      recursive: true,
      filter: (src) => !src.includes(`${path.sep}native${path.sep}build`),
    });
  }
  const env = {
    ...process.env,
    RNN_LIBTENSORFLOW: '/nonexistent/libtensorflow',
    RNN_CACHE_DIR: path.join(dir, 'cache'),
    NO_COLOR: '1',
    RNN_REQUIRE_NATIVE: '',
    CXX: 'false',
    CC: 'false',
  };
  const r = spawnSync('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund'], {
    cwd: dir,
    env,
    encoding: 'utf8',
    timeout: 10 * 60_000,
  });
  const out = r.stdout + r.stderr;
  assert.equal(r.status, 0, out);
  assert.match(
    out,
    /rnn: warning: native TensorFlow backend not set up: RNN_LIBTENSORFLOW=\/nonexistent\/libtensorflow does not exist\.\n/,
  );
  assert.match(out, /rnn: until then rnn runs on pure-JS tfjs: predict and eval work, training is more than 100x slower/);
  assert.match(
    out,
    /rnn: note: oneDNN recurrent kernels not built: compiling the oneDNN addon failed: .*\. Install g\+\+, make and python3 for node-gyp and libdnnl-dev, then run `npm run setup-native -- --debug`\.\n/,
  );
  assert.match(out, /rnn: until then the fused layers run on tfjs\/TensorFlow ops \(about half the training speed\)\./);
  assert.match(
    out,
    /rnn: note: building rnn's stdio shim failed \(.*\), so TensorFlow's start-up log lines reach stderr\. Install a C compiler, make and python3 for node-gyp, then run `npm run setup-native -- --debug`\.\n/,
  );
  // The failed build leaves neither an addon nor its temporary build directory in dist/addon.
  assert.deepEqual(await fsp.readdir(path.join(dir, 'dist', 'addon')), []);

  const copy = spawnSync(process.execPath, [path.join(dir, 'bin', 'rnn'), 'doctor'], { cwd: dir, env, encoding: 'utf8' });
  assert.equal(copy.status, 1, copy.stdout + copy.stderr);
  assert.match(copy.stdout, /backend\s+✗ cpu \(@tensorflow\/tfjs\): the native backend is not available, so tfjs runs in pure JavaScript/);
  assert.match(copy.stdout, /last setup\s+RNN_LIBTENSORFLOW=\/nonexistent\/libtensorflow does not exist/);
  assert.match(
    copy.stdout,
    /TF start-up log\s+✗ rnn's stdio shim is not built, so TensorFlow writes its start-up lines to stderr\. Install a C compiler, make and python3 for node-gyp, then run `npm run setup-native` \(it builds rnn's stdio shim\)\n/,
  );
  assert.match(
    copy.stdout,
    /oneDNN kernels\s+✗ the oneDNN addon is not built \(npm install could not compile it, usually because libdnnl-dev is missing\)\. Install oneDNN \(`apt-get install libdnnl-dev` on Debian\/Ubuntu\), then run `npm run setup-native`\n/,
  );
  assert.equal(
    copy.stderr,
    "error: the native TensorFlow backend is not available: tfjs-node's binding (tfjs_binding.node) is not built. " +
      'Point RNN_LIBTENSORFLOW at a libtensorflow directory (lib/ and include/), its .tar.gz, or a tensorflow-cpu .whl, or unset it to use pip, then run `npm run setup-native`\n',
  );
  await fsp.rm(dir, { recursive: true, force: true });
});
