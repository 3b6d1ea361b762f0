/**
 * 404 and 405 from the routes the app registers (collected by an onRoute hook, so a route added anywhere is
 * known here without being listed twice): a known path asked with another method is 405 with `Allow`, any
 * other path 404 with the list of what there is. Paths with a wildcard are not listed one by one: a GET
 * wildcard serves files (the page of `--web`) and is named as such.
 */
import fp from 'fastify-plugin';
import { ServeError } from '../errors.js';

/** Paths as registered, each with its methods (HEAD included), in the order they were registered. */
type RouteTable = Map<string, string[]>;

export const routeIndex = fp(
  async (app) => {
    const routes: RouteTable = new Map();
    const files: string[] = [];
    app.addHook('onRoute', (r) => {
      const methods = [r.method].flat();
      if (r.url.includes('*')) {
        if (methods.includes('GET')) files.push(r.url.replace(/\*$/, ''));
      } else {
        routes.set(r.url, [...(routes.get(r.url) ?? []), ...methods]);
      }
    });
    app.setNotFoundHandler(async (req) => {
      const path = req.url.split('?')[0]!;
      const methods = routes.get(path);
      if (methods) {
        throw new ServeError(
          'SERVE_METHOD_NOT_ALLOWED',
          405,
          `${req.method} is not allowed on ${path}`,
          `Use ${methods.filter((m) => m !== 'HEAD').join(' or ')}`,
          { allow: methods.join(', ') },
        );
      }
      const pages = files.map((f) => ` (and the page at ${f})`).join('');
      throw new ServeError('SERVE_NOT_FOUND', 404, `there is no ${path}`, `The API is ${listing(routes)}${pages}`);
    });
  },
  { name: 'rnn-route-index' },
);

/** `POST /v1/predict, GET /v1/model, /healthz and /metrics`: each path, with its methods when they differ from the one before. */
export function listing(routes: RouteTable): string {
  let previous = '';
  const items = [...routes].map(([path, methods]) => {
    const shown = methods.filter((m) => m !== 'HEAD').join('/');
    const item = shown === previous ? path : `${shown} ${path}`;
    previous = shown;
    return item;
  });
  return items.length > 1 ? `${items.slice(0, -1).join(', ')} and ${items.at(-1)}` : (items[0] ?? 'empty');
}
