/**
 * Learning curves: tick values, and the SVG rendered to pixels with resvg (a maintained SVG renderer) to
 * check it is a valid, drawn image: the expected size, and the train (blue) and validation (red) lines present.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Resvg } from '@resvg/resvg-js';
import { learningCurvesSvg, niceTicks } from '../../src/report/curves.js';
import type { EpochLog } from '../../src/train/index.js';

const tickCases: Array<[number, number, number[]]> = [
  [0.2, 1.0, [0.2, 0.4, 0.6, 0.8, 1]],
  [0.48, 0.92, [0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]],
  [0.5231, 0.5279, [0.523, 0.524, 0.525, 0.526, 0.527, 0.528]],
  [0.5, 0.5, [0.46, 0.48, 0.5, 0.52, 0.54]], // a flat series gets ±5% around it
];
for (const [lo, hi, want] of tickCases) {
  test(`niceTicks(${lo}, ${hi})`, () => assert.deepEqual(niceTicks(lo, hi), want));
}

const epoch = (i: number, loss: number, acc: number, val?: [number, number]): EpochLog => ({
  epoch: i, loss, acc, lr: 1e-3, best: false, seconds: 1, samplesPerSec: 1, ...(val ? { val_loss: val[0], val_acc: val[1] } : {}),
});

/** Counts pixels close to an RGB colour. */
function countColor(png: { pixels: Buffer; width: number; height: number }, rgb: [number, number, number]): number {
  let n = 0;
  for (let i = 0; i < png.pixels.length; i += 4) {
    if (Math.abs(png.pixels[i]! - rgb[0]) < 30 && Math.abs(png.pixels[i + 1]! - rgb[1]) < 30 && Math.abs(png.pixels[i + 2]! - rgb[2]) < 30) n++;
  }
  return n;
}

function render(svg: string): { pixels: Buffer; width: number; height: number } {
  const img = new Resvg(svg, { font: { loadSystemFonts: true } }).render();
  return { pixels: img.pixels, width: img.width, height: img.height };
}

const BLUE: [number, number, number] = [0x1f, 0x77, 0xb4];
const RED: [number, number, number] = [0xd6, 0x27, 0x28];

test('history.svg renders: 820×360, train and validation lines drawn, title escaped', () => {
  // The seed-42 SimpleRNN history from the README's `rnn compare` run shape: validation peaks at epoch 1.
  const h = [epoch(1, 0.61, 0.65, [0.47, 0.79]), epoch(2, 0.56, 0.73, [0.61, 0.67]), epoch(3, 0.5, 0.78, [0.6, 0.67])];
  const svg = learningCurvesSvg(h, { title: 'simplernn <test> & "quotes"', bestEpoch: 1 });
  assert.match(svg, /simplernn &lt;test&gt; &amp; &quot;quotes&quot;/);
  const png = render(svg);
  assert.equal(png.width, 820);
  assert.equal(png.height, 360);
  assert.ok(countColor(png, BLUE) > 300, 'train lines and markers');
  assert.ok(countColor(png, RED) > 300, 'validation lines and markers');
});

test('history.svg without validation and with one epoch: only the train series, still valid', () => {
  const svg = learningCurvesSvg([epoch(1, 0.69, 0.52)], { title: 'gru' });
  const png = render(svg);
  assert.ok(countColor(png, BLUE) > 20, 'a train marker');
  assert.equal(countColor(png, RED), 0, 'no validation series');
  assert.doesNotMatch(svg, /validation/);
  assert.throws(() => learningCurvesSvg([], { title: 'x' }), /at least one epoch/);
});
