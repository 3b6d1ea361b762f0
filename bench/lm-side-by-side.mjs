// rnn's language-model training step beside Keras 3's, in one run (docs/pretraining.md): bench/lm-output.mjs
// (rnn's three ways to run a step) and bench/keras_lm_reference.py (Keras 3 on TensorFlow, the same model and
// rows) in turn, ROUNDS times each, alternating; prints each way's median step time over the rounds, its
// tokens/s (predicted words) and the output layer's share, as JSON then as a Markdown table. Run after
// `npm run build`, under the exclusive lock, with a Python that has tensorflow-cpu (2.21) and Keras 3:
//
//   flock /tmp/rnn-quiet.lock node bench/lm-side-by-side.mjs path/to/aclImdb_v1.tar.gz PYTHON [CELL [ROUNDS [STEPS]]]
import { execFileSync } from 'node:child_process';
import { fileURLToPath, URL } from 'node:url';

const [archive, python, cell = 'lstm', rounds = '2', steps = '20'] = process.argv.slice(2);
if (!archive || !python) throw new Error('usage: node bench/lm-side-by-side.mjs ARCHIVE PYTHON [CELL [ROUNDS [STEPS]]]');
const here = (f) => fileURLToPath(new URL(f, import.meta.url));
const shape = [cell, steps, '32', '256', '10000'];
const sides = [
  () =>
    execFileSync(process.execPath, [here('lm-output.mjs'), archive, ...shape, 'rows'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }),
  () => execFileSync(python, [here('keras_lm_reference.py'), archive, ...shape], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
];
const byWay = new Map();
for (let r = 0; r < +rounds; r++)
  for (const side of r % 2 === 0 ? sides : [...sides].reverse()) {
    const out = JSON.parse(side());
    for (const row of out.rows) {
      const key = `${row.way}|${row.kind}`;
      if (!byWay.has(key)) byWay.set(key, []);
      byWay.get(key).push(row);
    }
  }
const median = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
const rows = [...byWay.entries()].map(([key, rs]) => {
  const [way, kind] = key.split('|');
  return {
    way,
    kind,
    msPerStep: median(rs.map((r) => r.msPerStep)),
    tokensPerSec: median(rs.map((r) => r.tokensPerSec)),
    outputShare: median(rs.map((r) => r.outputShare)),
    rounds: rs.map((r) => Math.round(r.msPerStep)),
  };
});
console.log(JSON.stringify({ cell, rounds: +rounds, steps: +steps, rows }));
console.log('\n| way | output layer | ms per step (each round) | tokens/s | output layer share |\n|---|---|--:|--:|--:|');
for (const r of rows)
  console.log(
    `| ${r.way} | ${r.kind} | ${r.msPerStep.toFixed(1)} (${r.rounds.join(', ')}) | ${Math.round(r.tokensPerSec).toLocaleString('en-US')} | ${r.kind === 'body' ? '–' : `${Math.round(100 * r.outputShare)}%`} |`,
  );
