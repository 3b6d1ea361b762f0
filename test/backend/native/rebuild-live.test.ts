/**
 * Re-running the native setup (`rnn setup-native --force`, or `npm install` again) while another rnn process
 * is using the binding must not crash that process. Overwriting the mapped tfjs_binding.node in place once
 * killed a training run with SIGBUS; the setup now writes a new file and renames it over.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { setupNative, probeBinding } from '../../../src/backend/native/setup.js';
import { ROOT } from '../../helpers.js';

test('setup-native --force while a process uses tfjs-node leaves that process running', async (t) => {
  if (!(await probeBinding(ROOT, process.env)).ok) return t.skip('the native binding is not built here');
  // A child that loads tfjs-node, then computes once per line of stdin.
  const child = spawn(process.execPath, ['-e', `
    const tf = require('@tensorflow/tfjs-node');
    process.stdout.write('ready\\n');
    require('readline').createInterface({ input: process.stdin }).on('line', () => {
      process.stdout.write(tf.matMul(tf.ones([64, 64]), tf.ones([64, 64])).sum().dataSync()[0] + '\\n');
    });`], { cwd: ROOT, env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' }, stdio: ['pipe', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const waitFor = async (n: number): Promise<void> => {
    for (let i = 0; i < 600 && out.split('\n').length <= n; i++) await new Promise((r) => setTimeout(r, 100));
  };
  await waitFor(1);
  assert.equal(out, 'ready\n');
  const cacheDir = process.env.RNN_CACHE_DIR || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'rnn');
  const status = await setupNative({ projectDir: ROOT, cacheDir, npm: ['npm'], force: true, env: process.env, onProgress: () => {}, onOutput: () => {} });
  assert.equal(status.ok, true, JSON.stringify(status.error));
  child.stdin.write('go\n');
  await waitFor(2);
  child.stdin.end();
  const code = await new Promise<number | null>((r) => child.on('close', (c, signal) => r(signal ? -1 : c)));
  assert.equal(out, `ready\n${64 * 64 * 64}\n`);
  assert.equal(code, 0);
});
