/**
 * Why `rnn train` runs its training in a child process. A signal that the process handles (a Ctrl-C or
 * SIGTERM listener) and that lands while TensorFlow's oneDNN matrix kernels run corrupts the heap of
 * tfjs-node with TF 2.21. It crashed ~1 in 8 interrupted GRU runs with "corrupted size vs. prev_size", and
 * every run that received 40 handled SIGWINCHs; no run crashed with no handler, or with stock layers.
 * So the `rnn` process that gets the signals never loads TensorFlow. It starts a worker in its own process
 * group, which receives no terminal signals, and asks it to stop over IPC. The worker then finishes its
 * batch and saves a checkpoint. It does the same if the supervisor dies, since the IPC channel closes.
 */
import { spawn } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { ExitWith, Interrupted } from '../errors.js';
import type { CliContext } from './context.js';
import { packageRoot } from './env.js';
import type { StatusLine } from './progress.js';

/** Runs `rnn <ctx.argv>` as the training worker; the first SIGINT/SIGTERM asks it to stop, the second kills it. */
export async function superviseTraining(ctx: CliContext, status: StatusLine): Promise<never> {
  const inherit = ctx.io.out === process.stdout && ctx.io.err === process.stderr;
  const child = spawn(process.execPath, [path.join(packageRoot(), 'bin', 'rnn'), ...ctx.argv], {
    stdio: inherit ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'pipe', 'pipe', 'ipc'],
    detached: true,
    env: { ...ctx.processEnv, RNN_TRAIN_WORKER: '1' },
  });
  if (!inherit) {
    child.stdout!.pipe(ctx.io.out, { end: false });
    child.stderr!.pipe(ctx.io.err, { end: false });
  }
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals === 1 && child.connected) {
      status.log(
        ctx.chalkErr.yellow(
          `${sig}: stopping after this batch and saving a checkpoint (${sig === 'SIGINT' ? 'Ctrl-C again' : 'another signal'} quits at once, without one)`,
        ),
      );
      child.send({ stop: sig });
    } else {
      child.kill('SIGKILL');
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const code = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c, sig) => resolve(c ?? 128 + (sig ? os.constants.signals[sig] : 0)));
    });
    if (signals > 1) throw new Interrupted('stopped at once, without a checkpoint; the model directory was not changed');
    throw new ExitWith(code);
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

/** In the worker: a stop request from the supervisor, or the supervisor gone (IPC closed). */
export function stopRequests(): { requested: () => boolean; dispose: () => void } {
  let stop = false;
  const onMessage = (m: unknown): void => {
    if (typeof m === 'object' && m !== null && 'stop' in m) stop = true;
  };
  const onDisconnect = (): void => {
    stop = true;
  };
  process.on('message', onMessage);
  process.on('disconnect', onDisconnect);
  return {
    requested: () => stop,
    dispose: () => {
      process.removeListener('message', onMessage);
      process.removeListener('disconnect', onDisconnect);
    },
  };
}
