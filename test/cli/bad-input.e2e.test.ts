/**
 * Bad input of every kind a user can hand rnn: each ends in one line with a fix on stderr and exit 1 (no
 * stack trace, nothing on stdout), and no file that existed before is modified. Reviews that are merely
 * unusual (no known words, other scripts, emoji, 1 MB long) are not errors: they get a prediction.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp, readdirSync, readFileSync, statSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { mulberry32 } from '../../src/util/random.js';
import * as path from 'node:path';
import { jsonErrorOf, runCli, tempDir, REQUIRE_NATIVE } from '../helpers.js';
import type { ErrorCode } from '../../src/errors.js';
import { makeTarGz } from '../tar-helpers.js';
import { loadBackend } from '../../src/backend/index.js';
import { buildModel } from '../../src/models/index.js';
import { saveModelDir, type UnsavedMetadata } from '../../src/io/model-dir.js';
import { resolveTrainOptions } from '../../src/train/options.js';
import { Tokenizer } from '../../src/text/tokenizer.js';

let w = '';
let env: NodeJS.ProcessEnv = {};

const MAXLEN = 12;
function metadata(vocab: number): UnsavedMetadata {
  const o = resolveTrainOptions({ cell: 'gru', maxlen: MAXLEN, vocabSize: vocab, units: 4, embeddingDim: 4, seed: 1 });
  return {
    formatVersion: 1,
    createdAt: new Date(0).toISOString(),
    cell: 'gru',
    hyperParameters: o,
    preprocessing: {
      tokenizer: 'keras.preprocessing.text.Tokenizer',
      numWords: vocab,
      maxlen: MAXLEN,
      padding: 'pre',
      truncating: 'pre',
      oovToken: null,
      htmlLineBreaks: 'replaced by spaces',
    },
    dataset: { kind: 'csv', path: '/x.csv', sha256: '0', trainReviews: 2, validationReviews: 0, truncatedShare: 0 },
    params: { total: 0, trainable: 0 },
    history: [],
    timings: { tokenizeSeconds: 0, trainSeconds: 0, totalSeconds: 0, secondsPerEpoch: 0 },
    samplesPerSec: 0,
    backend: { name: 'test' },
    versions: { rnn: 'test', tfjs: 'test', node: process.versions.node },
  };
}

before(async () => {
  const { tf, kernels } = await loadBackend({ requireNative: REQUIRE_NATIVE });
  w = await tempDir('rnn-bad-');
  env = { RNN_MODELS_DIR: path.join(w, 'models'), RNN_DATA_DIR: path.join(w, 'data'), RNN_IMDB_URL: path.join(w, 'none.tar.gz') };
  const f = (name: string, body: string | Buffer): Promise<void> => fsp.writeFile(path.join(w, name), body);
  await f('empty.csv', '');
  // Fixed "random" bytes (mulberry32, seed 7), so the first invalid UTF-8 is always on line 1.
  const rand = mulberry32(7);
  const noise = Buffer.from(Array.from({ length: 4096 }, () => Math.floor(rand() * 256)));
  await f('random.csv', noise);
  await f(
    'latin1.csv',
    Buffer.concat([Buffer.from('review,sentiment\n"good",positive\n"caf'), Buffer.from([0xe9]), Buffer.from(' bad",negative\n')]),
  );
  await f('renamed.csv', 'body,sentiment\ngood,positive\nbad,negative\n');
  await f('renamed-label.csv', 'review,stars\ngood,5\nbad,1\n');
  await f('labels.csv', 'review,sentiment\ngood,positive\nbad,meh\n');
  await f('ragged.csv', 'review,sentiment\ngood,positive,extra\nbad,negative\n');
  await f('quote.csv', 'review,sentiment\n"good,positive\nbad,negative\n');
  await f('oneline.csv', 'x'.repeat(50_000_000));
  await f('oneclass.csv', 'review,sentiment\ngood,positive\ngreat,positive\nfine,positive\n');
  await fsp.mkdir(path.join(w, 'onlytrain', 'train', 'pos'), { recursive: true });
  await fsp.mkdir(path.join(w, 'onlytrain', 'train', 'neg'), { recursive: true });
  await f('onlytrain/train/pos/0_9.txt', 'good');
  await f('onlytrain/train/neg/0_1.txt', 'bad');
  await f('corrupt.tar.gz', Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3]), noise]));
  await f(
    'truncated.tar.gz',
    makeTarGz(
      Array.from({ length: 200 }, (_, i) => ({ path: `aclImdb/train/pos/${i}_9.txt`, body: randomBytes(300).toString('hex') })),
    ).subarray(0, 20_000),
  );
  await f('dotdot.tar.gz', makeTarGz([{ path: '../escape.txt', body: 'x' }]));
  await f('absolute.tar.gz', makeTarGz([{ path: '/tmp/escape.txt', body: 'x' }]));
  await f(
    'symlink.tar.gz',
    makeTarGz([{ path: 'aclImdb/train/pos/0_9.txt', type: 'SymbolicLink', linkpath: '../../../../../etc/passwd' }]),
  );
  await f('reviews.txt', 'good\n');

  // Model directories: a good one, and broken copies of it.
  const tok = new Tokenizer({ numWords: 30 }).fitOnTexts(['a good film', 'a bad film', 'great acting', 'dull plot']);
  const model = buildModel(
    tf,
    { cell: 'gru', vocabSize: 30, embeddingDim: 4, maxlen: MAXLEN, units: 4, seed: 1, layers: 'fused' },
    kernels,
  );
  const good = path.join(w, 'models', 'good');
  await saveModelDir(tf, good, model, tok, metadata(30));
  const other = path.join(w, 'other');
  await saveModelDir(tf, other, model, new Tokenizer({ numWords: 30 }).fitOnTexts(['something else entirely']), metadata(30));
  model.dispose();
  const copy = async (name: string): Promise<string> => {
    const d = path.join(w, 'models', name);
    await fsp.cp(good, d, { recursive: true });
    return d;
  };
  await fsp.rm(path.join(await copy('no-model-json'), 'model.json'));
  await fsp.writeFile(path.join(await copy('corrupt-json'), 'model.json'), '{"modelTopology": ');
  await fsp.rm(path.join(await copy('no-weights'), 'weights.bin'));
  const short = await copy('short-weights');
  await fsp.truncate(path.join(short, 'weights.bin'), 100);
  await fsp.copyFile(path.join(other, 'tokenizer.json'), path.join(await copy('other-tokenizer'), 'tokenizer.json'));
  const nan = await copy('nan-weights');
  const weights = await fsp.readFile(path.join(nan, 'weights.bin'));
  weights.writeFloatLE(Number.NaN, 40);
  await fsp.writeFile(path.join(nan, 'weights.bin'), weights);
});

const usage = '\n(run with --help for usage)\n';
const retrain = (d: string): string => `Retrain with \`rnn train --out ${d}\` or pass --model with a complete model directory`;
const m = (name: string): string => path.join(w, 'models', name);
const p = (name: string): string => path.join(w, name);

/** `code`: the error's code, checked by running the command again with --json. */
const cases: Array<{ name: string; code: ErrorCode; args: () => string[]; stderr: () => string; input?: string }> = [
  // Data files
  {
    name: 'empty CSV',
    code: 'DATA_EMPTY',
    args: () => ['train', '--cell', 'lstm', '--data', p('empty.csv')],
    stderr: () => `error: ${p('empty.csv')} has no reviews. Use a CSV with a header row and at least one labeled review\n`,
  },
  {
    name: 'random bytes',
    code: 'DATA_NOT_UTF8',
    args: () => ['train', '--cell', 'lstm', '--data', p('random.csv')],
    stderr: () =>
      `error: ${p('random.csv')} is not UTF-8 text (invalid bytes on line 1). Save the file as UTF-8 (or check that it is the CSV you meant)\n`,
  },
  {
    name: 'invalid UTF-8 (Latin-1)',
    code: 'DATA_NOT_UTF8',
    args: () => ['train', '--cell', 'lstm', '--data', p('latin1.csv')],
    stderr: () =>
      `error: ${p('latin1.csv')} is not UTF-8 text (invalid bytes on line 3). Save the file as UTF-8 (or check that it is the CSV you meant)\n`,
  },
  {
    name: 'renamed text column',
    code: 'DATA_CSV_COLUMN_MISSING',
    args: () => ['train', '--cell', 'lstm', '--data', p('renamed.csv')],
    stderr: () =>
      `error: ${p('renamed.csv')} has no text column (looked for review, text, sentence, content; columns: body, sentiment). Pass --text-column to name it\n`,
  },
  {
    name: 'missing label column',
    code: 'DATA_CSV_COLUMN_MISSING',
    args: () => ['train', '--cell', 'lstm', '--data', p('renamed-label.csv')],
    stderr: () =>
      `error: ${p('renamed-label.csv')} has no label column (looked for sentiment, label, polarity, target; columns: review, stars). Pass --label-column to name it\n`,
  },
  {
    name: '--text-column that does not exist',
    code: 'DATA_CSV_COLUMN_MISSING',
    args: () => ['train', '--cell', 'lstm', '--data', p('renamed.csv'), '--text-column', 'review'],
    stderr: () =>
      `error: ${p('renamed.csv')} has no column "review" (columns: body, sentiment). Pass --text-column with one of those columns\n`,
  },
  {
    name: 'a label --labels does not name',
    code: 'DATA_CSV_LABEL_INVALID',
    args: () => ['train', '--cell', 'lstm', '--data', p('labels.csv'), '--labels', 'negative,positive'],
    stderr: () =>
      `error: ${p('labels.csv')} row 3: label "meh" is not one of --labels negative,positive. Add it to --labels, or correct the row\n`,
  },
  {
    name: 'ragged rows',
    code: 'DATA_CSV_INVALID',
    args: () => ['train', '--cell', 'lstm', '--data', p('ragged.csv')],
    stderr: () =>
      `error: ${p('ragged.csv')} is not valid CSV: Invalid Record Length: expect 2, got 3 on line 2. Fix the file (a header row, then one quoted review per row)\n`,
  },
  {
    name: 'unterminated quote',
    code: 'DATA_CSV_INVALID',
    args: () => ['train', '--cell', 'lstm', '--data', p('quote.csv')],
    stderr: () =>
      `error: ${p('quote.csv')} is not valid CSV: Quote Not Closed: the parsing is finished with an opening quote at line 3. Fix the file (a header row, then one quoted review per row)\n`,
  },
  {
    name: '50 MB single line',
    code: 'DATA_CSV_COLUMN_MISSING',
    args: () => ['train', '--cell', 'lstm', '--data', p('oneline.csv')],
    stderr: () =>
      `error: ${p('oneline.csv')} has no text column (looked for review, text, sentence, content; columns: ${'x'.repeat(37)}...). Pass --text-column to name it\n`,
  },
  {
    name: 'only one class',
    code: 'DATA_ONE_LABEL',
    args: () => ['train', '--cell', 'lstm', '--data', p('oneclass.csv')],
    stderr: () =>
      `error: ${p('oneclass.csv')} has only positive reviews (3). A sentiment classifier needs positive and negative reviews: check --label-column, or use other data\n`,
  },
  {
    name: 'aclImdb directory without a test split',
    code: 'DATA_IMDB_INCOMPLETE',
    args: () => ['eval', '--model', m('good'), '--data', p('onlytrain')],
    stderr: () =>
      `error: ${p('onlytrain')} has no test reviews (expected test/pos/*.txt and test/neg/*.txt). Point --data at the aclImdb directory or aclImdb_v1.tar.gz\n`,
  },
  {
    name: 'corrupt tarball',
    code: 'DATA_ARCHIVE_INVALID',
    args: () => ['data', '--data', p('corrupt.tar.gz')],
    stderr: () =>
      `error: ${p('corrupt.tar.gz')} is not a readable aclImdb tarball: zlib: invalid distance too far back. Download aclImdb_v1.tar.gz again, or point --data at an aclImdb directory\n`,
  },
  {
    name: 'truncated tarball',
    code: 'DATA_ARCHIVE_INVALID',
    args: () => ['data', '--data', p('truncated.tar.gz')],
    stderr: () =>
      `error: ${p('truncated.tar.gz')} is not a readable aclImdb tarball: zlib: unexpected end of file. Download aclImdb_v1.tar.gz again, or point --data at an aclImdb directory\n`,
  },
  {
    name: 'tar entry with ../',
    code: 'DATA_ARCHIVE_UNSAFE',
    args: () => ['data', '--data', p('dotdot.tar.gz')],
    stderr: () =>
      `error: ${p('dotdot.tar.gz')} was rejected: entry ../escape.txt has a .. path segment. Use the official aclImdb_v1.tar.gz; nothing was extracted\n`,
  },
  {
    name: 'tar entry with an absolute path',
    code: 'DATA_ARCHIVE_UNSAFE',
    args: () => ['data', '--data', p('absolute.tar.gz')],
    stderr: () =>
      `error: ${p('absolute.tar.gz')} was rejected: entry /tmp/escape.txt has an absolute path. Use the official aclImdb_v1.tar.gz; nothing was extracted\n`,
  },
  {
    name: 'tar symlink pointing outside',
    code: 'DATA_ARCHIVE_UNSAFE',
    args: () => ['data', '--data', p('symlink.tar.gz')],
    stderr: () =>
      `error: ${p('symlink.tar.gz')} was rejected: entry aclImdb/train/pos/0_9.txt is a link to ../../../../../etc/passwd, outside the archive. Use the official aclImdb_v1.tar.gz; nothing was extracted\n`,
  },
  // Model directories
  {
    name: 'model directory without model.json',
    code: 'MODEL_FILE_MISSING',
    args: () => ['predict', '--model', m('no-model-json'), 'good'],
    stderr: () => `error: ${path.join(m('no-model-json'), 'model.json')} is missing. ${retrain(m('no-model-json'))}\n`,
  },
  {
    name: 'model.json with corrupt JSON',
    code: 'MODEL_FILE_INVALID',
    args: () => ['predict', '--model', m('corrupt-json'), 'good'],
    stderr: () =>
      `error: ${path.join(m('corrupt-json'), 'model.json')} is not valid JSON (Unexpected end of JSON input). ${retrain(m('corrupt-json'))}\n`,
  },
  {
    name: 'missing weights file',
    code: 'MODEL_FILE_MISSING',
    args: () => ['eval', '--model', m('no-weights'), '--data', p('onlytrain')],
    stderr: () => `error: ${path.join(m('no-weights'), 'weights.bin')} is missing. ${retrain(m('no-weights'))}\n`,
  },
  {
    name: 'short weights file',
    code: 'MODEL_WEIGHTS_SIZE',
    args: () => ['predict', '--model', m('short-weights'), 'good'],
    stderr: () => `error: the weights of ${m('short-weights')} are 100 bytes, model.json expects 932. ${retrain(m('short-weights'))}\n`,
  },
  {
    name: 'tokenizer from another model',
    code: 'MODEL_TOKENIZER_MISMATCH',
    args: () => ['predict', '--model', m('other-tokenizer'), 'good'],
    stderr: () =>
      `error: ${path.join(m('other-tokenizer'), 'tokenizer.json')} is not the tokenizer this model was trained with (its hash differs from metadata.json). Copy the tokenizer.json that was saved with the model, or retrain\n`,
  },
  {
    name: 'NaN weights',
    code: 'MODEL_WEIGHTS_NOT_FINITE',
    args: () => ['predict', '--model', m('nan-weights'), 'good'],
    stderr: () =>
      `error: the weights of ${m('nan-weights')} contain NaN values (training diverged, or the file is damaged). Retrain (a lower --lr helps a diverging run) or restore the model from a copy\n`,
  },
  // predict input
  {
    name: 'predict with an empty review',
    code: 'PREDICT_TEXT_EMPTY',
    args: () => ['predict', '--model', m('good'), 'fine', ''],
    stderr: () => 'error: review 2 of the arguments is empty. Pass the text of a review (empty lines of --file or stdin are skipped)\n',
  },
  {
    name: 'predict with only empty lines on stdin',
    code: 'PREDICT_INPUT_EMPTY',
    args: () => ['predict', '--model', m('good')],
    input: '\n  \n\n',
    stderr: () => 'error: the input held no reviews. Give at least one non-empty line\n',
  },
  {
    name: 'predict --file that does not exist',
    code: 'DATA_NOT_FOUND',
    args: () => ['predict', '--model', m('good'), '--file', p('nope.txt')],
    stderr: () => `error: ${p('nope.txt')} does not exist. Check the path given to --file\n`,
  },
  // options
  {
    name: '--epochs 0',
    code: 'OPTION_INVALID',
    args: () => ['train', '--cell', 'lstm', '--epochs', '0'],
    stderr: () => "error: option '--epochs <n>' argument '0' is invalid. Expected a whole number of at least 1." + usage,
  },
  {
    name: '--batch-size -1',
    code: 'OPTION_INVALID',
    args: () => ['train', '--cell', 'lstm', '--batch-size', '-1'],
    stderr: () => "error: option '--batch-size <n>' argument '-1' is invalid. Expected a whole number of at least 1." + usage,
  },
  {
    name: '--cell foo',
    code: 'OPTION_INVALID',
    args: () => ['train', '--cell', 'foo'],
    stderr: () => "error: option '--cell <cell>' argument 'foo' is invalid. Allowed cells are simplernn, lstm, gru." + usage,
  },
  {
    name: '--maxlen abc',
    code: 'OPTION_INVALID',
    args: () => ['train', '--cell', 'gru', '--maxlen', 'abc'],
    stderr: () => "error: option '--maxlen <n>' argument 'abc' is invalid. Expected a whole number of at least 1." + usage,
  },
];

