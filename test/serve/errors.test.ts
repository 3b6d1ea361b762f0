/**
 * answerOf, the one mapping from what went wrong to what a client is told: the batcher's and the host's own
 * errors (which know nothing of HTTP) become a status, a code, a sentence naming the flag that changes the
 * limit, and Retry-After where waiting helps; anything unknown is a 500 marked as a bug.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeadlineError, RefusedError } from '../../src/serve/batcher.js';
import { answerOf, refusalAnswer, ServeError } from '../../src/serve/errors.js';
import { NoModelError } from '../../src/serve/host.js';

const LIMITS = { bodyLimit: 1024 };
const RETRY = { 'retry-after': '1' };

const CASES: Array<{ name: string; error: unknown; answer: ReturnType<typeof answerOf> }> = [
  {
    name: 'a full queue',
    error: new RefusedError({ kind: 'queue-full', queuedRows: 7, maxQueue: 8 }),
    answer: {
      status: 503,
      code: 'SERVE_QUEUE_FULL',
      line: 'the server is busy: 7 rows are queued and the queue holds 8. Retry after a second, or run more instances behind a load balancer',
      headers: RETRY,
      bug: false,
    },
  },
  {
    name: 'more rows than the queue holds',
    error: new RefusedError({ kind: 'too-many-rows', rows: 9000, maxQueue: 4096 }),
    answer: {
      status: 413,
      code: 'SERVE_TOO_MANY_ROWS',
      line: 'the request needs 9000 forward rows and the queue holds at most 4096. Send fewer texts per request (an explained text needs one row per word), or start rnn serve with a larger --max-queue',
      headers: {},
      bug: false,
    },
  },
  {
    name: 'an overload (Retry-After: the expected seconds, at least 1)',
    error: new RefusedError({ kind: 'overloaded', expectedMs: 2400.4, maxWaitMs: 250 }),
    answer: {
      status: 503,
      code: 'SERVE_OVERLOADED',
      line: 'the server is overloaded: this request would take about 2400 ms and it admits what it can answer within 250 ms. Retry after the Retry-After seconds, or run more instances behind a load balancer',
      headers: { 'retry-after': '3' },
      bug: false,
    },
  },
  {
    name: 'a deadline',
    error: new DeadlineError(250),
    answer: {
      status: 503,
      code: 'SERVE_TIMEOUT',
      line: 'the prediction did not finish within 250 ms. Retry later, send fewer texts per request, or start rnn serve with a larger --timeout',
      headers: RETRY,
      bug: false,
    },
  },
  {
    name: 'no model yet',
    error: new NoModelError(),
    answer: {
      status: 503,
      code: 'SERVE_NOT_READY',
      line: 'no model is loaded yet. Retry when GET /readyz answers 200',
      headers: RETRY,
      bug: false,
    },
  },
  {
    name: 'a body over the limit (fastify)',
    error: Object.assign(new Error('Request body is too large'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }),
    answer: {
      status: 413,
      code: 'SERVE_BODY_TOO_LARGE',
      line: 'the request body is larger than 1024 bytes. Send fewer or shorter texts per request, or start rnn serve with a larger --body-limit',
      headers: {},
      bug: false,
    },
  },
  {
    name: 'a ServeError, as it is',
    error: new ServeError('SERVE_UNAUTHORIZED', 401, 'no token', 'Send one', { 'www-authenticate': 'Bearer' }),
    answer: { status: 401, code: 'SERVE_UNAUTHORIZED', line: 'no token. Send one', headers: { 'www-authenticate': 'Bearer' }, bug: false },
  },
  {
    name: 'a forward that throws (a bug)',
    error: new Error('tensor shape mismatch'),
    answer: {
      status: 500,
      code: 'INTERNAL',
      line: "internal error: tensor shape mismatch. This is a bug in rnn: report it with the server's log",
      headers: {},
      bug: true,
    },
  },
];

for (const c of CASES) {
  test(`answerOf: ${c.name}`, () => {
    assert.deepEqual(answerOf(c.error, LIMITS), c.answer);
  });
}

test('refusalAnswer: a refusal answered from its value (before a body is read) is the answer to the same refusal as an error', () => {
  for (const c of CASES) {
    if (c.error instanceof RefusedError) assert.deepEqual(refusalAnswer(c.error.refusal), c.answer, c.name);
  }
});
