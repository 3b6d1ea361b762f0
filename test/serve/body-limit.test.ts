/**
 * A body past --body-limit is answered 413 SERVE_BODY_TOO_LARGE, and the client reads that answer even while it
 * is still sending: a regression of the fuzz campaign (test/fuzz, `--target http --seed 1 --case 886`: a 6 MB
 * body sent in one write with `Connection: close` was answered 413 in the server's log, but the server closed
 * the connection with the body unread, the client's kernel reset it, and the answer was lost). The server runs
 * in a process of its own, as `rnn serve` does (in the test's own process the race does not show).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../helpers.js';
import { send } from '../fuzz/http.js';

let server: ChildProcess;
let port = 0;

before(async () => {
  const url = (p: string) => pathToFileURL(path.join(ROOT, 'dist', 'src', 'serve', p)).href;
  // The app as buildApp composes it, with no model (a 413 needs none), listening on a free port.
  const script = `
    import { Writable } from 'node:stream';
    const { buildApp } = await import(${JSON.stringify(url('app.js'))});
    const { SERVE_DEFAULTS } = await import(${JSON.stringify(url('index.js'))});
    const noModel = () => Promise.reject(new Error('no model in this test'));
    const app = buildApp({ ...SERVE_DEFAULTS, port: 0, watchMs: 0, bodyLimit: 1024 },
      { resolveDir: noModel, load: noModel, logStream: new Writable({ write: (_c, _e, done) => done() }) });
    await app.listen({ port: 0, host: '127.0.0.1' });
    process.stdout.write(app.server.address().port + '\\n');`;
  server = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(server.stdout!, 'data')) as [Buffer];
  port = Number(line.toString().trim());
});

after(() => server.kill());

const cases = [
  { method: 'POST', url: '/v1/predict', chunked: false },
  { method: 'DELETE', url: '/v1/predict', chunked: false },
  { method: 'OPTIONS', url: '*', chunked: false },
  { method: 'OPTIONS', url: '/v1/predict', chunked: true },
];
for (const c of cases) {
  test(`${c.method} ${c.url} with a 6 MB ${c.chunked ? 'chunked ' : ''}body and Connection: close: the client reads the 413, every time`, async () => {
    const body = Buffer.alloc(6 * 2 ** 20, 'a');
    const framing = c.chunked ? Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]) : body;
    const length = c.chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${body.length}`;
    const head = `${c.method} ${c.url} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${length}\r\nConnection: close\r\n\r\n`;
    for (let i = 0; i < 5; i++) {
      const a = await send(port, Buffer.concat([Buffer.from(head), framing]), 5000);
      assert.equal(a.status, 413, `attempt ${i + 1}: ${a.closed ? 'closed' : 'no answer'} without an answer`);
      assert.match(a.body, /"code":"SERVE_BODY_TOO_LARGE"/);
    }
  });
}
