/**
 * Learning curves: tick values, and the SVG rendered to pixels with resvg (a maintained SVG renderer) to
 * check it is a valid, drawn image: the expected size, and the train (blue) and validation (red) lines present.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Resvg } from '@resvg/resvg-js';
import { learningCurvesSvg, niceTicks } from '../../src/report/curves.js';
import type { EpochLog } from '../../src/train/types.js';

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
  epoch: i,
  loss,
  acc,
  lr: 1e-3,
  best: false,
  seconds: 1,
  samplesPerSec: 1,
  ...(val ? { val_loss: val[0], val_acc: val[1] } : {}),
});

/** Counts pixels close to an RGB colour. */
function countColor(png: { pixels: Buffer; width: number; height: number }, rgb: [number, number, number]): number {
  let n = 0;
  for (let i = 0; i < png.pixels.length; i += 4) {
    if (Math.abs(png.pixels[i]! - rgb[0]) < 30 && Math.abs(png.pixels[i + 1]! - rgb[1]) < 30 && Math.abs(png.pixels[i + 2]! - rgb[2]) < 30)
      n++;
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
  // The seed-42 SimpleRNN history from the `rnn compare` run in docs/experiments.md, in shape: validation peaks at epoch 1.
  const h = [epoch(1, 0.61, 0.65, [0.47, 0.79]), epoch(2, 0.56, 0.73, [0.61, 0.67]), epoch(3, 0.5, 0.78, [0.6, 0.67])];
  const svg = learningCurvesSvg(h, { title: 'simplernn <test> & "quotes"', bestEpoch: 1 });
  assert.match(svg, /simplernn &lt;test&gt; &amp; &quot;quotes&quot;/);
  const png = render(svg);
  assert.equal(png.width, 820);
  assert.equal(png.height, 360);
  assert.ok(countColor(png, BLUE) > 300, 'train lines and markers');
  assert.ok(countColor(png, RED) > 300, 'validation lines and markers');
});

/** Every `<tag a="…" …>text</tag>` of the SVG: its attributes and text. */
function elements(svg: string, tag: string): Array<{ attrs: Record<string, string>; text: string }> {
  return [...svg.matchAll(new RegExp(`<${tag} ([^>]*?)/?>(?:([^<]*)</${tag}>)?`, 'g'))].map((m) => ({
    attrs: Object.fromEntries([...m[1]!.matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!])),
    text: m[2] ?? '',
  }));
}

/**
 * Reads the chart back as a reader would, without the renderer's geometry: each panel's value scale from its tick
 * labels, each epoch's x from the labels under the axis, then every marker (a circle in a series' colour) decoded
 * to its epoch and value; and where the best-epoch line stands.
 */
function readChart(
  svg: string,
): Array<{ ticks: number; train: Array<[number, number]>; validation: Array<[number, number]>; best?: number }> {
  const texts = elements(svg, 'text');
  const circles = elements(svg, 'circle').filter((c) => Number(c.attrs.cy) !== 46); // not the legend's
  const bestLines = elements(svg, 'line').filter((l) => l.attrs.stroke === '#2ca02c');
  const ticks = texts.filter((t) => t.attrs['text-anchor'] === 'end');
  const epochLabels = texts.filter((t) => t.attrs['text-anchor'] === 'middle' && /^\d+$/.test(t.text));
  // Two panels side by side: the loss on the left half, the accuracy on the right.
  return [(x: number) => x < 410, (x: number) => x >= 410].map((inPanel) => {
    const scale = ticks
      .filter((t) => inPanel(Number(t.attrs.x)))
      .map((t) => [parseFloat(t.text) / (t.text.endsWith('%') ? 100 : 1), Number(t.attrs.y)] as const);
    const [v0, y0] = scale[0]!;
    const [v1, y1] = scale.at(-1)!;
    // Larger values higher up (smaller y), as a reader expects.
    scale
      .slice(1)
      .forEach(([v, y], i) =>
        assert.ok(v > scale[i]![0] && y < scale[i]![1], `tick ${v} at y ${y} stands above tick ${scale[i]![0]} at y ${scale[i]![1]}`),
      );
    const value = (y: number): number => v0 + ((y - y0) / (y1 - y0)) * (v1 - v0);
    const epochs = epochLabels.filter((t) => inPanel(Number(t.attrs.x)));
    const epochAt = (x: number): number => {
      const e = epochs.find((t) => Math.abs(Number(t.attrs.x) - x) < 0.05);
      assert.ok(e, `a marker at x ${x} stands over an epoch label`);
      return Number(e.text);
    };
    const series = (fill: string): Array<[number, number]> =>
      circles
        .filter((c) => c.attrs.fill === fill && inPanel(Number(c.attrs.cx)))
        .map((c) => [epochAt(Number(c.attrs.cx)), value(Number(c.attrs.cy))]);
    const best = bestLines.filter((l) => inPanel(Number(l.attrs.x1)));
    return {
      ticks: scale.length,
      train: series('#1f77b4'),
      validation: series('#d62728'),
      ...(best.length ? { best: epochAt(Number(best[0]!.attrs.x1)) } : {}),
    };
  });
}

test("history.svg plots the history: every marker reads back as its epoch's value, the best epoch is marked where it is", () => {
  const h = [
    epoch(1, 0.61, 0.65, [0.47, 0.79]),
    epoch(2, 0.56, 0.73, [0.61, 0.67]),
    epoch(3, 0.5, 0.78, [0.6, 0.67]),
    epoch(4, 0.44, 0.81, [0.66, 0.66]),
  ];
  const chart = readChart(learningCurvesSvg(h, { title: 'gru', bestEpoch: 1 }));
  // Coordinates are written to 0.1 px over a ~230 px panel: values read back within 0.05% of the axis range.
  const close = (got: Array<[number, number]>, want: number[], range: number, what: string): void => {
    assert.deepEqual(
      got.map(([e]) => e),
      want.map((_, i) => i + 1),
      `${what}: one marker per epoch, in order`,
    );
    got.forEach(([e, v], i) => assert.ok(Math.abs(v - want[i]!) < range * 5e-4, `${what} epoch ${e}: reads ${v}, is ${want[i]}`));
  };
  const [loss, acc] = chart as [(typeof chart)[0], (typeof chart)[0]];
  close(
    loss.train,
    h.map((e) => e.loss),
    0.3,
    'train loss',
  );
  close(
    loss.validation,
    h.map((e) => e.val_loss!),
    0.3,
    'validation loss',
  );
  close(
    acc.train,
    h.map((e) => e.acc),
    0.2,
    'train accuracy',
  );
  close(
    acc.validation,
    h.map((e) => e.val_acc!),
    0.2,
    'validation accuracy',
  );
  assert.deepEqual([loss.best, acc.best], [1, 1]);
  assert.ok(loss.ticks >= 3 && acc.ticks >= 3, 'each axis labelled');
});

test('history.svg without validation and with one epoch: only the train series, still valid', () => {
  const svg = learningCurvesSvg([epoch(1, 0.69, 0.52)], { title: 'gru' });
  const png = render(svg);
  assert.ok(countColor(png, BLUE) > 20, 'a train marker');
  assert.equal(countColor(png, RED), 0, 'no validation series');
  assert.doesNotMatch(svg, /validation/);
  assert.throws(() => learningCurvesSvg([], { title: 'x' }), /at least one epoch/);
});
