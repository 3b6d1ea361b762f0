/**
 * Learning curves as a standalone SVG (no dependencies, no scripts, no external fonts or images): loss and
 * accuracy per epoch, training vs validation, with the best epoch marked. Written beside each model as
 * `history.svg`.
 */
import type { EpochLog } from '../train/types.js';

export interface CurvesOptions {
  /** Heading, e.g. the cell and data. */
  title: string;
  /** Epoch to mark as best (0 or undefined: none). */
  bestEpoch?: number;
}

const W = 820;
const H = 360;
const PANEL = { top: 84, bottom: 48, left: 64, right: 20, gap: 56 };
const COLORS = { train: '#1f77b4', val: '#d62728', grid: '#e5e5e5', axis: '#444444', best: '#2ca02c', text: '#222222' };
const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) {
    const d = Math.abs(lo) > 0 ? Math.abs(lo) * 0.05 : 0.05;
    return niceTicks(lo - d, hi + d, count);
  }
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.floor(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1]! < hi) ticks.push(Number((ticks[ticks.length - 1]! + step).toPrecision(12)));
  return ticks;
}

function fmt(v: number, percent: boolean): string {
  if (percent) return `${Number((v * 100).toPrecision(4))}%`;
  return String(Number(v.toPrecision(3)));
}

interface Series {
  name: string;
  color: string;
  dash?: string;
  values: (number | undefined)[];
}

function panel(
  x0: number,
  width: number,
  title: string,
  series: Series[],
  epochs: number,
  best: number | undefined,
  percent: boolean,
): string {
  const y0 = PANEL.top;
  const height = H - PANEL.top - PANEL.bottom;
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== undefined && Number.isFinite(v)));
  const ticks = niceTicks(Math.min(...all), Math.max(...all));
  const lo = ticks[0]!;
  const hi = ticks[ticks.length - 1]!;
  const sx = (e: number): number => x0 + ((e - 0.5) / epochs) * width;
  const sy = (v: number): number => y0 + height - ((v - lo) / (hi - lo)) * height;
  const out: string[] = [];
  out.push(
    `<text x="${x0 + width / 2}" y="${y0 - 10}" text-anchor="middle" font-size="14" font-weight="bold" fill="${COLORS.text}">${esc(title)}</text>`,
  );
  for (const t of ticks) {
    const y = sy(t).toFixed(1);
    out.push(`<line x1="${x0}" x2="${x0 + width}" y1="${y}" y2="${y}" stroke="${COLORS.grid}"/>`);
    out.push(`<text x="${x0 - 6}" y="${y}" dy="4" text-anchor="end" font-size="11" fill="${COLORS.axis}">${fmt(t, percent)}</text>`);
  }
  const step = Math.max(1, Math.ceil(epochs / 12));
  for (let e = 1; e <= epochs; e += step) {
    out.push(`<text x="${sx(e).toFixed(1)}" y="${y0 + height + 16}" text-anchor="middle" font-size="11" fill="${COLORS.axis}">${e}</text>`);
  }
  out.push(`<text x="${x0 + width / 2}" y="${y0 + height + 34}" text-anchor="middle" font-size="12" fill="${COLORS.axis}">epoch</text>`);
  out.push(`<rect x="${x0}" y="${y0}" width="${width}" height="${height}" fill="none" stroke="${COLORS.axis}"/>`);
  if (best) {
    const x = sx(best).toFixed(1);
    out.push(`<line x1="${x}" x2="${x}" y1="${y0}" y2="${y0 + height}" stroke="${COLORS.best}" stroke-dasharray="4 3"/>`);
    out.push(`<text x="${x}" y="${y0 + 12}" dx="4" font-size="11" fill="${COLORS.best}">best</text>`);
  }
  for (const s of series) {
    const pts = s.values.flatMap((v, i) => (v !== undefined && Number.isFinite(v) ? [[sx(i + 1), sy(v)] as const] : []));
    if (pts.length === 0) continue;
    if (pts.length > 1) {
      const d = pts.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${x.toFixed(1)} ${y.toFixed(1)}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    }
    for (const [x, y] of pts) out.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3.5" fill="${s.color}"/>`);
  }
  return out.join('\n');
}

/** The SVG document for a training history (at least one epoch). */
export function learningCurvesSvg(history: readonly EpochLog[], o: CurvesOptions): string {
  if (history.length === 0) throw new Error('learningCurvesSvg needs at least one epoch');
  const epochs = history.length;
  const hasVal = history.some((e) => e.val_loss !== undefined);
  const width = (W - PANEL.left - PANEL.right - PANEL.gap - PANEL.left) / 2;
  const loss: Series[] = [{ name: 'train', color: COLORS.train, values: history.map((e) => e.loss) }];
  const acc: Series[] = [{ name: 'train', color: COLORS.train, values: history.map((e) => e.acc) }];
  if (hasVal) {
    loss.push({ name: 'validation', color: COLORS.val, dash: '6 3', values: history.map((e) => e.val_loss) });
    acc.push({ name: 'validation', color: COLORS.val, dash: '6 3', values: history.map((e) => e.val_acc) });
  }
  const legend = [
    { name: 'train', color: COLORS.train, dash: undefined as string | undefined },
    ...(hasVal ? [{ name: 'validation', color: COLORS.val, dash: '6 3' }] : []),
  ]
    .map((s, i) => {
      const x = 16 + i * 110;
      return (
        `<line x1="${x}" x2="${x + 28}" y1="46" y2="46" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>` +
        `<circle cx="${x + 14}" cy="46" r="3.5" fill="${s.color}"/>` +
        `<text x="${x + 34}" y="50" font-size="12" fill="${COLORS.text}">${s.name}</text>`
      );
    })
    .join('\n');
  const best = o.bestEpoch && o.bestEpoch >= 1 && o.bestEpoch <= epochs ? o.bestEpoch : undefined;
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${FONT}">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="16" y="26" font-size="15" font-weight="bold" fill="${COLORS.text}">${esc(o.title)}</text>`,
    legend,
    panel(PANEL.left, width, 'loss (binary cross-entropy)', loss, epochs, best, false),
    panel(PANEL.left + width + PANEL.gap + PANEL.left, width, 'accuracy', acc, epochs, best, true),
    `</svg>`,
    '',
  ].join('\n');
}
