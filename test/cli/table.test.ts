/** The one table helper: the same columns and rows as terminal text and as Markdown. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Chalk } from 'chalk';
import { MISSING } from '../../src/cli/format.js';
import { col, keyValues, markdownTable, textTable } from '../../src/cli/table.js';

test('one table, two renderings: terminal text (aligned, bold header only with colour) and Markdown', () => {
  const columns = [col('cell'), col('params', 'right'), col('test acc', 'right')];
  const rows = [
    ['simplernn', '1,029,441', '85.9%'],
    ['gru', '1,088,769', MISSING],
  ];
  assert.equal(
    textTable(columns, rows),
    'cell          params  test acc\nsimplernn  1,029,441     85.9%\ngru        1,088,769         –\n',
  );
  const c = new Chalk({ level: 1 });
  assert.equal(textTable(columns, rows, { chalk: c }).split('\n')[0], c.bold('cell          params  test acc'));
  assert.equal(
    markdownTable(columns, rows),
    '| cell | params | test acc |\n|---|---:|---:|\n| simplernn | 1,029,441 | 85.9% |\n| gru | 1,088,769 | – |\n',
  );
  assert.equal(markdownTable([col('a|b')], [['x|y']]), '| a\\|b |\n|---|\n| x\\|y |\n', 'a | in a cell is escaped');
  assert.equal(
    textTable([col('a'), col('b', 'right')], [['x', '1']], { gap: 3, indent: '  ', rule: '─' }),
    '  a   b\n  ─────\n  x   1\n  ─────\n',
  );
  assert.equal(
    keyValues([
      ['model', 'm'],
      ['accuracy', '88.2%'],
    ]),
    '  model     m\n  accuracy  88.2%\n',
  );
});
