/**
 * `rnn import` through the real CLI: a Keras-trained model (test/fixtures/keras, made by make_models.py)
 * becomes models/NAME and models/latest, and every command takes it (predict, info, eval, export --web);
 * its errors are one line, exit 1, nothing written.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { IMDB_TARBALL, ROOT, runCli, tempDir } from '../helpers.js';

const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'keras');
let work = '';
let env: NodeJS.ProcessEnv = {};

before(async () => {
  work = await tempDir('rnn-import-cli-');
  env = { RNN_IMDB_URL: IMDB_TARBALL, RNN_MODELS_DIR: path.join(work, 'models'), RNN_DATA_DIR: path.join(work, 'data') };
});
after(() => fsp.rm(work, { recursive: true, force: true }));

test('rnn import FILE.keras: models/NAME, models/latest, and every command takes it', async () => {
  // The tokenizer beside the archive is found by name, as `rnn export --keras` writes it.
  const file = path.join(work, 'bi.keras');
  await fsp.copyFile(path.join(FIXTURES, 'gru-bi-max.keras'), file);
  await fsp.copyFile(path.join(FIXTURES, 'tokenizer.json'), path.join(work, 'bi.tokenizer.json'));
  const r = await runCli(['import', file], { env });
  assert.equal(r.code, 0, r.stderr);
  const dir = path.join(work, 'models', 'bi');
  assert.equal(
    r.stdout,
    `imported ${file} to ${dir}: gru, bidirectional, 8 units each, max over time · 1,233 parameters\n` +
      'preprocessing: Keras Tokenizer num_words 50 · maxlen 64, padding pre, truncating pre\n' +
      `try: rnn predict --model ${dir} "A wonderful film."   (or rnn eval, rnn serve, rnn export --web)\n`,
  );
  assert.equal(path.resolve(path.join(work, 'models'), await fsp.readlink(path.join(work, 'models', 'latest'))), dir);

  const p = await runCli(['predict', '--json', 'A wonderful film, the best of the year.', 'Awful, boring, the worst.'], { env });
  assert.equal(p.code, 0, p.stderr);
  const [good, bad] = p.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { probability: number });
  assert.ok(good!.probability > bad!.probability, 'the Keras-trained model tells praise from a pan');

  const info = await runCli(['info'], { env });
  assert.equal(info.code, 0, info.stderr);
  const rows = info.stdout.split('\n');
  assert.equal(rows[1], '  cell           gru, bidirectional, 8 units each, max over time · 1,233 parameters');
  assert.match(
    rows[2]!,
    new RegExp(
      `^  imported       \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC from ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(Keras 3\\.15\\.1, saved \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\)$`,
    ),
  );
  assert.equal(rows[3], '  data           not recorded (a Keras archive does not say)');
  assert.equal(rows[4], '  preprocessing  Keras Tokenizer num_words 50 · maxlen 64, padding pre, truncating pre');

  const ev = await runCli(['eval', '--limit', '400', '--json'], { env });
  assert.equal(ev.code, 0, ev.stderr);
  assert.ok(JSON.parse(ev.stdout).accuracy > 0.6, 'better than chance on 400 real test reviews');

  const site = await runCli(['export', '--web', path.join(work, 'site')], { env });
  assert.equal(site.code, 0, site.stderr);
  const card = JSON.parse(await fsp.readFile(path.join(work, 'site', 'card.json'), 'utf8'));
  assert.deepEqual([card.data, card.imported], [null, { file: 'bi.keras', kerasVersion: '3.15.1' }]);
});

test('rnn import errors: one line on stderr, exit 1, nothing written', async () => {
  const out = path.join(work, 'out');
  const reset = path.join(FIXTURES, 'gru-reset-after.keras');
  const tok = path.join(FIXTURES, 'tokenizer.json');
  const half = path.join(work, 'half.keras');
  const bytes = await fsp.readFile(path.join(FIXTURES, 'lstm.keras'));
  await fsp.writeFile(half, bytes.subarray(0, bytes.length >> 1));
  const cases: Array<{ args: string[]; stderr: string }> = [
    {
      args: ['import', half, '--tokenizer', tok, '--out', out],
      stderr: `error: ${half} is not a .keras archive (a zip): End of central directory record signature not found. Either not a zip file, or file is truncated. Save it again with \`model.save("model.keras")\` in Keras 3, or \`rnn export --keras\`\n`,
    },
    {
      args: ['import', reset, '--tokenizer', tok, '--out', out],
      stderr: `error: ${reset}: GRU "gru_2" has reset_after=True. tfjs computes only GRU(reset_after=False), not Keras's default: build the GRU with reset_after=False and train it again\n`,
    },
    {
      args: ['import', path.join(FIXTURES, 'lstm.keras'), '--out', out],
      stderr: `error: no tokenizer for ${path.join(FIXTURES, 'lstm.keras')} (looked for ${path.join(FIXTURES, 'lstm.tokenizer.json')}). Pass --tokenizer with the JSON Keras's tokenizer.to_json() wrote for the texts the model was trained on\n`,
    },
    {
      args: ['import', path.join(FIXTURES, 'tokenizer.json'), '--tokenizer', tok, '--out', out],
      stderr: `error: ${path.join(FIXTURES, 'tokenizer.json')} is not a .keras archive (a zip): End of central directory record signature not found. Either not a zip file, or file is truncated. Save it again with \`model.save("model.keras")\` in Keras 3, or \`rnn export --keras\`\n`,
    },
    {
      args: ['import', path.join(work, 'missing.keras'), '--tokenizer', tok, '--out', out],
      stderr: `error: ${path.join(work, 'missing.keras')} does not exist. Pass the path of a .keras file saved by Keras 3 (\`model.save("model.keras")\`)\n`,
    },
    {
      args: ['import', path.join(FIXTURES, 'lstm.keras'), '--tokenizer', tok, '--out', out, '--padding', 'middle'],
      stderr:
        "error: option '--padding <side>' argument 'middle' is invalid. Allowed choices are pre, post.\n(run with --help for usage)\n",
    },
  ];
  for (const c of cases) {
    const r = await runCli(c.args, { env });
    assert.equal(r.code, 1, c.args.join(' '));
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, c.stderr);
    await assert.rejects(fsp.stat(out), 'nothing written');
  }
});
