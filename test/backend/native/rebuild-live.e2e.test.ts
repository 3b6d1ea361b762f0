/**
 * Re-running the native setup (`rnn setup-native --force`, or `npm install` again) while another rnn process
 * is using the binding must not crash that process. Overwriting the mapped tfjs_binding.node in place once
 * killed a training run with SIGBUS; the setup now writes a new file and renames it over.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setupNative, probeBinding } from '../../../src/backend/native/setup.js';
import { escapeRegExp as esc, ROOT } from '../../helpers.js';

/** The built tfjs-node binding (lib/napi-vN/tfjs_binding.node). */
function bindingPath(): string {
  const lib = path.join(ROOT, 'node_modules', '@tensorflow', 'tfjs-node', 'lib');
  const dirs = readdirSync(lib).filter((d) => readdirSync(path.join(lib, d)).includes('tfjs_binding.node'));
  assert.equal(dirs.length, 1, `one built binding in ${lib}: ${dirs.join(', ')}`);
  return path.join(lib, dirs[0]!, 'tfjs_binding.node');
}

test('setup-native --force while a process uses tfjs-node leaves that process running', async (t) => {
  if (!(await probeBinding(ROOT, process.env)).ok) return t.skip('the native binding is not built here');
  // A child that loads tfjs-node, then computes once per line of stdin.
  const child = spawn(
    process.execPath,
    [
      '-e',
      `
    const tf = require('@tensorflow/tfjs-node');
    process.stdout.write('ready\\n');
    require('readline').createInterface({ input: process.stdin }).on('line', () => {
      process.stdout.write(tf.matMul(tf.ones([64, 64]), tf.ones([64, 64])).sum().dataSync()[0] + '\\n');
    });`,
    ],
    { cwd: ROOT, env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' }, stdio: ['pipe', 'pipe', 'ignore'] },
  );
  // Heard from the start (a child that crashes early must not leave the test waiting), and killed however the test ends.
  const closed = new Promise<number | null>((r) => child.on('close', (c, signal) => r(signal ? -1 : c)));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const waitFor = async (n: number): Promise<void> => {
    for (let i = 0; i < 600 && out.split('\n').length <= n; i++) await new Promise((r) => setTimeout(r, 100));
  };
  await waitFor(1);
  assert.equal(out, 'ready\n');
  const binding = bindingPath();
  const mapped = statSync(binding).ino;
  assert.match(readFileSync(`/proc/${child.pid}/maps`, 'utf8'), new RegExp(`${esc(binding)}\n`), 'the child has the binding mapped');
  const cacheDir = process.env.RNN_CACHE_DIR || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'rnn');
  const status = await setupNative({
    projectDir: ROOT,
    cacheDir,
    npm: ['npm'],
    force: true,
    env: process.env,
    onProgress: () => {},
    onOutput: () => {},
  });
  assert.equal(status.ok, true, JSON.stringify(status.error));
  assert.equal(status.via, 'rnn setup-native', '--force set the binding up again (no early return on a binding that loads)');
  // Whether restored from the cache or compiled, the binding is a new file: the child keeps the old one, deleted.
  assert.equal(bindingPath(), binding);
  assert.notEqual(statSync(binding).ino, mapped, "a new file took the binding's name");
  assert.match(
    readFileSync(`/proc/${child.pid}/maps`, 'utf8'),
    new RegExp(`${esc(binding)} \\(deleted\\)\n`),
    'the child still maps the old, now unlinked, binding',
  );
  child.stdin.write('go\n');
  await waitFor(2);
  child.stdin.end();
  const code = await closed;
  assert.equal(out, `ready\n${64 * 64 * 64}\n`);
  assert.equal(code, 0);
});
