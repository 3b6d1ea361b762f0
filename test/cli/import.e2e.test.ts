/**
 * `rnn import` through the real CLI: a Keras-trained model (test/fixtures/keras, made by make_models.py)
 * becomes models/NAME and models/latest, and every command takes it (predict, info, eval, export --web);
 * a Keras-trained model of three classes takes its labels from --labels, and `rnn export --keras` then writes
 * them beside the archive, where the next import finds them; its errors are one line, exit 1, nothing written.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { escapeRegExp, IMDB_TARBALL, ROOT, runCli, tempDir } from '../helpers.js';

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
      `^  imported       \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC from ${escapeRegExp(file)} \\(Keras 3\\.15\\.1, saved \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\)$`,
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

test('rnn import of 3 classes: --labels names them; rnn export --keras writes them beside the archive; importing that finds them', async () => {
  const fixture = path.join(FIXTURES, 'lstm-3-classes.keras');
  const tok = path.join(FIXTURES, 'tokenizer.json');
  const dir = path.join(work, 'models', 'three');
  const r = await runCli(['import', fixture, '--tokenizer', tok, '--labels', 'negative,neutral,positive', '--out', dir], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    `imported ${fixture} to ${dir}: lstm, 8 units · 971 parameters\n` +
      'preprocessing: Keras Tokenizer num_words 50 · maxlen 64, padding pre, truncating pre\n' +
      'labels: negative, neutral, positive (from --labels)\n' +
      `try: rnn predict --model ${dir} "A wonderful film."   (or rnn eval, rnn serve, rnn export --web)\n`,
  );
  const metadata = JSON.parse(await fsp.readFile(path.join(dir, 'metadata.json'), 'utf8'));
  assert.deepEqual(
    [metadata.labels, metadata.hyperParameters.classes],
    [{ names: ['negative', 'neutral', 'positive'], numeric: false }, 3],
  );

  const file = path.join(work, 'exported', 'three.keras');
  const e = await runCli(['export', '--keras', file, '--model', dir], { env });
  assert.equal(e.code, 0, e.stderr);
  const labelsFile = path.join(work, 'exported', 'three.labels.json');
  assert.equal(e.stdout.split('\n')[2], `labels: ${labelsFile} (negative, neutral, positive: the model's outputs in order)`);
  assert.deepEqual(JSON.parse(await fsp.readFile(labelsFile, 'utf8')), { names: ['negative', 'neutral', 'positive'], numeric: false });
  const json = JSON.parse((await runCli(['export', '--keras', file, '--model', dir, '--json'], { env })).stdout);
  assert.deepEqual([json.spec.classes, json.labels], [3, { file: labelsFile, names: ['negative', 'neutral', 'positive'], numeric: false }]);

  const back = path.join(work, 'models', 'three-back');
  const b = await runCli(['import', file, '--out', back, '--json'], { env });
  assert.equal(b.code, 0, b.stderr);
  const imported = JSON.parse(b.stdout);
  assert.deepEqual(
    [imported.classes, imported.labels, imported.labelsFrom],
    [3, { names: ['negative', 'neutral', 'positive'], numeric: false }, labelsFile],
  );
  assert.ok((await fsp.readFile(path.join(back, 'weights.bin'))).equals(await fsp.readFile(path.join(dir, 'weights.bin'))));
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
      args: ['import', path.join(FIXTURES, 'lstm-3-classes.keras'), '--tokenizer', tok, '--out', out],
      stderr: `error: ${path.join(FIXTURES, 'lstm-3-classes.keras')} has 3 classes (Dense(3, softmax), 3 labels) but nothing names them (looked for ${path.join(FIXTURES, 'lstm-3-classes.labels.json')}). Pass --labels with their 3 names in the order of the model's outputs (e.g. --labels negative,neutral,positive), or put the lstm-3-classes.labels.json that \`rnn export --keras\` wrote beside the archive\n`,
    },
    {
      args: ['import', path.join(FIXTURES, 'lstm-3-classes.keras'), '--tokenizer', tok, '--out', out, '--labels', 'bad,good'],
      stderr: `error: --labels names 2 labels (bad, good) but ${path.join(FIXTURES, 'lstm-3-classes.keras')} has 3 classes (Dense(3, softmax), 3 labels). Pass --labels with 3 names, in the order of the model's outputs\n`,
    },
    {
      args: ['import', path.join(FIXTURES, 'lstm-3-classes.keras'), '--tokenizer', tok, '--out', out, '--labels', 'a,b,a'],
      stderr: `error: option '--labels <names>' argument 'a,b,a' is invalid. Expected comma-separated label names, each once (e.g. negative,neutral,positive): it names the label "a" twice.\n(run with --help for usage)\n`,
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
