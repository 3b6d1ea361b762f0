import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { addTrainingOptions, trainOptionsFromFlags, type TrainingFlags } from '../../src/cli/training.js';
import { PRESETS, TRAIN_DEFAULTS, resolveTrainOptions } from '../../src/train/options.js';
import { describePresets, presetOption } from '../../src/cli/training.js';

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

// The help text shows the defaults resolveTrainOptions applies: both read TRAIN_DEFAULTS, so they cannot disagree.
test("every default in the training flags' help is the one TRAIN_DEFAULTS holds and resolveTrainOptions applies", () => {
  const cmd = addTrainingOptions(new Command());
  const help = (flag: string): string => cmd.options.find((o) => o.long === flag)!.description;
  const resolved = resolveTrainOptions({ cell: 'lstm', seed: 1 });
  const shown: Array<[string, keyof typeof TRAIN_DEFAULTS, string]> = [
    ['--epochs', 'epochs', `default ${resolved.epochs}`],
    ['--batch-size', 'batchSize', `default ${resolved.batchSize}`],
    ['--lr', 'lr', `default ${resolved.lr}`],
    ['--validation-split', 'validationSplit', `default ${resolved.validationSplit}`],
    ['--units', 'units', `default ${resolved.units}`],
    ['--embedding-dim', 'embeddingDim', `default ${resolved.embeddingDim}`],
    ['--vocab-size', 'vocabSize', `default ${resolved.vocabSize}`],
    ['--maxlen', 'maxlen', `default ${resolved.maxlen}`],
    ['--pooling', 'pooling', `default ${resolved.pooling}`],
    ['--bidirectional', 'bidirectional', `default ${resolved.bidirectional ? 'on' : 'off'}`],
    ['--padding', 'padding', `default '${resolved.padding}'`],
    ['--truncating', 'truncating', `default '${resolved.truncating}'`],
    ['--layers', 'layers', `default ${resolved.layers}`],
    ['--lr-schedule', 'lrSchedule', `default ${resolved.lrSchedule.kind}`],
    ['--ema', 'ema', `default ${resolved.ema}`],
    ['--clip-norm', 'clipNorm', `default ${resolved.clipNorm}`],
    ['--word-dropout', 'wordDropout', `default ${resolved.wordDropout}`],
  ];
  for (const [flag, key, text] of shown) {
    assert.deepEqual(resolved[key], TRAIN_DEFAULTS[key], key);
    assert.ok(help(flag).includes(text), `${flag}: "${help(flag)}" should say "${text}"`);
  }
  assert.ok(help('--monitor').includes(`default ${resolved.monitor}`));
  assert.equal(resolveTrainOptions({ cell: 'lstm', validationSplit: 0 }).monitor, 'acc');
  assert.ok(help('--monitor').includes('acc without validation reviews'));
});

// --preset starts from a named set of values; the flags given override it, in either direction.
const presetCases: Array<{
  args: string[];
  want: { bidirectional: boolean; pooling: string; maxlen: number; vocabSize: number; units: number };
}> = [
  { args: [], want: { bidirectional: false, pooling: 'last', maxlen: 256, vocabSize: 10000, units: 128 } },
  {
    args: ['--bidirectional', '--pooling', 'mean'],
    want: { bidirectional: true, pooling: 'mean', maxlen: 256, vocabSize: 10000, units: 128 },
  },
  { args: ['--preset', 'lesson'], want: { bidirectional: false, pooling: 'last', maxlen: 256, vocabSize: 10000, units: 128 } },
  { args: ['--preset', 'best'], want: { ...PRESETS.best, units: 128 } },
  { args: ['--preset', 'best', '--no-bidirectional'], want: { ...PRESETS.best, bidirectional: false, units: 128 } },
  {
    args: ['--preset', 'best', '--pooling', 'last', '--maxlen', '256', '--units', '64'],
    want: { ...PRESETS.best, pooling: 'last', maxlen: 256, units: 64 },
  },
];
for (const c of presetCases) {
  test(`rnn train ${c.args.join(' ') || '(no flags)'}: the architecture and preprocessing it trains`, () => {
    const cmd = addTrainingOptions(new Command().exitOverride()).addOption(presetOption());
    cmd.parse(c.args, { from: 'user' });
    const o = trainOptionsFromFlags(cmd.opts<TrainingFlags>(), 'gru');
    assert.deepEqual(
      { bidirectional: o.bidirectional, pooling: o.pooling, maxlen: o.maxlen, vocabSize: o.vocabSize, units: o.units },
      c.want,
    );
    assert.equal(o.preset, c.args.includes('best') ? 'best' : 'lesson');
  });
}

test('the help of --preset lists what each preset sets, from PRESETS', () => {
  assert.equal(describePresets(), 'lesson (the defaults); best (bidirectional, pooling max, maxlen 400, vocab size 40000)');
  assert.deepEqual(Object.keys(PRESETS), ['lesson', 'best']);
  const cmd = addTrainingOptions(new Command().exitOverride()).addOption(presetOption());
  cmd.configureOutput({ writeErr: () => {} });
  assert.throws(() => cmd.parse(['--preset', 'fast'], { from: 'user' }), { code: 'commander.invalidArgument' });
  assert.throws(() => cmd.parse(['--pooling', 'sum'], { from: 'user' }), { code: 'commander.invalidArgument' });
});
