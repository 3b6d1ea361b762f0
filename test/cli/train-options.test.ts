import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { addTrainingOptions, trainOptionsFromFlags, type TrainingFlags } from '../../src/cli/train-options.js';

// The flags of the weight average, word dropout and gradient clip, as commander parses them into TrainOptions.
const cases: Array<{ args: string[]; ema: number | null; wordDropout: number; clipNorm: number | null }> = [
  { args: [], ema: 0.995, wordDropout: 0.4, clipNorm: 1 },
  { args: ['--no-ema'], ema: null, wordDropout: 0.4, clipNorm: 1 },
  { args: ['--ema', '0.9'], ema: 0.9, wordDropout: 0.4, clipNorm: 1 },
  { args: ['--word-dropout', '0'], ema: 0.995, wordDropout: 0, clipNorm: 1 },
  { args: ['--word-dropout', '0.4', '--no-ema'], ema: null, wordDropout: 0.4, clipNorm: 1 },
  { args: ['--clip-norm', '0.5'], ema: 0.995, wordDropout: 0.4, clipNorm: 0.5 },
  { args: ['--no-clip-norm'], ema: 0.995, wordDropout: 0.4, clipNorm: null },
  { args: ['--no-clip-norm', '--no-ema', '--word-dropout', '0'], ema: null, wordDropout: 0, clipNorm: null },
];
for (const c of cases) {
  test(`rnn train ${c.args.join(' ') || '(no flags)'}: ema ${c.ema}, word dropout ${c.wordDropout}, clip norm ${c.clipNorm}`, () => {
    const cmd = addTrainingOptions(new Command().exitOverride());
    cmd.parse(c.args, { from: 'user' });
    const o = trainOptionsFromFlags(cmd.opts<TrainingFlags>(), 'lstm');
    assert.equal(o.ema, c.ema);
    assert.equal(o.wordDropout, c.wordDropout);
    assert.equal(o.clipNorm, c.clipNorm);
  });
}
