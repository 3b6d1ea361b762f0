/**
 * Every error a user can provoke: one line with a fix on stderr, exit 1, no stack trace, stdout empty; with
 * --json, the same error as one JSON line carrying its code.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { escapeRegExp, jsonErrorOf, runCli, tempDir, ROOT } from '../helpers.js';
import type { ErrorCode } from '../../src/errors.js';

let work = '';
let env: NodeJS.ProcessEnv = {};
before(async () => {
  work = await tempDir('rnn-errors-');
  env = {
    RNN_MODELS_DIR: path.join(work, 'models'),
    RNN_DATA_DIR: path.join(work, 'data'),
    RNN_IMDB_URL: 'http://nonexistent.invalid/aclImdb_v1.tar.gz',
  };
  await fsp.writeFile(path.join(work, 'nocol.csv'), 'body,sentiment\nnice,positive\n');
  await fsp.writeFile(path.join(work, 'empty.csv'), 'review,sentiment\n');
  await fsp.writeFile(path.join(work, 'two.csv'), 'review,sentiment\ngreat film,positive\nawful film,negative\n');
});

const usage = '\n(run with --help for usage)\n';
/** `code`: the error's code, checked by running the command again with --json (rnn serve has no --json). */
const cases: Array<{
  name: string;
  code?: ErrorCode;
  args: (w: string) => string[];
  stderr: (w: string) => string | RegExp;
  input?: string;
}> = [
  {
    name: 'unknown cell',
    code: 'OPTION_INVALID',
    args: () => ['train', '--cell', 'foo'],
    stderr: () => "error: option '--cell <cell>' argument 'foo' is invalid. Allowed cells are simplernn, lstm, gru." + usage,
  },
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
    name: '--maxlen abc',
    code: 'OPTION_INVALID',
    args: () => ['train', '--cell', 'gru', '--maxlen', 'abc'],
    stderr: () => "error: option '--maxlen <n>' argument 'abc' is invalid. Expected a whole number of at least 1." + usage,
  },
  {
    name: 'rnn serve --timeout beyond a timer',
    args: () => ['serve', '--timeout', '3000000000'],
    stderr: () => "error: option '--timeout <ms>' argument '3000000000' is invalid. Expected at most 2147483647 milliseconds." + usage,
  },
  {
    name: 'rnn serve --log-level loud',
    args: () => ['serve', '--log-level', 'loud'],
    stderr: () =>
      "error: option '--log-level <level>' argument 'loud' is invalid. Allowed choices are fatal, error, warn, info, debug, trace, silent." +
      usage,
  },
  {
    name: '--validation-split 1',
    code: 'OPTION_INVALID',
    args: () => ['train', '--cell', 'gru', '--validation-split', '1'],
    stderr: () =>
      "error: option '--validation-split <f>' argument '1' is invalid. Expected a number from 0 up to (not including) 1." + usage,
  },
  {
    name: '--lr 0',
    code: 'OPTION_INVALID',
    args: () => ['train', '--cell', 'gru', '--lr', '0'],
    stderr: () => "error: option '--lr <rate>' argument '0' is invalid. Expected a number greater than 0." + usage,
  },
  {
    name: '--monitor accuracy',
    code: 'OPTION_INVALID',
    args: () => ['train', '--cell', 'gru', '--monitor', 'accuracy'],
    stderr: () =>
      "error: option '--monitor <metric>' argument 'accuracy' is invalid. Allowed metrics are val_acc, val_loss, acc, loss." + usage,
  },
  {
    name: '--monitor val_loss without validation',
    code: 'OPTION_CONFLICT',
    args: () => ['train', '--cell', 'gru', '--monitor', 'val_loss', '--validation-split', '0'],
    stderr: () =>
      'error: --monitor val_loss needs validation reviews, but --validation-split is 0. Pass --monitor acc or loss, or a --validation-split above 0\n',
  },
  {
    name: '--early-stopping 0',
    code: 'OPTION_INVALID',
    args: () => ['train', '--cell', 'lstm', '--early-stopping', '0'],
    stderr: () => "error: option '--early-stopping <patience>' argument '0' is invalid. Expected a whole number of at least 1." + usage,
  },
  {
    name: '--lr-schedule step',
    code: 'OPTION_INVALID',
    args: () => ['train', '--cell', 'lstm', '--lr-schedule', 'step'],
    stderr: () =>
      "error: option '--lr-schedule <spec>' argument 'step' is invalid. Expected constant, plateau[:FACTOR[:PATIENCE]], exponential[:GAMMA], cosine or slanted[:CUT_FRAC[:RATIO]] (e.g. plateau:0.5:1)." +
      usage,
  },
  {
    name: '--ema 1',
    code: 'OPTION_INVALID',
    args: () => ['train', '--cell', 'lstm', '--ema', '1'],
    stderr: () => "error: option '--ema <momentum>' argument '1' is invalid. Expected a number between 0 and 1 (e.g. 0.995)." + usage,
  },
  {
    name: '--pseudo-share 0',
    code: 'OPTION_INVALID',
    args: () => ['train', '--cell', 'lstm', '--unlabeled', 'texts.txt', '--pseudo-share', '0'],
    stderr: () => "error: option '--pseudo-share <f>' argument '0' is invalid. Expected a number above 0, up to 1." + usage,
  },
  {
    name: '--clip-norm 0',
    code: 'OPTION_INVALID',
    args: () => ['train', '--cell', 'lstm', '--clip-norm', '0'],
    stderr: () => "error: option '--clip-norm <c>' argument '0' is invalid. Expected a number greater than 0." + usage,
  },
  {
    name: '--word-dropout 1',
    code: 'OPTION_INVALID',
    args: () => ['train', '--cell', 'lstm', '--word-dropout', '1'],
    stderr: () => "error: option '--word-dropout <p>' argument '1' is invalid. Expected a number from 0 up to (not including) 1." + usage,
  },
  {
    name: 'compare --cells lstm,rnn',
    code: 'OPTION_INVALID',
    args: () => ['compare', '--cells', 'lstm,rnn'],
    stderr: () =>
      "error: option '--cells <list>' argument 'lstm,rnn' is invalid. Unknown cell \"rnn\"; allowed cells are simplernn, lstm, gru." +
      usage,
  },
  {
    name: 'compare on a CSV with no rows held out',
    code: 'DATA_NO_TEST_REVIEWS',
    args: (w) => ['compare', '--data', path.join(w, 'two.csv'), '--test-split', '0'],
    stderr: () =>
      'warning: --test-split 0: all 2 reviews of two.csv train the model and none is left to test it; rnn eval will refuse to score this file (it would score training data)\n' +
      'error: the data has no test reviews. Pass --data with a test split (aclImdb), or hold out CSV rows with --test-split above 0\n',
  },
  {
    name: 'info with no trained model',
    code: 'MODEL_NOT_FOUND',
    args: () => ['info'],
    stderr: (w) =>
      `error: no trained model in ${path.join(w, 'models')} (models/latest is missing). Train one with \`rnn train --cell lstm\`, or pass --model DIR\n`,
  },
  {
    name: 'info on a directory without metadata',
    code: 'MODEL_FILE_MISSING',
    args: (w) => ['info', '--model', w],
    stderr: (w) =>
      `error: ${path.join(w, 'metadata.json')} is missing. Retrain with \`rnn train --out ${w}\` or pass --model with a complete model directory\n`,
  },
  {
    name: 'no --cell',
    code: 'OPTION_REQUIRED',
    args: () => ['train'],
    stderr: () => "error: required option '--cell <cell>' not specified" + usage,
  },
  {
    name: 'missing data file',
    code: 'DATA_NOT_FOUND',
    args: () => ['train', '--cell', 'lstm', '--data', '/nonexistent/reviews.csv'],
    stderr: () =>
      'error: /nonexistent/reviews.csv does not exist. Pass --data with an aclImdb directory, aclImdb_v1.tar.gz, an http(s) URL or a CSV file\n',
  },
  {
    name: 'bad CSV column',
    code: 'DATA_CSV_COLUMN_MISSING',
    args: (w) => ['train', '--cell', 'lstm', '--data', path.join(w, 'nocol.csv')],
    stderr: (w) =>
      `error: ${path.join(w, 'nocol.csv')} has no text column (looked for review, text, sentence, content; columns: body, sentiment). Pass --text-column to name it\n`,
  },
  {
    name: 'empty dataset',
    code: 'DATA_EMPTY',
    args: (w) => ['train', '--cell', 'lstm', '--data', path.join(w, 'empty.csv')],
    stderr: (w) => `error: ${path.join(w, 'empty.csv')} has no reviews. Use a CSV with a header row and at least one labeled review\n`,
  },
  {
    name: 'offline with no source',
    code: 'DATA_DOWNLOAD_FAILED',
    args: () => ['data'],
    stderr: () =>
      /^error: could not download http:\/\/nonexistent\.invalid\/aclImdb_v1\.tar\.gz: \S+\. Pass --data with an aclImdb directory, aclImdb_v1\.tar\.gz or a CSV file, or set RNN_IMDB_URL to a reachable copy\n$/,
  },
  {
    name: 'eval with no trained model',
    code: 'MODEL_NOT_FOUND',
    args: () => ['eval'],
    stderr: (w) =>
      `error: no trained model in ${path.join(w, 'models')} (models/latest is missing). Train one with \`rnn train --cell lstm\`, or pass --model DIR\n`,
  },
  {
    name: 'predict with a missing model',
    code: 'MODEL_NOT_FOUND',
    args: (w) => ['predict', '--model', path.join(w, 'nope'), 'great'],
    stderr: (w) => `error: model directory ${path.join(w, 'nope')} does not exist. Train one with \`rnn train\` or pass --model DIR\n`,
  },
  {
    name: 'predict with empty stdin',
    code: 'PREDICT_INPUT_EMPTY',
    args: () => ['predict', '--model', path.join(ROOT, 'nope')],
    input: '\n\n',
    stderr: () => 'error: the input held no reviews. Give at least one non-empty line\n',
  },
  {
    name: 'predict with texts and --file',
    code: 'OPTION_CONFLICT',
    args: () => ['predict', '--file', 'x.txt', 'great'],
    stderr: () => 'error: both review texts and --file were given. Pass either texts or --file\n',
  },
];

