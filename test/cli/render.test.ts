import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chalkFor } from '../../src/cli/render.js';
import { resolveCliEnv } from '../../src/cli/env.js';

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
