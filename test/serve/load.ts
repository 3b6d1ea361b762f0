/**
 * A load generator in a process of its own (forked by test/serve/server.e2e.test.ts), so that the memory the
 * server's test measures is the server's alone: autocannon's own requests, buffers and sockets are here.
 * Reads one {@link LoadJob} message, answers with autocannon's counts, and exits.
 */
import autocannon from 'autocannon';

export interface LoadJob {
  url: string;
  /** Requests in all. */
  amount: number;
  connections: number;
  /** JSON bodies, sent in turn. */
  bodies: string[];
}

export interface LoadCounts {
  errors: number;
  non2xx: number;
  '2xx': number;
}

process.once('message', (job: LoadJob) => {
  let i = 0;
  const opts = {
    url: job.url,
    connections: job.connections,
    amount: job.amount,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        setupRequest: (req: autocannon.Request) => ({ ...req, body: job.bodies[i++ % job.bodies.length] }),
      },
    ],
  };
  autocannon(opts as autocannon.Options, (err, r) => {
    if (err) throw err;
    const counts: LoadCounts = { errors: r.errors, non2xx: r.non2xx, '2xx': r['2xx'] };
    process.send!(counts, () => process.exit(0));
  });
});
