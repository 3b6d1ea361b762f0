/**
 * The fuzz campaign's in-process runner: one long-lived process that runs a case's rnn commands through the
 * CLI's own `main()` (src/cli/main.ts: the same parsing, cores, rendering and error handling as `bin/rnn`, with
 * RNN_WORKER=1 so train runs here instead of in a child), so TensorFlow loads once instead of once per case.
 * What it cannot see the way bin/rnn would — an uncaught exception or rejection, which would end bin/rnn with
 * a stack trace — it reports with the case. The driver (main.ts) times it out, watches its memory and
 * replays cases on the real CLI.
 */
import { Readable, Writable } from 'node:stream';
import type { Command } from './targets.js';

interface Job {
  id: number;
  cwd: string;
  tmp: string;
  env: Record<string, string>;
  commands: Command[];
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

const LIMIT = 64 * 1024;

function sink(): { stream: Writable & { isTTY?: boolean }; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (text.length < LIMIT) text += chunk.toString('utf8');
      done();
    },
  });
  return { stream, text: () => text };
}

let uncaught: string[] = [];
process.on('uncaughtException', (e) => uncaught.push(`uncaught exception: ${(e as Error)?.stack ?? String(e)}`));
process.on('unhandledRejection', (e) => uncaught.push(`unhandled rejection: ${(e as Error)?.stack ?? String(e)}`));

const { main } = await import('../../src/cli/main.js');

async function runJob(job: Job): Promise<{ results: CommandResult[]; uncaught: string[] }> {
  uncaught = [];
  process.chdir(job.cwd);
  const results: CommandResult[] = [];
  for (const c of job.commands) {
    const env = { ...process.env, ...job.env, ...c.env, RNN_WORKER: '1', NO_COLOR: '1', TMPDIR: job.tmp };
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = job.tmp; // os.tmpdir() reads the process's own environment
    const out = sink();
    const err = sink();
    const t0 = performance.now();
    let code: number;
    try {
      code = await main(c.argv, { out: out.stream, err: err.stream }, env, Object.assign(Readable.from([]), { isTTY: false }));
    } finally {
      process.env.TMPDIR = saved;
    }
    results.push({ code, stdout: out.text(), stderr: err.text(), ms: performance.now() - t0 });
    if (code !== 0) break;
  }
  // Let stray callbacks of the case (streams closing, timers) land before the verdict.
  await new Promise((r) => setTimeout(r, 5));
  return { results, uncaught };
}

process.on('message', (job: Job) => {
  runJob(job).then(
    (r) => process.send!({ id: job.id, ...r }),
    (e: unknown) => process.send!({ id: job.id, results: [], uncaught: [`main() threw: ${(e as Error)?.stack ?? String(e)}`] }),
  );
});
process.send!({ ready: true });
