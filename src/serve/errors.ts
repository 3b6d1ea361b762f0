import { UserError } from '../errors.js';

/** An error answered over HTTP as `{"error": "<what failed>. <how to fix>"}` with its status (and headers, e.g. Retry-After). */
export class ServeError extends UserError {
  constructor(
    readonly statusCode: number,
    what: string,
    fix: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(what, fix);
    this.name = 'ServeError';
  }
}
