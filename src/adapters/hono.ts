import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context, MiddlewareHandler } from 'hono';
import type { Asyncgate } from '../library/asyncgate.js';
import type { AsyncHandler } from '../library/handler.js';
import type { RouteOptions } from '../library/options.js';

export * from '../library/public.js';

type Env = { Bindings: HttpBindings };

/**
 * Hono on Node (`@hono/node-server`, which asyncgate's SQLite store needs anyway): asyncgate answers on the
 * node request and response Hono runs on, streaming results and holding long polls without copying them
 * through WHATWG objects. Middleware answering the monitor routes under the prefix.
 */
export function monitor(gate: Asyncgate): MiddlewareHandler<Env> {
  return async (c, next) => {
    const { incoming, outgoing } = bindings(c);
    if (await gate.handlePrefix(incoming, outgoing)) return RESPONSE_ALREADY_SENT;
    await next();
  };
}

/** A Hono handler for an asynchronous route (see `Asyncgate.route`). Leave the body unread before it. */
export function asyncRoute(
  gate: Asyncgate,
  name: string,
  handler: AsyncHandler,
  options?: RouteOptions,
): (c: Context<Env>) => Promise<Response> {
  const route = gate.route(name, handler, options);
  return async (c) => {
    const { incoming, outgoing } = bindings(c);
    await route(incoming, outgoing);
    return RESPONSE_ALREADY_SENT;
  };
}

function bindings(c: Context<Env>): HttpBindings {
  const env = c.env as Partial<HttpBindings> | undefined;
  if (!env?.incoming || !env.outgoing || !('writeHead' in env.outgoing)) {
    throw new Error('asyncgate/hono runs on @hono/node-server (HTTP/1.1): serve({ fetch: app.fetch })');
  }
  return env as HttpBindings;
}
