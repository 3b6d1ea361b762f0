/**
 * Why `rnn train` and `rnn serve` run their work in a child process. A signal that the process handles (a
 * Ctrl-C or SIGTERM listener) and that lands while TensorFlow's oneDNN matrix kernels run corrupts the heap
 * of tfjs-node with TF 2.21. It crashed ~1 in 8 interrupted GRU runs with "corrupted size vs. prev_size",
 * and every run that received 40 handled SIGWINCHs; no run crashed with no handler, or with stock layers.
 * So the `rnn` process that gets the signals never loads TensorFlow. It starts a worker in its own process
 * group, which receives no terminal signals, and passes signals on over IPC: the training worker finishes
 * its batch and saves a checkpoint; the server worker reloads its model (SIGHUP) or drains and exits. A
 * worker does the same as for a stop if the supervisor dies, since the IPC channel closes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CliContext } from './context.js';
import { packageRoot } from './env.js';

/** How the supervisor answers a signal: `n` counts the stop signals (SIGINT/SIGTERM) so far. */
export type SignalPolicy = (sig: NodeJS.Signals, n: number, child: ChildProcess) => void;

/** The signals a supervisor takes (SIGHUP only matters to workers that reload). */
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Runs `rnn <ctx.argv>` as a worker (RNN_WORKER=1) and answers signals with `policy` until it exits;
 * returns its exit code and how many stop signals came.
 */
export async function superviseWorker(ctx: CliContext, policy: SignalPolicy): Promise<{ code: number; stops: number }> {
  const inherit = ctx.io.out === process.stdout && ctx.io.err === process.stderr;
  const child = spawn(process.execPath, [path.join(packageRoot(), 'bin', 'rnn'), ...ctx.argv], {
    stdio: inherit ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'pipe', 'pipe', 'ipc'],
    detached: true,
    env: { ...ctx.processEnv, RNN_WORKER: '1' },
  });
  if (!inherit) {
    child.stdout!.pipe(ctx.io.out, { end: false });
    child.stderr!.pipe(ctx.io.err, { end: false });
  }
  let stops = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (sig !== 'SIGHUP') stops++;
    policy(sig, stops, child);
  };
  SIGNALS.forEach((s) => process.on(s, onSignal));
  try {
    const code = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c, sig) => resolve(c ?? 128 + (sig ? os.constants.signals[sig] : 0)));
    });
    return { code, stops };
  } finally {
    SIGNALS.forEach((s) => process.removeListener(s, onSignal));
  }
}

/** Messages from the supervisor to its worker. */
export type WorkerMessage = { stop: NodeJS.Signals } | { reload: NodeJS.Signals };

/** In the worker: calls `on.stop` for a stop request or when the supervisor is gone (IPC closed), `on.reload` for SIGHUP. */
export function supervisorMessages(on: { stop: () => void; reload?: () => void }): { dispose: () => void } {
  const onMessage = (m: unknown): void => {
    if (typeof m !== 'object' || m === null) return;
    if ('stop' in m) on.stop();
    else if ('reload' in m) on.reload?.();
  };
  const onDisconnect = (): void => on.stop();
  process.on('message', onMessage);
  process.on('disconnect', onDisconnect);
  return {
    dispose: () => {
      process.removeListener('message', onMessage);
      process.removeListener('disconnect', onDisconnect);
    },
  };
}
