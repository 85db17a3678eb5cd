import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Asyncgate } from '../library/asyncgate.js';
import type { AsyncHandler } from '../library/handler.js';
import type { RouteOptions } from '../library/options.js';
import { encodeParsedBody } from '../library/parsed-body.js';

export * from '../library/public.js';

/**
 * A Fastify plugin: mounts asyncgate's monitor routes under the prefix, starts running jobs when the app is
 * ready (every route declared by then) and closes asyncgate with the app.
 * `await app.register(asyncgatePlugin, { gate })`.
 */
export const asyncgatePlugin: FastifyPluginAsync<{ gate: Asyncgate }> = async (fastify, { gate }) => {
  // This plugin's own context only: leave bodies unread, asyncgate reads what it needs (callback registration).
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
  const answer = async (request: FastifyRequest, reply: FastifyReply) => {
    reply.hijack();
    await gate.handlePrefix(request.raw, reply.raw);
  };
  fastify.all(gate.prefix, answer);
  fastify.all(`${gate.prefix}/*`, answer);
  fastify.addHook('onReady', () => gate.start());
  fastify.addHook('onClose', () => gate.close());
};

/** A Fastify handler for an asynchronous route (see `Asyncgate.route`). The body Fastify parsed is kept. */
export function asyncRoute(
  gate: Asyncgate,
  name: string,
  handler: AsyncHandler,
  options?: RouteOptions,
): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const route = gate.route(name, handler, options);
  return async (request, reply) => {
    reply.hijack();
    await route(request.raw, reply.raw, { body: encodeParsedBody(request.raw, request.body) });
  };
}
