import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chalkFor } from '../../src/cli/render.js';
import { resolveCliEnv } from '../../src/cli/env.js';
import { Chalk } from 'chalk';
import { renderExplanation } from '../../src/cli/commands/predict.js';
import type { Explanation } from '../../src/explain/occlusion.js';

const cases: Array<{ name: string; isTTY: boolean; env: NodeJS.ProcessEnv; coloured: boolean }> = [
  { name: 'a terminal', isTTY: true, env: {}, coloured: true },
  { name: 'a pipe', isTTY: false, env: {}, coloured: false },
  { name: 'a terminal with NO_COLOR=1', isTTY: true, env: { NO_COLOR: '1' }, coloured: false },
  { name: 'a terminal with NO_COLOR empty (no-color.org: ignored)', isTTY: true, env: { NO_COLOR: '' }, coloured: true },
];
for (const c of cases) {
  test(`colours on ${c.name}: ${c.coloured ? 'on' : 'off'}`, () => {
    const chalk = chalkFor({ isTTY: c.isTTY }, resolveCliEnv(c.env).colorAllowed);
    assert.equal(chalk.level > 0, c.coloured);
    assert.equal(chalk.red('x') === 'x', !c.coloured);
  });
}

const explanation: Explanation = {
  label: 'negative',
  probability: 0.1,
  method: 'occlusion',
  separators: ['', ' ', ' ', ' '],
  trailing: '.',
  words: [
    { text: 'Dull,', tokens: ['dull'], contribution: -2, probabilityWithout: 0.3, seen: true },
    { text: 'but', tokens: ['but'], contribution: 0.1, probabilityWithout: 0.09, seen: true },
    { text: 'fine', tokens: ['fine'], contribution: 0.8, probabilityWithout: 0.05, seen: true },
    { text: 'xyzzy', tokens: ['xyzzy'], contribution: 0, probabilityWithout: 0.1, seen: false },
  ],
};

test('renderExplanation: words coloured by contribution (strong bold red/green, weak plain, unseen dim); plain without colour', () => {
  const c = new Chalk({ level: 1 });
  const out = renderExplanation(explanation, c, 5);
  const body = out.split('\n')[1]!;
  assert.equal(body, `  ${c.red.bold('Dull,')} but ${c.green('fine')} ${c.dim('xyzzy')}.`);
  assert.equal(
    renderExplanation(explanation, new Chalk({ level: 0 }), 1),
    'negative  0.1000\n  Dull, but fine xyzzy.\n  most positive: fine +0.80\n  most negative: dull −2.00\n' +
      '  contribution = change in log-odds when the word is removed; dim words never reached the model\n',
  );
});