/**
 * Each file's mtime and SHA-256. A file is hashed again only when its inode, size, mtime or ctime changed since
 * it was last hashed: any write changes its ctime, which no process can set back (the 50 MB CSV is not read twice
 * per test).
 */
const hashes = new Map<string, { stat: string; hash: string }>();
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const f = path.join(d, e.name);
      if (e.isDirectory()) walk(f);
      else if (e.isFile()) {
        const st = statSync(f, { bigint: true });
        const stat = `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
        let known = hashes.get(f);
        if (known?.stat !== stat) {
          known = { stat, hash: createHash('sha256').update(readFileSync(f)).digest('hex') };
          hashes.set(f, known);
        }
        out.set(f, `${Number(st.mtimeNs) / 1e6}:${known.hash}`);
      }
    }
  };
  walk(dir);
  return out;
}

for (const c of cases) {
  test(`${c.name}: one line with a fix, exit 1, nothing modified; ${c.code} with --json`, async () => {
    const before = snapshot(w);
    const [r, j] = await Promise.all([runCli(c.args(), { env, input: c.input }), runCli([...c.args(), '--json'], { env, input: c.input })]);
    assert.equal(r.stderr, c.stderr());
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(j.code, 1);
    assert.equal(j.stdout, '');
    assert.equal(jsonErrorOf(j.stderr).code, c.code);
    const after = snapshot(w);
    assert.deepEqual(
      [...after.entries()].filter(([f, h]) => before.get(f) !== h),
      [],
      'no file was modified or added',
    );
    assert.equal(after.size, before.size, 'no file was removed');
    assert.equal(statSync(path.dirname(w)).isDirectory(), true);
    assert.deepEqual(
      readdirSync(path.dirname(w)).filter((n) => n === 'escape.txt'),
      [],
      'nothing was written outside',
    );
  });
}

test('unusual reviews are predicted, not errors: no known words, other scripts, emoji, 1 MB of text', async () => {
  const texts = ['!!! ???', '映画はとても良かった', 'Очень хороший фильм', '🎬🍿👍👍', 'good film'];
  const r = await runCli(['predict', '--model', m('good'), '--json'], {
    env,
    input: [...texts, 'good '.repeat(200_000)].join('\n') + '\n',
  });
  assert.equal(r.code, 0, r.stderr);
  const out = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(out.length, 6);
  assert.deepEqual(
    out.map((o) => [o.words, o.unknownWords]),
    [
      [0, 0],
      [1, 1],
      [3, 3],
      [1, 1],
      [2, 0],
      [200000, 0],
    ],
  );
  assert.equal(out[5].truncatedIds, 200000 - MAXLEN);
  for (const o of out) assert.ok(o.probability > 0 && o.probability < 1);
  // No word of the first four is in the vocabulary: each reaches the model as the same all-padding row, so they
  // get one score (the model's alone); a review with a known word gets another.
  assert.deepEqual(
    out.slice(1, 4).map((o) => o.probability),
    [0, 0, 0].map(() => out[0].probability),
  );
  assert.notEqual(out[4].probability, out[0].probability);
  const human = await runCli(['predict', '--model', m('good'), '!!! ???', '映画はとても良かった'], { env });
  assert.match(
    human.stdout,
    /^(positive|negative)  0\.\d{4}  "!!! \?\?\?"  \(no words: the score is only the model's bias\)\n(positive|negative)  0\.\d{4}  "映画はとても良かった"  \(all 1 words unknown: the score is only the model's bias\)\n$/,
  );
});