for (const c of cases) {
  test(`${c.name}: one line with a fix, exit 1${c.code ? `; ${c.code} with --json` : ''}`, async () => {
    const [r, j] = await Promise.all([
      runCli(c.args(work), { env, input: c.input }),
      c.code ? runCli([...c.args(work), '--json'], { env, input: c.input }) : undefined,
    ]);
    assert.equal(r.code, 1);
    const stderr = r.stderr;
    const want = c.stderr(work);
    if (typeof want === 'string') assert.equal(stderr, want);
    else assert.match(stderr, want);
    assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
    assert.equal(r.stdout, '');
    if (j) {
      assert.equal(j.code, 1);
      assert.equal(j.stdout, '');
      const e = jsonErrorOf(j.stderr);
      assert.equal(e.code, c.code);
      // The same error as the human line: what failed, then the fix (commander's: its message, then --help).
      const line = stderr.split('\n').find((l) => l.startsWith('error: '))!;
      if (line.endsWith(e.fix)) assert.equal(line, `error: ${e.message}. ${e.fix}`);
      else assert.match(line, new RegExp(`^error: ${escapeRegExp(e.message)}\\.?$`));
    }
  });
}

test('--debug adds the stack trace', async () => {
  const r = await runCli(['--debug', 'eval'], { env });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /error: no trained model in .*\n(.*\n)*\s+at /);
});
