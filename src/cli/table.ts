/**
 * One table helper for every tabular output: the same columns and rows render as a terminal table
 * (padded columns, a bold header) or as a Markdown table (report.md, `--markdown`, `rnn bench`).
 */
import type { ChalkInstance } from 'chalk';

/** A column: its header and which side its cells line up on (numbers on the right). */
export interface Column {
  header: string;
  align?: 'left' | 'right';
}

/** Shorthand: `col('params', 'right')`. */
export function col(header: string, align: Column['align'] = 'left'): Column {
  return { header, align };
}

/** Options of {@link textTable}. */
export interface TextTableOptions {
  /** Colours (the header is bold); none: plain text. */
  chalk?: ChalkInstance;
  /** Spaces between columns (2). */
  gap?: number;
  /** Indent of every line (none). */
  indent?: string;
  /** A rule of this character under the header and after the last row (none). */
  rule?: string;
}

/** Terminal text: each column as wide as its widest cell, header first; lines end without trailing spaces. */
export function textTable(columns: readonly Column[], rows: readonly (readonly string[])[], o: TextTableOptions = {}): string {
  const gap = ' '.repeat(o.gap ?? 2);
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    (o.indent ?? '') +
    columns
      .map((c, i) => (c.align === 'right' ? (cells[i] ?? '').padStart(widths[i]!) : (cells[i] ?? '').padEnd(widths[i]!)))
      .join(gap)
      .trimEnd();
  const head = line(columns.map((c) => c.header));
  const rule = o.rule ? [(o.indent ?? '') + o.rule.repeat(widths.reduce((a, w) => a + w, 0) + gap.length * (columns.length - 1))] : [];
  return [o.chalk ? o.chalk.bold(head) : head, ...rule, ...rows.map(line), ...rule].join('\n') + '\n';
}

/** A GitHub-flavoured Markdown table (`|` in cells escaped). */
export function markdownTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const cell = (s: string): string => s.replace(/\|/g, '\\|');
  const line = (cells: readonly string[]): string => `| ${cells.map(cell).join(' | ')} |`;
  return (
    [
      line(columns.map((c) => c.header)),
      `|${columns.map((c) => (c.align === 'right' ? '---:' : '---')).join('|')}|`,
      ...rows.map(line),
    ].join('\n') + '\n'
  );
}

/** Two-column `key  value` report (doctor, info, eval). */
export function keyValues(rows: ReadonlyArray<readonly [string, string]>, indent = '  '): string {
  return textTable([col(''), col('')], rows, { indent }).replace(/^.*\n/, '');
}
