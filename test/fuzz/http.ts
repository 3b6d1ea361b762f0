/**
 * The HTTP API's fuzz target: a real `rnn serve` process (bin/rnn, the seed model) on a free loopback port,
 * sent generated requests over raw sockets — methods, paths, headers (content types, lengths that lie,
 * chunked bodies, duplicates, huge values, tokens) and JSON bodies (the schema's fields with wrong types,
 * huge and deep values, invalid UTF-8, byte mutations of valid bodies). It knows the server only by its port
 * and its documented routes, so it runs against whatever the server code is.
 *
 * A finding: a 500 (or any 5xx but 503), no complete answer within 10 s, the server process exiting, a stack
 * trace in its log, its memory past 1 GB, or /healthz not answering after a case.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fsp, readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { ROOT } from '../helpers.js';
import type { Corpus } from './seeds.js';
import { deepJson, mutateBytes, mutateJson, Rand } from './mutate.js';
import { caseRand, HANG_MS, MEMORY_BYTES, type Finding, type FuzzArgs, type TargetReport } from './main.js';

const TOKEN = 'fuzz-token';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function rss(pid: number): number {
  let total = 0;
  const visit = (p: number): void => {
    try {
      total += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0) * 1024;
      for (const c of readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) visit(Number(c));
    } catch {
      // gone
    }
  };
  visit(pid);
  return total;
}

/** A raw request's answer: the status (0: none), and whether the answer was complete. */
interface Answer {
  status: number;
  complete: boolean;
  closed: boolean;
  head: string;
  body: string;
  ms: number;
}

/** Sends `raw` and reads one answer (Content-Length, chunked, or until close), waiting at most `ms`. */
export function send(port: number, raw: Buffer, ms = HANG_MS): Promise<Answer> {
  const isHead = /^HEAD /.test(raw.subarray(0, 5).toString('latin1')); // an answer to HEAD has headers only
  return new Promise((resolve) => {
    const t0 = performance.now();
    const sock = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let settled = false;
    const done = (complete: boolean, closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      const text = buf.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const head = end < 0 ? text : text.slice(0, end);
      resolve({
        status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0),
        complete,
        closed,
        head,
        body: end < 0 ? '' : text.slice(end + 4),
        ms: performance.now() - t0,
      });
    };
    const timer = setTimeout(() => done(false, false), ms);
    const check = () => {
      const text = buf.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = text.slice(0, end);
      if (/^HTTP\/1\.1 100/.test(head)) {
        buf = buf.subarray(end + 4);
        return check();
      }
      const body = buf.subarray(end + 4);
      const len = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      if (len && body.length >= Number(len[1])) done(true, false);
      else if (/\r\ntransfer-encoding:\s*chunked/i.test(head) && body.toString('latin1').includes('\r\n0\r\n\r\n')) done(true, false);
      else if (/^HTTP\/1\.[01] (204|304)/.test(head) || isHead) done(true, false);
    };
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      check();
    });
    // An error (EPIPE: the server answered and closed while the body was still being sent) is followed by 'close',
    // and the answer may still be read before it: settle on 'close'.
    sock.on('error', () => {});
    sock.on('end', () => done(buf.length > 0, true));
    sock.on('close', () => done(buf.length > 0, true));
    sock.write(raw);
  });
}

/** A request body: the schema's shape with odd values, or bytes that are not quite JSON. */
function body(rand: Rand): Buffer {
  const texts = (): unknown =>
    rand.pick<() => unknown>([
      () => ['A moving film.', 'Dull.'],
      () => [''],
      () => [],
      () => Array.from({ length: rand.pick([50, 1000, 100_000]) }, () => 'good'),
      () => ['x'.repeat(rand.pick([1000, 100_000, 2_000_000]))],
      () => ['word '.repeat(rand.pick([300, 20_000]))],
      () => [1, null, true, {}, []],
      () => 'not an array',
      () => null,
      () => ['\u0000\uffff\ud800', '🎬'.repeat(500), 'é'.repeat(1000)],
      () => JSON.parse(deepJson(rand).length < 100 ? '[]' : '[[[["x"]]]]'),
    ])();
  const value: Record<string, unknown> = { texts: texts() };
  if (rand.chance(0.4)) value.explain = rand.pick([true, false, 'yes', 1, null]);
  if (rand.chance(0.1)) value.extra = rand.pick([1, 'x', { a: 1 }]);
  if (rand.chance(0.1)) value.__proto__ = { polluted: true };
  let text = JSON.stringify(value);
  switch (rand.int(8)) {
    case 0:
      text = mutateJson(text, rand);
      break;
    case 1:
      return mutateBytes(Buffer.from(text), rand);
    case 2:
      text = rand.pick([
        deepJson(rand),
        '',
        ' ',
        'null',
        '[]',
        '"texts"',
        '{"texts": ["a"], "texts": 5}',
        '{"texts": [NaN]}',
        '\ufeff{"texts":["a"]}',
      ]);
      break;
    case 3:
      return Buffer.concat([Buffer.from(text.slice(0, 12)), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from(text.slice(12))]);
    default:
  }
  return Buffer.from(text);
}

