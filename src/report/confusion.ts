/**
 * A confusion matrix as a standalone SVG (no dependencies, no scripts, no external fonts or images), for
 * models with three or more labels, like history.svg: rows are the true labels, columns the predicted ones,
 * in label order. Each cell shows its count and is shaded by its share of the row (the row's recall on the
 * diagonal), white at 0% to blue at 100%, so an imbalanced label reads as well as a large one.
 */

export interface ConfusionSvgOptions {
  /** Heading, e.g. the model and data. */
  title: string;
}

const COLORS = { low: [255, 255, 255], high: [0x1f, 0x77, 0xb4], grid: '#d0d0d0', axis: '#444444', text: '#222222' } as const;
const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';
/** Rough width of a character at font size 12 (labels are measured without a font engine). */
const CHAR = 7;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** `s` cut to `n` characters, with an ellipsis when cut. */
function fit(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, Math.max(1, n - 1))}…`;
}

/** The shade of a cell holding `share` of its row: white to blue. */
export function cellColor(share: number): string {
  const s = Math.min(1, Math.max(0, Number.isFinite(share) ? share : 0));
  const c = COLORS.low.map((lo, i) => Math.round(lo + (COLORS.high[i]! - lo) * s));
  return `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

/** The SVG document of a k×k confusion matrix (`confusion[true][predicted]`) with the labels' names. */
export function confusionMatrixSvg(confusion: readonly (readonly number[])[], names: readonly string[], o: ConfusionSvgOptions): string {
  const k = names.length;
  if (k === 0 || confusion.length !== k || confusion.some((row) => row.length !== k)) {
    throw new Error(`confusionMatrixSvg needs a ${k}×${k} matrix`);
  }
  const cell = Math.max(36, Math.min(72, Math.floor(560 / k)));
  const rowLabel = Math.min(24, Math.max(...names.map((n) => n.length)));
  const left = 40 + rowLabel * CHAR + 12;
  const top = 96;
  const gridW = cell * k;
  const W = Math.max(left + gridW + 24, 16 + o.title.length * 8 + 16, 360);
  const H = top + gridW + 40;
  const colChars = Math.max(2, Math.floor((cell - 6) / CHAR));
  const out: string[] = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${FONT}">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="16" y="26" font-size="15" font-weight="bold" fill="${COLORS.text}">${esc(o.title)}</text>`,
    `<text x="${left + gridW / 2}" y="${top - 36}" text-anchor="middle" font-size="12" fill="${COLORS.axis}">predicted label</text>`,
    `<text x="18" y="${top + gridW / 2}" text-anchor="middle" font-size="12" fill="${COLORS.axis}" transform="rotate(-90 18 ${top + gridW / 2})">true label</text>`,
  ];
  names.forEach((name, c) => {
    const x = left + c * cell + cell / 2;
    out.push(
      `<text class="column" x="${x}" y="${top - 10}" text-anchor="middle" font-size="12" fill="${COLORS.text}">${esc(fit(name, colChars))}</text>`,
    );
    const y = top + c * cell + cell / 2;
    out.push(
      `<text class="row" x="${left - 8}" y="${y}" dy="4" text-anchor="end" font-size="12" fill="${COLORS.text}">${esc(fit(name, rowLabel))}</text>`,
    );
  });
  confusion.forEach((row, t) => {
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((n, p) => {
      const share = total > 0 ? n / total : 0;
      const x = left + p * cell;
      const y = top + t * cell;
      out.push(
        `<rect class="cell" data-true="${t}" data-predicted="${p}" x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${cellColor(share)}" stroke="${COLORS.grid}"/>`,
      );
      const ink = share > 0.5 ? '#ffffff' : COLORS.text;
      const pct = total > 0 ? `${Math.round(share * 100)}%` : '';
      out.push(
        `<text class="count" x="${x + cell / 2}" y="${y + cell / 2}" dy="${pct ? -1 : 4}" text-anchor="middle" font-size="12" fill="${ink}">${n}</text>`,
      );
      if (pct)
        out.push(`<text x="${x + cell / 2}" y="${y + cell / 2}" dy="13" text-anchor="middle" font-size="10" fill="${ink}">${pct}</text>`);
    });
  });
  out.push(`<rect x="${left}" y="${top}" width="${gridW}" height="${gridW}" fill="none" stroke="${COLORS.axis}"/>`);
  out.push(`</svg>`, '');
  return out.join('\n');
}
