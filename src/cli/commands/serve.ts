import { Option, type Command } from 'commander';
import * as path from 'node:path';
import { resolveModelDir } from '../../io/model-dir.js';
import { ExitWith, Interrupted } from '../../errors.js';
import { LOG_LEVELS, SERVE_DEFAULTS, type LogLevel, type ServeOptions } from '../../serve/options.js';
import type { RecurrentImpl } from '../../models/index.js';
import { loadRuntime, type CliContext } from '../context.js';
import { milliseconds, nonNegativeInt, positiveInt, positiveMilliseconds, recurrentImpl } from '../options.js';
import { superviseWorker, supervisorMessages } from '../worker.js';

interface ServeFlags {
  model?: string;
  host: string;
  port: number;
  batchSize: number;
  batchWindow: number;
  maxQueue: number;
  bodyLimit: number;
  maxTexts: number;
  maxChars: number;
  timeout: number;
  token?: string;
  cors?: string;
  web?: string;
  watch: number;
  logLevel: LogLevel;
  layers: RecurrentImpl;
}

const D = SERVE_DEFAULTS;

export function registerServe(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('serve a saved model over HTTP: POST /v1/predict, GET /v1/model, /healthz, /readyz, /metrics (see the README)')
    .option('--model <dir>', 'model directory (default models/latest, followed when a new training run replaces it)')
    .option('--host <address>', `address to listen on (${D.host}: this machine only; 0.0.0.0: every interface)`, D.host)
    .option('--port <n>', `port (0: any free port)`, nonNegativeInt, D.port)
    .option('--batch-size <n>', `most reviews coalesced into one forward pass`, positiveInt, D.batchSize)
    .option('--batch-window <ms>', `how long a queued review waits for others before its batch runs`, milliseconds, D.batchWindowMs)
    .option('--max-queue <rows>', `most reviews (or explanation rows) waiting; beyond it: 503 with Retry-After`, positiveInt, D.maxQueue)
    .option('--body-limit <bytes>', `largest request body`, positiveInt, D.bodyLimit)
    .option('--max-texts <n>', `most texts per request`, positiveInt, D.maxTexts)
    .option('--max-chars <n>', `most characters per text`, positiveInt, D.maxChars)
    .option('--timeout <ms>', `longest a request waits for its predictions (then 503)`, positiveMilliseconds, D.timeoutMs)
    .option('--token <token>', 'require `Authorization: Bearer <token>` on /v1 and /metrics (default: $RNN_SERVE_TOKEN; none if unset)')
    .option('--cors <origin>', 'allow browser calls from this origin, e.g. https://example.com (default: none)')
    .option('--web <dir>', 'also host the page `rnn export --web DIR` wrote, at /')
    .option('--watch <ms>', 'how often to check the model directory for a new model (0: only on SIGHUP)', milliseconds, D.watchMs)
    .addOption(new Option('--log-level <level>', 'request log level (JSON lines on stderr)').choices([...LOG_LEVELS]).default(D.logLevel))
    .option('--layers <impl>', 'recurrent implementation: fused (rnn kernels) or stock (tfjs-layers)', recurrentImpl, D.layers)
    .action(async (flags: ServeFlags, command: Command) => {
      // The process that receives signals never runs TensorFlow (see worker.ts); the worker serves.
      if (!ctx.env.worker) return superviseServer(ctx);
      await serveCommand(ctx, command, flags);
    });
}

/** The supervisor: SIGHUP reloads the model; the first SIGINT/SIGTERM drains and stops, the second kills. */
async function superviseServer(ctx: CliContext): Promise<never> {
  const { code, stops } = await superviseWorker(ctx, (sig, n, child) => {
    if (sig === 'SIGHUP') child.send({ reload: sig });
    else if (n === 1 && child.connected) child.send({ stop: sig });
    else child.kill('SIGKILL');
  });
  if (stops > 1) throw new Interrupted('stopped at once; requests in flight were not answered');
  throw new ExitWith(code);
}

/** The worker: listens, loads the model, prints the startup line, serves until asked to stop. */
async function serveCommand(ctx: CliContext, command: Command, flags: ServeFlags): Promise<void> {
  const options: ServeOptions = {
    host: flags.host,
    port: flags.port,
    batchSize: flags.batchSize,
    batchWindowMs: flags.batchWindow,
    maxQueue: flags.maxQueue,
    bodyLimit: flags.bodyLimit,
    maxTexts: flags.maxTexts,
    maxChars: flags.maxChars,
    timeoutMs: flags.timeout,
    token: flags.token ?? ctx.env.serveToken,
    cors: flags.cors,
    web: flags.web && path.resolve(flags.web),
    watchMs: flags.watch,
    logLevel: flags.logLevel,
    layers: flags.layers,
  };
  const modelsDir = ctx.env.modelsDir;
  // Fail before loading TensorFlow and listening when there is no model at all.
  await resolveModelDir(modelsDir, flags.model);
  const runtime = await loadRuntime(ctx, command);
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  let reload: (() => void) | undefined;
  const messages = supervisorMessages({ stop: () => stop(), reload: () => reload?.() });
  try {
    // The server (fastify, its plugins, the schemas, prom-client) loads only here: half of every other command's start-up otherwise.
    const { startServer } = await import('../../serve/index.js');
    const server = await startServer(runtime, options, {
      resolveDir: () => resolveModelDir(modelsDir, flags.model),
      logStream: ctx.io.err,
    });
    reload = () => void server.reload('SIGHUP');
    const model = await Promise.race([server.ready, stopped.then(() => undefined)]);
    if (model) {
      const auth = (options.token ? ', bearer token required' : '') + (options.web ? `, the page at ${server.url}/` : '');
      ctx.io.out.write(`serving ${model.dir} (${model.stamp.cell}, ${model.kernels.description}) on ${server.url}${auth}\n`);
      await stopped;
    }
    await server.close();
  } finally {
    messages.dispose();
  }
}
