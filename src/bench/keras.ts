/**
 * The Keras reference of `rnn bench --keras-python PYTHON`: bench/keras_reference.py run with that Python on the same
 * batches and architecture, so its figures come from the same machine in the same run. Returns figures; prints nothing.
 */
import { execFile } from 'node:child_process';
import { UserError } from '../errors.js';

/** What the script prints: the Keras version and samples/s per cell. */
export interface KerasRows {
  keras: string;
  rows: Record<string, { trainSamplesPerSec: number; predictSamplesPerSec: number }>;
}

/**
 * Runs `python script tarball ...args` (batch size, timed train and predict batches, warm-up, vocabulary, maxlen,
 * bidirectional 0/1, pooling) and reads the JSON of its last line.
 */
export function runKerasReference(python: string, script: string, tarball: string, args: Array<number | string>): Promise<KerasRows> {
  return new Promise((resolve, reject) => {
    execFile(python, [script, tarball, ...args.map(String)], { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) {
        reject(
          new UserError(
            'BENCH_KERAS_FAILED',
            `the Keras reference failed: ${(stderr || err.message).trim().split('\n').at(-1)}`,
            'Pass --keras-python a Python with tensorflow-cpu==2.21.0 installed (see bench/keras_reference.py)',
          ),
        );
        return;
      }
      resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as KerasRows);
    });
  });
}
