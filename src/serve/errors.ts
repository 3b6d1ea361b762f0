import { UserError, type ErrorCode } from '../errors.js';

/** The codes of errors answered over HTTP. */
export type ServeErrorCode = Extract<ErrorCode, `SERVE_${string}`>;

/**
 * An error answered over HTTP as `{"error": "<what failed>. <how to fix>", "code": "SERVE_…"}` with its status
 * (and headers, e.g. Retry-After).
 */
export class ServeError extends UserError {
  constructor(
    code: ServeErrorCode,
    readonly statusCode: number,
    what: string,
    fix: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(code, what, fix);
    this.name = 'ServeError';
  }
}
