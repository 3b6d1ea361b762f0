import { spawn } from 'node:child_process';

/** Receives a child process's output as it arrives. */
export type OutputSink = (chunk: string) => void;

/** Result of {@link run}: exit code (or -1 when killed) and the last 64 KiB of combined output. */
export interface RunResult {
  code: number;
  output: string;
}

/** Options of {@link run}. */
export interface RunOptions {
  /** Working directory of the child. */
  cwd?: string;
  /** Environment of the child. */
  env: NodeJS.ProcessEnv;
  /** Receives stdout and stderr of the child as they arrive. */
  onOutput: OutputSink;
}

const KEEP = 64 * 1024;

/** Runs a command without a shell; rejects only if it cannot be started (e.g. not found). */
export function run(cmd: string, args: string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const take = (b: Buffer): void => {
      const s = b.toString('utf8');
      output = (output + s).slice(-KEEP);
      opts.onOutput(s);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
}
