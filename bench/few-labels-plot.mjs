// The learning curve of bench/few-labels.sh's log as a standalone SVG: test accuracy against labeled reviews
// (log scale), from scratch and from the language model, each seed a dot and the mean a line.
//
//   node bench/few-labels-plot.mjs docs/pretraining-runs.txt "title" > docs/pretraining-curve.svg
import { readFileSync } from 'node:fs';
import { niceTicks } from '../dist/src/report/curves.js';

const [file, title = 'LSTM on IMDB: test accuracy by labeled reviews'] = process.argv.slice(2);
const ALL = 22_500; // "all": the 25,000 labeled training reviews less the 10% validated on
const runs = readFileSync(file, 'utf8')
  .trim()
  .split('\n')
  .filter((l) => !l.startsWith('#'))
  .map((l) => l.trim().split(/\s+/))
  .filter((f) => f.length >= 5)
  .map(([n, seed, arm, , test]) => ({ n: n === 'all' ? ALL : Number(n), seed, arm, test: Number(test) }));
// The arms the log has, in this order: bench/few-labels.sh writes `scratch`, `init` and `init-gu`; docs/pretraining-runs.txt
// names `init` by the language model's epochs (init4, init8, init20), `-gu` with gradual unfreezing, `-self` with --unlabeled.
const ARMS = [
  { arm: 'scratch', name: 'from scratch', color: '#1f77b4' },
  { arm: 'init4', name: 'from the language model, 4 epochs', color: '#ff7f0e' },
  { arm: 'init8', name: 'from the language model, 8 epochs', color: '#d62728' },
  { arm: 'init8-gu', name: '8 epochs, gradual unfreezing', color: '#9467bd' },
  { arm: 'init20', name: '20 epochs (default), gradual unfreezing', color: '#2ca02c' },
  { arm: 'init20-gu-self', name: 'the same, self-trained (--unlabeled)', color: '#8c564b' },
];
const arms = ARMS.filter((a) => runs.some((r) => r.arm === a.arm));
// Only the runs of the arms drawn set the axes (screens by validation have no test accuracy: '-').
const shown = runs.filter((r) => arms.some((a) => a.arm === r.arm));
const sizes = [...new Set(shown.map((r) => r.n))].sort((a, b) => a - b);
const [W, H] = [720, 420];
const P = { top: 56, bottom: 56, left: 64, right: 24 };
const ticks = niceTicks(Math.min(...shown.map((r) => r.test)), Math.max(...shown.map((r) => r.test)));
const [lo, hi] = [ticks[0], ticks[ticks.length - 1]];
const lx = (n) => Math.log10(n);
const [x0, x1] = [lx(sizes[0]) - 0.1, lx(sizes[sizes.length - 1]) + 0.1];
const sx = (n) => P.left + ((lx(n) - x0) / (x1 - x0)) * (W - P.left - P.right);
const sy = (v) => P.top + (1 - (v - lo) / (hi - lo)) * (H - P.top - P.bottom);
const out = [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`,
  `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
  `<text x="${W / 2}" y="28" text-anchor="middle" font-size="15" font-weight="bold" fill="#222">${title}</text>`,
];
for (const t of ticks) {
  out.push(`<line x1="${P.left}" x2="${W - P.right}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="#e5e5e5"/>`);
  out.push(
    `<text x="${P.left - 6}" y="${sy(t).toFixed(1)}" dy="4" text-anchor="end" font-size="11" fill="#444">${Number((t * 100).toPrecision(4))}%</text>`,
  );
}
for (const n of sizes) {
  const label = n === ALL ? 'all (22,500)' : n.toLocaleString('en-US');
  out.push(`<text x="${sx(n).toFixed(1)}" y="${H - P.bottom + 18}" text-anchor="middle" font-size="11" fill="#444">${label}</text>`);
}
out.push(
  `<text x="${(P.left + W - P.right) / 2}" y="${H - 14}" text-anchor="middle" font-size="12" fill="#444">labeled reviews (90% train, 10% validate; log scale)</text>`,
);
out.push(`<rect x="${P.left}" y="${P.top}" width="${W - P.left - P.right}" height="${H - P.top - P.bottom}" fill="none" stroke="#444"/>`);
const meanOf = (arm, n) => {
  const at = runs.filter((r) => r.arm === arm && r.n === n);
  return at.length ? at.reduce((s, r) => s + r.test, 0) / at.length : undefined;
};
/**
 * Where each mean's label goes: above its point for the highest mean at a size, below for the others, in order
 * of their means and at least 12 px apart (close means would print over each other).
 */
const labelY = new Map();
for (const n of sizes) {
  const at = arms.flatMap((a) => (meanOf(a.arm, n) === undefined ? [] : [[a.arm, meanOf(a.arm, n)]])).sort((a, b) => b[1] - a[1]);
  let below = -Infinity;
  at.forEach(([arm, v], k) => {
    const y = k === 0 ? sy(v) - 8 : Math.max(sy(v) + 16, below + 12);
    if (k > 0) below = y;
    labelY.set(`${arm} ${n}`, y);
  });
}
arms.forEach(({ arm, name, color }, i) => {
  const mine = runs.filter((r) => r.arm === arm);
  const means = sizes.flatMap((n) => (meanOf(arm, n) === undefined ? [] : [[n, meanOf(arm, n)]]));
  out.push(
    `<path d="${means.map(([n, v], k) => `${k ? 'L' : 'M'}${sx(n).toFixed(1)} ${sy(v).toFixed(1)}`).join(' ')}" fill="none" stroke="${color}" stroke-width="2"/>`,
  );
  for (const r of mine)
    out.push(`<circle cx="${sx(r.n).toFixed(1)}" cy="${sy(r.test).toFixed(1)}" r="3" fill="${color}" fill-opacity="0.5"/>`);
  for (const [n, v] of means) {
    const last = n === sizes[sizes.length - 1];
    const y = labelY.get(`${arm} ${n}`);
    out.push(
      `<text x="${(sx(n) + (last ? -8 : 8)).toFixed(1)}" y="${y.toFixed(1)}" text-anchor="${last ? 'end' : 'start'}" font-size="11" fill="${color}">${(v * 100).toFixed(1)}%</text>`,
    );
  }
  // The legend in the lower right, where the curves are not.
  const lx0 = W - P.right - 330;
  const ly0 = H - P.bottom - 18 * (arms.length - i) - 24;
  out.push(`<line x1="${lx0}" x2="${lx0 + 24}" y1="${ly0}" y2="${ly0}" stroke="${color}" stroke-width="2"/>`);
  out.push(`<text x="${lx0 + 30}" y="${ly0 + 4}" font-size="12" fill="#222">${name}</text>`);
});
out.push(
  `<text x="${W - P.right - 330}" y="${H - P.bottom - 12}" font-size="11" fill="#444">lines: mean of seeds 42, 1, 2; dots: each seed</text>`,
);
out.push('</svg>');
process.stdout.write(out.join('\n') + '\n');
