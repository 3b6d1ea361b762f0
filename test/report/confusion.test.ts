/**
 * The confusion-matrix SVG (src/report/confusion.ts): rendered to pixels with resvg (a maintained SVG renderer)
 * to check it is a valid, drawn image, and read back as a reader would: each count under its column's and
 * beside its row's label, each cell shaded by its share of the row.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Resvg } from '@resvg/resvg-js';
import { cellColor, confusionMatrixSvg } from '../../src/report/confusion.js';

/** Every `<tag a="…" …>text</tag>` of the SVG: its attributes and text. */
function elements(svg: string, tag: string): Array<{ attrs: Record<string, string>; text: string }> {
  return [...svg.matchAll(new RegExp(`<${tag} ([^>]*?)/?>(?:([^<]*)</${tag}>)?`, 'g'))].map((m) => ({
    attrs: Object.fromEntries([...m[1]!.matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!])),
    text: m[2] ?? '',
  }));
}

/** The matrix as a reader sees it: each count text matched to the column label above it and the row label left of it. */
function readMatrix(svg: string): { columns: string[]; rows: string[]; cells: Map<string, number> } {
  const texts = elements(svg, 'text');
  const columns = texts.filter((t) => t.attrs.class === 'column');
  const rows = texts.filter((t) => t.attrs.class === 'row');
  const cells = new Map<string, number>();
  for (const t of texts.filter((x) => x.attrs.class === 'count')) {
    const col = columns.find((c) => Math.abs(Number(c.attrs.x) - Number(t.attrs.x)) < 0.01);
    const row = rows.find((r) => Math.abs(Number(r.attrs.y) - Number(t.attrs.y)) < 0.01);
    assert.ok(col && row, `count ${t.text} stands under a column label and beside a row label`);
    cells.set(`${row.text}→${col.text}`, Number(t.text));
  }
  return { columns: columns.map((c) => c.text), rows: rows.map((r) => r.text), cells };
}

const NAMES = ['negative', 'neutral', 'positive'];
// Rows true, columns predicted: neutral is mostly mistaken for the others.
const M = [
  [80, 15, 5],
  [30, 20, 50],
  [2, 8, 90],
];

test('confusion.svg shows every count where its true row and predicted column are', () => {
  const svg = confusionMatrixSvg(M, NAMES, { title: 'gru on 3-class.csv' });
  const read = readMatrix(svg);
  assert.deepEqual(read.columns, NAMES);
  assert.deepEqual(read.rows, NAMES);
  NAMES.forEach((t, i) => NAMES.forEach((p, j) => assert.equal(read.cells.get(`${t}→${p}`), M[i]![j], `${t} predicted ${p}`)));
  // Shaded by the share of the row: the diagonal of a good row is dark, an empty cell white.
  const rect = (t: number, p: number) =>
    elements(svg, 'rect').find((r) => r.attrs['data-true'] === `${t}` && r.attrs['data-predicted'] === `${p}`)!;
  assert.equal(rect(0, 0).attrs.fill, cellColor(0.8));
  assert.equal(rect(1, 2).attrs.fill, cellColor(0.5));
  assert.equal(rect(2, 0).attrs.fill, cellColor(0.02));
});

test('confusion.svg renders: a drawn image, the title escaped, long names cut', () => {
  const names = ['1', '2', '3', '4', '7', '8', '9', 'a very long label <b>&'];
  const m = names.map((_, i) => names.map((__, j) => (i === j ? 990 : i + j)));
  const svg = confusionMatrixSvg(m, names, { title: 'rating <8 classes> & "quotes"' });
  assert.match(svg, /rating &lt;8 classes&gt; &amp; &quot;quotes&quot;/);
  assert.doesNotMatch(svg, /<b>/);
  const img = new Resvg(svg, { font: { loadSystemFonts: true } }).render();
  const width = Number(/width="(\d+)"/.exec(svg)![1]);
  const height = Number(/height="(\d+)"/.exec(svg)![1]);
  assert.deepEqual([img.width, img.height], [width, height]);
  // The eight diagonal cells hold most of their row: dark blue (#1f77b4-ish) pixels, many of them.
  const px = img.pixels; // a copy per access: read it once
  let blue = 0;
  for (let i = 0; i < px.length; i += 4) {
    const [r, g, b] = [px[i]!, px[i + 1]!, px[i + 2]!];
    if (Math.abs(r - 0x2c) < 40 && Math.abs(g - 0x7f) < 40 && Math.abs(b - 0xb8) < 40) blue++;
  }
  assert.ok(blue > 8 * 36 * 36 * 0.5, `${blue} blue pixels`);
});

test('cellColor runs from white (0%) to blue (100%); shapes are checked', () => {
  assert.equal(cellColor(0), '#ffffff');
  assert.equal(cellColor(1), '#1f77b4');
  assert.equal(cellColor(Number.NaN), '#ffffff');
  assert.throws(() => confusionMatrixSvg([[1, 2]], ['a', 'b'], { title: '' }), /2×2/);
  // A row without reviews (a label absent from the test data) is white, its counts 0.
  const svg = confusionMatrixSvg(
    [
      [3, 1, 0],
      [0, 0, 0],
      [1, 0, 4],
    ],
    ['a', 'b', 'c'],
    { title: 't' },
  );
  assert.equal(readMatrix(svg).cells.get('b→b'), 0);
});