const PATHS = [
  '/v1/predict',
  '/v1/predict',
  '/v1/predict',
  '/v1/model',
  '/healthz',
  '/readyz',
  '/metrics',
  '/',
  '/index.html',
  '/v1/predict?x=1&x=2',
  '//v1/predict',
  '/v1/../v1/predict',
  '/v1/%2e%2e/metrics',
  '/v1/predict%00',
  '/' + 'a'.repeat(10_000),
  '/v1/predict#frag',
  '*',
  'http://x/v1/predict',
];

/** One generated request, as raw bytes, and whether its HTTP framing is well-formed (an answer is then due). */
function request(rand: Rand): { raw: Buffer; framed: boolean; summary: string } {
  const method = rand.pick([
    'POST',
    'POST',
    'POST',
    'GET',
    'PUT',
    'DELETE',
    'OPTIONS',
    'HEAD',
    'PATCH',
    'TRACE',
    'CONNECT',
    'PRI',
    'post',
    'P\u00d6ST',
  ]);
  const url = rand.pick(PATHS);
  const b = method === 'GET' && rand.chance(0.7) ? Buffer.alloc(0) : body(rand);
  const headers: [string, string][] = [['Host', '127.0.0.1']];
  // Node's HTTP server closes CONNECT (and HTTP/2's PRI) connections it has no handler for, without an answer.
  let framed = /^[A-Z]+$/.test(method) && !['CONNECT', 'PRI'].includes(method) && !/\s/.test(url);
  headers.push([
    'Content-Type',
    rand.pick([
      'application/json',
      'application/json',
      'application/json; charset=utf-8',
      'application/json; charset=utf-16',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      '',
      'application/JSON',
      'application/json, text/plain',
      'application/vnd.api+json',
    ]),
  ]);
  const lengthMode = rand.int(10);
  if (lengthMode < 6) headers.push(['Content-Length', String(b.length)]);
  else if (lengthMode === 6) {
    headers.push([
      'Content-Length',
      rand.pick([String(b.length + 10), String(Math.max(0, b.length - 1)), '-1', '99999999999', 'abc', `${b.length}, ${b.length}`]),
    ]);
    framed = false;
  } else if (lengthMode === 7) {
    headers.push(['Content-Length', String(b.length)], ['Content-Length', String(b.length + 1)]);
    framed = false;
  } else if (lengthMode === 8) headers.push(['Transfer-Encoding', 'chunked']);
  else framed = framed && b.length === 0;
  if (rand.chance(0.3))
    headers.push([
      'Authorization',
      rand.pick([`Bearer ${TOKEN}`, 'Bearer wrong', 'Basic eDp5', `Bearer ${TOKEN}${'x'.repeat(100)}`, 'Bearer', '']),
    ]);
  if (rand.chance(0.1)) headers.push(['Expect', '100-continue']);
  if (rand.chance(0.1)) headers.push(['Accept-Encoding', 'gzip, br']);
  if (rand.chance(0.05)) headers.push(['X-Huge', 'h'.repeat(rand.pick([1000, 20_000, 100_000]))]);
  if (rand.chance(0.05)) {
    headers.push(['Bad Header', 'x']);
    framed = false;
  }
  headers.push(['Connection', rand.chance(0.8) ? 'close' : 'keep-alive']);
  let payload = b;
  if (lengthMode === 8) {
    if (rand.chance(0.8)) payload = Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n0\r\n\r\n')]);
    else {
      // A chunk that lies about its size, or never ends: the request is not complete, and waiting for it is right.
      payload = Buffer.concat([Buffer.from(rand.pick(['zz\r\n', 'ffffffffffffffff\r\n', '5\r\nab'])), b]);
      framed = false;
    }
  }
  const head = `${method} ${url} ${rand.chance(0.95) ? 'HTTP/1.1' : rand.pick(['HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 x', ''])}\r\n${headers.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
  if (!head.includes('HTTP/1.1\r\n') && !head.includes('HTTP/1.0\r\n')) framed = false;
  const summary = `${method} ${url.slice(0, 60)} (${b.length} bytes; ${headers.map(([k, v]) => `${k}: ${v.slice(0, 40)}`).join('; ')})`;
  return { raw: Buffer.concat([Buffer.from(head, 'latin1'), payload]), framed, summary };
}

async function startServer(corpus: Corpus, port: number, log: string): Promise<ChildProcess> {
  const out = await fsp.open(log, 'w');
  const child = spawn(
    process.execPath,
    [
      path.join(ROOT, 'bin', 'rnn'),
      'serve',
      '--model',
      corpus.models[0]!,
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--token',
      TOKEN,
      '--timeout',
      '5000',
    ],
    { stdio: ['ignore', 'ignore', out.fd], env: { ...process.env, NO_COLOR: '1' }, detached: true },
  );
  await out.close();
  const t0 = performance.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`rnn serve exited ${child.exitCode}: ${await fsp.readFile(log, 'utf8')}`);
    const a = await send(port, Buffer.from('GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), 2000);
    if (a.status === 200) return child;
    if (performance.now() - t0 > 120_000) throw new Error('rnn serve did not become ready in 120 s');
    await new Promise((r) => setTimeout(r, 250));
  }
}

function stop(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // gone
  }
}

const STACK = /\\n\s+at |"stack":|^\s+at .+:\d+:\d+\)?$/m;

export async function fuzzHttp(args: FuzzArgs, corpus: Corpus, log: (s: string) => void): Promise<TargetReport> {
  const report: TargetReport = {
    target: 'http',
    reads: 'the HTTP API of a running rnn serve',
    cases: 0,
    cliCases: 0,
    seconds: 0,
    findings: [],
    outcomes: {},
  };
  const work = path.join(args.out, 'cases', 'http');
  await fsp.rm(work, { recursive: true, force: true });
  await fsp.mkdir(work, { recursive: true });
  const serverLog = path.join(work, 'serve.log');
  const port = await freePort();
  let server = await startServer(corpus, port, serverLog);
  let logOffset = (await fsp.stat(serverLog)).size;
  const t0 = performance.now();
  try {
    const only = args.caseNo;
    for (let n = only ?? 0; ; n++) {
      if (only !== undefined ? n > only : performance.now() - t0 > args.time * 1000 || n >= (args.cases ?? Infinity)) break;
      const rand = caseRand(args.seed, 'http', n);
      const req = request(rand);
      let peak = 0;
      const poll = setInterval(() => (peak = Math.max(peak, rss(server.pid!))), 50);
      const a = await send(port, req.raw, req.framed ? HANG_MS : 2000);
      clearInterval(poll);
      report.cases++;
      const outcome = a.status ? String(a.status) : a.complete ? 'answered' : a.closed ? 'closed without an answer' : 'no answer';
      report.outcomes[outcome] = (report.outcomes[outcome] ?? 0) + 1;
      const problems: { kind: string; detail: string }[] = [];
      if (a.status >= 500 && a.status !== 503) problems.push({ kind: `status ${a.status}`, detail: a.body.slice(0, 500) });
      // A request whose framing lies (a Content-Length longer than its body, a chunk that never ends) is not complete:
      // a server waiting for the rest is right, so only a well-framed request left unanswered is a hang.
      if (req.framed && !a.complete && !a.closed) problems.push({ kind: 'hang', detail: `no complete answer within ${HANG_MS / 1000} s` });
      if (req.framed && a.status === 0)
        problems.push({ kind: 'no answer', detail: `the connection ${a.closed ? 'closed' : 'stayed open'} without an answer` });
      if (peak > MEMORY_BYTES) problems.push({ kind: 'memory', detail: `rnn serve reached ${(peak / 2 ** 20).toFixed(0)} MB` });
      const health = await send(port, Buffer.from('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), 5000);
      if (server.exitCode !== null || server.signalCode !== null)
        problems.push({ kind: 'server exited', detail: `exit ${server.exitCode ?? server.signalCode}` });
      else if (health.status !== 200)
        problems.push({ kind: 'unhealthy', detail: `/healthz answered ${health.status || 'nothing'} after the case` });
      const text = await fsp.readFile(serverLog, 'utf8');
      const logged = text.slice(logOffset);
      logOffset = text.length;
      if (STACK.test(logged)) problems.push({ kind: 'stack trace', detail: logged.slice(0, 2000) });
      if (problems.length) {
        const dir = path.join(args.out, 'findings', `http-seed${args.seed}-case${n}`);
        await fsp.rm(dir, { recursive: true, force: true });
        await fsp.mkdir(dir, { recursive: true });
        await fsp.writeFile(path.join(dir, 'request.bin'), req.raw);
        for (const p of problems) {
          const f: Finding = { target: 'http', seed: args.seed, caseNo: n, kind: p.kind, detail: p.detail, seen: 'rnn serve', dir };
          report.findings.push(f);
          log(`  FINDING ${p.kind} in http case ${n}: ${req.summary.slice(0, 200)} → ${dir}`);
        }
        await fsp.writeFile(
          path.join(dir, 'case.json'),
          JSON.stringify(
            {
              problems,
              request: req.summary,
              answer: a,
              serverLog: logged.slice(0, 20_000),
              reproduce: `npm run fuzz -- --target http --seed ${args.seed} --case ${n}`,
            },
            null,
            2,
          ) + '\n',
        );
        if (server.exitCode !== null || server.signalCode !== null || health.status !== 200) {
          stop(server);
          server = await startServer(corpus, port, serverLog);
          logOffset = (await fsp.stat(serverLog)).size;
        }
      }
    }
  } finally {
    stop(server);
  }
  report.seconds = (performance.now() - t0) / 1000;
  return report;
}
