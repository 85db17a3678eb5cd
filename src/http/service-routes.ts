import type { Ed25519Signer } from '../delivery/signing.js';
import type { Engine } from '../engine/engine.js';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import { sendJson } from '../resource/respond.js';
import type { PrefixRoute } from './route-table.js';

/** The endpoints about the service rather than a job: health, and the public key of v1a signatures. */
export function serviceRoutes(engine: Engine, ed25519: Ed25519Signer | undefined): PrefixRoute[] {
  return [
    {
      methods: ['GET', 'HEAD'],
      path: '/health',
      access: 'public',
      summary: 'ok, or 503 while draining; with the engine counters',
      async handle({ req, res, stopping }) {
        const headers: Record<string, string> = stopping ? { 'cache-control': 'no-store', 'retry-after': '5' } : { 'cache-control': 'no-store' };
        sendJson(res, stopping ? 503 : 200, { status: stopping ? 'stopping' : 'ok', ...engine.stats }, headers, req.method === 'HEAD');
      },
    },
    {
      methods: ['GET', 'HEAD'],
      path: '/webhook-key',
      access: 'public',
      summary: 'The ed25519 public key of v1a callback signatures',
      async handle({ req, res }) {
        // Receivers verify v1a signatures with this key and need no shared secret.
        if (!ed25519) throw new AsyncgateError('not-found', 'ed25519 (v1a) signing is off: start asyncgate with --sign-ed25519 (or callbacks.ed25519 in the config file)');
        sendJson(res, 200, { algorithm: 'ed25519', publicKey: ed25519.publicKey }, { 'cache-control': 'public, max-age=300' }, req.method === 'HEAD');
      },
    },
  ];
}
