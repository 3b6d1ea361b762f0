/** A one-line status for long steps on a TTY (rewritten in place), plus plain log lines. Quiet off a TTY. */
export class StatusLine {
  private shown = false;
  private last = 0;

  constructor(private readonly stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }) {}

  /** Rewrites the status line (at most ~10 times a second); ignored when stderr is not a TTY. */
  update(text: string, force = false): void {
    if (!this.stream.isTTY) return;
    const now = Date.now();
    if (!force && now - this.last < 100) return;
    this.last = now;
    const width = (this.stream.columns ?? 100) - 1;
    this.stream.write(`\r${text.length > width ? text.slice(0, width) : text}\x1b[K`);
    this.shown = true;
  }

  /** Removes the status line. */
  clear(): void {
    if (this.shown) this.stream.write('\r\x1b[K');
    this.shown = false;
  }

  /** Prints a progress note (above the status line), only on a TTY. */
  note(line: string): void {
    if (this.stream.isTTY) this.log(line);
  }

  /** Prints a log line (above the status line). */
  log(line: string): void {
    this.clear();
    this.stream.write(line + '\n');
  }
}

export function bar(done: number, total: number, width = 24): string {
  const filled = total > 0 ? Math.min(width, Math.round((done / total) * width)) : 0;
  return '[' + '='.repeat(filled) + (filled < width ? '>' : '') + ' '.repeat(Math.max(0, width - filled - 1)) + ']';
}
