/**
 * What a client is told when a request fails: one JSON line `{"error": "<what failed>. <how to fix>", "code":
 * "SERVE_…"}` with its status and headers. {@link answerOf} is the one mapping from what went wrong (the
 * batcher's, the host's and fastify's own errors) to that answer; {@link invalidRequest} is fastify's
 * `schemaErrorFormatter`, which turns the first schema violation into a sentence.
 */
import type { FastifySchemaValidationError } from 'fastify';
import { errorLine, UserError, type ErrorCode } from '../errors.js';
import { DeadlineError, RefusedError, type Refusal } from './batcher.js';
import { NoModelError } from './host.js';

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

/** How to send a prediction request, the fix of every malformed one. */
export const USAGE = 'Send {"texts": ["a review", …], "explain": false} as application/json';

const RETRY = { 'retry-after': '1' };

/** How an error is answered: its status, code, one-line message (`error`) and headers; `bug` when it is rnn's fault (logged). */
export interface ErrorAnswer {
  status: number;
  code: ErrorCode;
  line: string;
  headers: Record<string, string>;
  bug: boolean;
}

/** What the answers name of the server's settings. */
export interface AnswerLimits {
  bodyLimit: number;
}

/**
 * The answer to a refusal of the batcher's: built from the value, without an Error, since under overload the
 * server refuses thousands of requests a second before reading their bodies.
 */
export function refusalAnswer(r: Refusal): ErrorAnswer {
  const answer = (status: number, code: ServeErrorCode, what: string, fix: string, headers: Record<string, string>): ErrorAnswer => ({
    status,
    code,
    line: errorLine(what, fix),
    headers,
    bug: false,
  });
  switch (r.kind) {
    case 'queue-full':
      return answer(
        503,
        'SERVE_QUEUE_FULL',
        `the server is busy: ${r.queuedRows} rows are queued and the queue holds ${r.maxQueue}`,
        'Retry after a second, or run more instances behind a load balancer',
        RETRY,
      );
    case 'overloaded':
      return answer(
        503,
        'SERVE_OVERLOADED',
        `the server is overloaded: this request would take about ${Math.round(r.expectedMs)} ms and it admits what it can answer within ${r.maxWaitMs} ms`,
        'Retry after the Retry-After seconds, or run more instances behind a load balancer',
        { 'retry-after': String(Math.max(1, Math.ceil(r.expectedMs / 1000))) },
      );
    case 'too-many-rows':
      return answer(
        413,
        'SERVE_TOO_MANY_ROWS',
        `the request needs ${r.rows} forward rows and the queue holds at most ${r.maxQueue}`,
        'Send fewer texts per request (an explained text needs one row per word), or start rnn serve with a larger --max-queue',
        {},
      );
  }
}

/** The answer to an error: a {@link ServeError} as it is, the batcher's, the host's and fastify's errors mapped to a code and a sentence, anything else a 500. */
export function answerOf(err: unknown, limits: AnswerLimits): ErrorAnswer {
  if (err instanceof RefusedError) return refusalAnswer(err.refusal);
  const e = serveErrorOf(err, limits);
  if (e) return { status: e.statusCode, code: e.code, line: e.line, headers: e.headers, bug: false };
  return {
    status: 500,
    code: 'INTERNAL',
    line: `internal error: ${(err as Error).message}. This is a bug in rnn: report it with the server's log`,
    headers: {},
    bug: true,
  };
}

function serveErrorOf(err: unknown, limits: AnswerLimits): ServeError | undefined {
  if (err instanceof ServeError) return err;
  if (err instanceof DeadlineError) {
    return new ServeError(
      'SERVE_TIMEOUT',
      503,
      `the prediction did not finish within ${err.timeoutMs} ms`,
      'Retry later, send fewer texts per request, or start rnn serve with a larger --timeout',
      RETRY,
    );
  }
  if (err instanceof NoModelError) {
    return new ServeError('SERVE_NOT_READY', 503, 'no model is loaded yet', 'Retry when GET /readyz answers 200', RETRY);
  }
  return fastifyError(err as Error & { code?: string; statusCode?: number }, limits);
}

/** fastify's own errors (body limit, content type, JSON syntax) as rnn's. */
function fastifyError(e: Error & { code?: string; statusCode?: number }, limits: AnswerLimits): ServeError | undefined {
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ServeError(
        'SERVE_BODY_TOO_LARGE',
        413,
        `the request body is larger than ${limits.bodyLimit} bytes`,
        'Send fewer or shorter texts per request, or start rnn serve with a larger --body-limit',
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ServeError('SERVE_CONTENT_TYPE', 415, 'the content type is not JSON', USAGE);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ServeError('SERVE_BODY_EMPTY', 400, 'the request body is empty', USAGE);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ServeError(
        'SERVE_CONTENT_LENGTH',
        400,
        'the Content-Length header does not match the body',
        'Send the body with its exact length',
      );
  }
  if (e instanceof SyntaxError || e.statusCode === 400) {
    return new ServeError('SERVE_BODY_NOT_JSON', 400, `the request body is not valid JSON (${e.message.split('\n')[0]})`, USAGE);
  }
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    return new ServeError('SERVE_BAD_REQUEST', e.statusCode, e.message.replace(/\.$/, ''), USAGE);
  }
  return undefined;
}

/** fastify's `schemaErrorFormatter`: the first violation of a request schema as a {@link ServeError} (400). */
export function invalidRequest(errors: FastifySchemaValidationError[], dataVar: string): ServeError {
  const v = errors[0]!;
  const where = `${dataVar}${v.instancePath}`;
  const invalid = (what: string, fix: string): ServeError => new ServeError('SERVE_REQUEST_INVALID', 400, `invalid request: ${what}`, fix);
  switch (v.keyword) {
    case 'maxItems':
      return invalid(
        `the request has more than ${String(v.params.limit)} texts`,
        'Split the texts over several requests, or start rnn serve with a larger --max-texts',
      );
    case 'maxLength':
      return invalid(
        `${where} is longer than ${String(v.params.limit)} characters`,
        'Shorten the text (the model reads its last words only), or start rnn serve with a larger --max-chars',
      );
    case 'additionalProperties':
      return invalid(`${where} has an unknown field "${String(v.params.additionalProperty)}"`, USAGE);
    default:
      return invalid(`${where} ${v.message ?? 'is invalid'}`, USAGE);
  }
}
