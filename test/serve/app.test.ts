/**
 * The app as composed by buildApp, without a model: 404 and 405 come from the routes registered (a route a
 * test adds shows up in `Allow` and in the 404's listing), and shutdown goes through `app.close()` alone: a
 * request that arrives while draining gets 503 `SERVE_SHUTTING_DOWN` in the one error shape, the request in
 * flight is answered with `Connection: close`, and close() resolves only after it. Under overload,
 * POST /v1/predict is refused before its body is read, on a connection that stays usable.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { promises as fsp } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildApp, type ServeApp } from '../../src/serve/app.js';
import type { Forward } from '../../src/serve/batcher.js';
import { SERVE_DEFAULTS, type ServeOptions } from '../../src/serve/index.js';
import { tempDir } from '../helpers.js';

const API = 'The API is POST /v1/predict, GET /v1/model, /healthz, /readyz and /metrics';

/** An app whose model never loads (nothing here needs one), with its log discarded. */
function testApp(t: TestContext, o: Partial<ServeOptions> = {}): ServeApp {
  const noModel = () => Promise.reject(new Error('no model in this test'));
  const app = buildApp(
    { ...SERVE_DEFAULTS, port: 0, watchMs: 0, ...o },
    { resolveDir: noModel, load: noModel, logStream: new Writable({ write: (_chunk, _enc, done) => done() }) },
  );
  t.after(() => app.close());
  return app;
}

test('404 lists the registered routes; 405 answers with the methods registered for the path', async (t) => {
  const app = testApp(t);
  const missing = await app.inject({ method: 'GET', url: '/v2/predict?x=1' });
  assert.equal(missing.statusCode, 404);
  assert.deepEqual(missing.json(), { error: `there is no /v2/predict. ${API}`, code: 'SERVE_NOT_FOUND' });
  const wrong = await app.inject({ method: 'DELETE', url: '/v1/model' });
  assert.equal(wrong.statusCode, 405);
  assert.equal(wrong.headers.allow, 'GET, HEAD');
  assert.deepEqual(wrong.json(), { error: 'DELETE is not allowed on /v1/model. Use GET', code: 'SERVE_METHOD_NOT_ALLOWED' });
  const post = await app.inject({ method: 'GET', url: '/v1/predict' });
  assert.equal(post.statusCode, 405);
  assert.equal(post.headers.allow, 'POST');
});

test('a route added to the app shows up in Allow and in the 404 listing', async (t) => {
  const app = testApp(t);
  app.register(async (extra) => {
    extra.put('/v1/labels', async () => ({ ok: true }));
    extra.delete('/v1/model', async () => ({ ok: true }));
  });
  const labels = await app.inject({ method: 'GET', url: '/v1/labels' });
  assert.equal(labels.statusCode, 405);
  assert.equal(labels.headers.allow, 'PUT');
  assert.equal(labels.json().error, 'GET is not allowed on /v1/labels. Use PUT');
  const model = await app.inject({ method: 'POST', url: '/v1/model' });
  assert.equal(model.statusCode, 405);
  assert.equal(model.headers.allow, 'GET, HEAD, DELETE');
  assert.equal(model.json().error, 'POST is not allowed on /v1/model. Use GET or DELETE');
  assert.equal(
    (await app.inject({ method: 'GET', url: '/nope' })).json().error,
    'there is no /nope. The API is POST /v1/predict, GET/DELETE /v1/model, GET /healthz, /readyz, /metrics and PUT /v1/labels',
  );
});

test('with --web, the page is served at / and named in the 404', async (t) => {
  const site = await tempDir('rnn-serve-web-');
  t.after(() => fsp.rm(site, { recursive: true, force: true }));
  await fsp.writeFile(path.join(site, 'index.html'), '<!doctype html><title>rnn</title>');
  const app = testApp(t, { web: site });
  const page = await app.inject({ method: 'GET', url: '/' });
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /<title>rnn<\/title>/);
  // Cross-origin isolated, so that the page's wasm backend may use threads; the API is not.
  assert.equal(page.headers['cross-origin-opener-policy'], 'same-origin');
  assert.equal(page.headers['cross-origin-embedder-policy'], 'require-corp');
  assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).headers['cross-origin-embedder-policy'], undefined);
  const missing = await app.inject({ method: 'GET', url: '/nope.js' });
  assert.equal(missing.statusCode, 404);
  assert.deepEqual(missing.json(), { error: `there is no /nope.js. ${API} (and the page at /)`, code: 'SERVE_NOT_FOUND' });
});

/** An HTTP/1.1 answer read off a socket until the server closes it. */
interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

async function readUntilClosed(socket: net.Socket): Promise<RawAnswer> {
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (text += d));
  await once(socket, 'end');
  const [head, body = ''] = text.split('\r\n\r\n');
  const [statusLine, ...lines] = head!.split('\r\n');
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine!.split(' ')[1]), headers, body };
}

async function connect(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  return socket;
}

