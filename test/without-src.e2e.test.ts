/**
 * The installed package runs without src/: bin/, dist/ (the compiled TypeScript and rnn's oneDNN addon,
 * dist/addon/rnn_dnnl.node), package.json and node_modules are all it reads at run time. A copy of those, with
 * no src/ (and no dist/test), runs `rnn doctor` (the addon loads), imports a Keras-trained fixture, predicts with
 * it on the oneDNN kernels and exports the web site (the page's script is bundled from dist/).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { REQUIRE_NATIVE, REQUIRE_ONEDNN, ROOT, tempDir } from './helpers.js';
import { probeOnednn } from '../src/kernels/index.js';

test('the installed package runs without src/: doctor, import, predict and export --web', async (t) => {
  const dir = await tempDir('rnn-without-src-');
  t.after(() => fsp.rm(dir, { recursive: true, force: true }));
  for (const f of ['bin', 'package.json']) await fsp.cp(path.join(ROOT, f), path.join(dir, f), { recursive: true });
  const tests = path.join(ROOT, 'dist', 'test');
  await fsp.cp(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true, filter: (src) => src !== tests });
  await fsp.symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  assert.deepEqual((await fsp.readdir(dir)).sort(), ['bin', 'dist', 'node_modules', 'package.json']);

  const onednn = probeOnednn().addon !== undefined;
  if (REQUIRE_ONEDNN) assert.ok(onednn, 'the oneDNN addon is built');
  const env = {
    ...process.env,
    NO_COLOR: '1',
    RNN_MODELS_DIR: path.join(dir, 'models'),
    RNN_DATA_DIR: path.join(dir, 'data'),
  };
  const rnn = (...args: string[]) => {
    const r = spawnSync(process.execPath, [path.join(dir, 'bin', 'rnn'), ...args], { cwd: dir, env, encoding: 'utf8' });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, all: `${r.stdout}${r.stderr}` };
  };

  const doctor = rnn('doctor');
  if (REQUIRE_NATIVE) assert.equal(doctor.code, 0, doctor.all);
  if (onednn) assert.match(doctor.stdout, /oneDNN kernels\s+✓ the oneDNN [\d.]+ addon loaded\n/, doctor.all);

  const fixtures = path.join(ROOT, 'test', 'fixtures', 'keras');
  const model = path.join(dir, 'models', 'lstm');
  const imported = rnn('import', path.join(fixtures, 'lstm.keras'), '--tokenizer', path.join(fixtures, 'tokenizer.json'), '--out', model);
  assert.equal(imported.code, 0, imported.all);

  // On the oneDNN kernels when they are built: a missing addon is then an error, not the tfjs fallback.
  const kernels = onednn ? 'onednn' : 'auto';
  const predicted = rnn('--kernels', kernels, 'predict', '--model', model, '--json', 'A wonderful film, the best of the year.');
  assert.equal(predicted.code, 0, predicted.all);
  const p = JSON.parse(predicted.stdout) as { probability: number };
  assert.ok(p.probability > 0 && p.probability < 1, predicted.stdout);

  const site = path.join(dir, 'site');
  const exported = rnn('export', '--web', site, '--model', model);
  assert.equal(exported.code, 0, exported.all);
  const script = await fsp.readFile(path.join(site, 'app.js'), 'utf8');
  assert.match(script, /never reached the model/, "the page's script, bundled");
  for (const f of ['index.html', 'tf.min.js', 'model/model.json', 'model/weights.bin']) await fsp.access(path.join(site, f));
});
