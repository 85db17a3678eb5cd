import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Asyncgate } from '../library/asyncgate.js';
import type { AsyncHandler } from '../library/handler.js';
import type { RouteOptions } from '../library/options.js';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import { encodeParsedBody } from '../library/parsed-body.js';
import { sendProblem } from '../resource/respond.js';

export * from '../library/public.js';

// Structural types: Express's own Request/Response extend these, and nothing here needs express at run time.
type ExpressRequest = IncomingMessage & { body?: unknown; originalUrl?: string };
type Next = (error?: unknown) => void;

/**
 * Middleware answering asyncgate's monitor routes under the prefix. Mount it before body parsers
 * (`express.json()`): registering a callback reads the request body itself.
 */
export function monitor(gate: Asyncgate): (req: ExpressRequest, res: ServerResponse, next: Next) => void {
  return (req, res, next) => {
    gate.handlePrefix(req, res, { url: req.originalUrl ?? req.url }).then((handled) => handled || next(), next);
  };
}

/** An Express handler for an asynchronous route (see `Asyncgate.route`). Bodies parsed by middleware are kept. */
export function asyncRoute(
  gate: Asyncgate,
  name: string,
  handler: AsyncHandler,
  options?: RouteOptions,
): (req: ExpressRequest, res: ServerResponse, next: Next) => void {
  const route = gate.route(name, handler, options);
  return (req, res, next) => {
    route(req, res, { body: encodeParsedBody(req, req.body), url: req.originalUrl ?? req.url ?? '/' }).catch(next);
  };
}

/**
 * Express error middleware (mount it after the routes) answering what `express.json()` and the other body
 * parsers reject as asyncgate answers bad input: `400 invalid-body` (malformed JSON) or `413 body-too-large`,
 * in problem+json, instead of Express's HTML error page with a stack trace. Other errors go on to `next`.
 */
export function problemErrors(): (error: unknown, req: ExpressRequest, res: ServerResponse, next: Next) => void {
  return (error, req, res, next) => {
    const type = (error as { type?: unknown } | null)?.type; // body-parser's error kinds (http-errors)
    const problem =
      type === 'entity.parse.failed'
        ? new AsyncgateError('invalid-body', `the body is not valid JSON: ${(error as Error).message}`)
        : type === 'entity.too.large'
          ? new AsyncgateError('body-too-large')
          : undefined;
    if (!problem) return next(error);
    sendProblem(res, problem, req.originalUrl ?? req.url);
  };
}