test('draining: a request arriving after close() began gets 503 SERVE_SHUTTING_DOWN; the one in flight is answered with Connection: close', async (t) => {
  const app = testApp(t);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let entered!: () => void;
  const inHandler = new Promise<void>((resolve) => (entered = resolve));
  app.register(async (held) => {
    held.get('/held', async () => {
      entered();
      await gate;
      return { held: true };
    });
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as net.AddressInfo).port;

  const inFlight = await connect(port);
  const inFlightAnswer = readUntilClosed(inFlight);
  inFlight.write('GET /held HTTP/1.1\r\nHost: rnn\r\n\r\n');
  await inHandler;
  // A second connection that has begun a request (so close() does not reap it as idle) and ends it later.
  const late = await connect(port);
  const lateAnswer = readUntilClosed(late);
  late.write('GET /healthz HTTP/1.1\r\nHost: rnn\r\n');
  await sleep(50);

  let closedAt = 0;
  const closed = app.close().then(() => (closedAt = performance.now()));
  // Once the server refuses new connections, close() has passed its preClose hooks.
  for (let i = 0; i < 200; i++) {
    const refused = await connect(port).then(
      (s) => (s.destroy(), false),
      () => true,
    );
    if (refused) break;
    await sleep(10);
  }
  late.write('\r\n');
  const answeredAt = performance.now();
  try {
    const a = await lateAnswer;
    assert.equal(a.status, 503);
    assert.equal(a.headers['retry-after'], '1');
    assert.equal(a.headers.connection, 'close');
    assert.deepEqual(JSON.parse(a.body), {
      error: 'the server is shutting down. Send requests to another instance',
      code: 'SERVE_SHUTTING_DOWN',
    });
    assert.equal(closedAt, 0, 'close() waits for the request in flight');
  } finally {
    release(); // else close() would wait for it forever
  }
  const held = await inFlightAnswer;
  assert.equal(held.status, 200);
  assert.equal(held.headers.connection, 'close');
  assert.deepEqual(JSON.parse(held.body), { held: true });
  await closed;
  assert.ok(closedAt >= answeredAt);
});

/** One request on `agent`: its status, headers, body, and whether it went over a connection used before. */
function request(
  agent: http.Agent,
  port: number,
  o: { method: string; path: string; body?: string },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        agent,
        method: o.method,
        path: o.path,
        headers: o.body !== undefined ? { 'content-type': 'application/json' } : {},
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, reused: req.reusedSocket }));
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

test('overload: while a request would take longer than half of --timeout, POST /v1/predict gets 503 SERVE_OVERLOADED before its body is read, with Server-Timing; the connection stays usable, the probes answer, and a drained queue admits again', async (t) => {
  // --timeout 2: a request is admitted when it should be answered within 1 ms.
  const app = testApp(t, { timeoutMs: 2, batchSize: 4, batchWindowMs: 300 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as net.AddressInfo).port;
  // A model whose forwards take 8 ms: two full ones in a row measure a forward of 8 ms or more.
  const slow: Forward = {
    maxlen: 1,
    perRow: 1,
    forward: (_ids, rows) => {
      const until = performance.now() + 8;
      while (performance.now() < until);
      return new Float32Array(rows);
    },
  };
  await Promise.all([0, 1].map(() => app.batcher.submit(slow, new Int32Array(4), 4, 5000)));
  // Then a forward off the event loop that runs until released, and a full batch queued behind it: one more
  // row would wait for both.
  let release = (): void => {};
  const held: Forward = {
    maxlen: 1,
    perRow: 1,
    offLoop: true,
    forward: (_ids, rows) => new Promise((resolve) => (release = () => resolve(new Float32Array(rows)))),
  };
  const running = app.batcher.submit(held, new Int32Array(4), 4, 5000);
  const waiting = app.batcher.submit(slow, new Int32Array(4), 4, 5000);
  assert.equal(app.batcher.queuedRows, 4);

  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  // Not JSON: a 400 if the body were read.
  const refused = await request(agent, port, { method: 'POST', path: '/v1/predict', body: 'not json' });
  assert.equal(refused.status, 503);
  assert.equal(refused.headers['retry-after'], '1');
  const answer = JSON.parse(refused.body) as { error: string; code: string };
  assert.equal(answer.code, 'SERVE_OVERLOADED');
  assert.match(
    answer.error,
    /^the server is overloaded: this request would take about \d+ ms and it admits what it can answer within 1 ms\. Retry after the Retry-After seconds, or run more instances behind a load balancer$/,
  );
  assert.match(String(refused.headers['server-timing']), /^total;dur=\d+\.\d$/);
  assert.notEqual(refused.headers.connection, 'close');
  const health = await request(agent, port, { method: 'GET', path: '/healthz' });
  assert.equal(health.status, 200);
  assert.ok(health.reused, 'the refused request left its connection usable (its body was read off and dropped)');

  release();
  await Promise.all([running, waiting]);
  await app.batcher.idle();
  const admitted = await request(agent, port, { method: 'POST', path: '/v1/predict', body: 'not json' });
  assert.equal(admitted.status, 400, 'the queue is empty: the request is admitted, and its body read');
  assert.equal((JSON.parse(admitted.body) as { code: string }).code, 'SERVE_BODY_NOT_JSON');
});

test('draining: a keep-alive connection idle when close() begins stays open, and a request sent on it then gets its answer (503 SERVE_SHUTTING_DOWN, Connection: close), not a reset', async (t) => {
  const app = testApp(t);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as net.AddressInfo).port;
  const socket = await connect(port);
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (text += d));
  const ended = once(socket, 'close');
  socket.write('GET /healthz HTTP/1.1\r\nHost: rnn\r\n\r\n');
  for (let i = 0; i < 200 && !text.includes('"alive"'); i++) await sleep(5);
  assert.match(text, /^HTTP\/1\.1 200 /, 'the first request is answered; the connection is now idle, kept alive');
  text = '';
  const closed = app.close();
  // Well within the 2 s an idle connection is kept during the drain: the client sends its next request.
  await sleep(100);
  socket.write('GET /healthz HTTP/1.1\r\nHost: rnn\r\n\r\n');
  await ended;
  assert.match(text, /^HTTP\/1\.1 503 /, `the request sent during the drain is answered (got ${JSON.stringify(text.slice(0, 80))})`);
  assert.match(text, /\r\nconnection: close\r\n/i);
  assert.match(text, /"code":"SERVE_SHUTTING_DOWN"/);
  await closed;
});
