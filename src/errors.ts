/**
 * An error the user can fix. The CLI prints it as `error: <what failed>. <how to fix>`
 * on stderr and exits 1, without a stack trace unless `--debug` is given.
 */
export class UserError extends Error {
  /** What the user can do about it, one sentence. */
  readonly fix: string;
  /** A stable code for tests and scripts to match instead of the sentence (e.g. `KERAS_UNSUPPORTED`), where one helps. */
  readonly code?: string;

  constructor(what: string, fix: string, options?: { cause?: unknown; code?: string }) {
    super(what, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UserError';
    this.fix = fix;
    if (options?.code) this.code = options.code;
  }

  /** The one-line rendering used on stderr (without the `error: ` prefix). */
  get line(): string {
    const what = this.message.trim().replace(/\.+$/, '');
    return `${what}. ${this.fix}`;
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}

/**
 * The user stopped a command (Ctrl-C / SIGTERM) and it ended cleanly, e.g. with a checkpoint saved. The CLI
 * prints `interrupted: <message>` on stderr and exits 130, the shell's code for SIGINT.
 */
export class Interrupted extends Error {
  readonly exitCode = 130;

  constructor(message: string) {
    super(message);
    this.name = 'Interrupted';
  }
}

/** End the process with this code and print nothing more (e.g. a worker's exit code, already reported). */
export class ExitWith extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
    this.name = 'ExitWith';
  }
}
