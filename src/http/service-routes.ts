import type { Ed25519Signer } from '../delivery/signing.js';
import type { Engine } from '../engine/engine.js';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import { sendJson } from '../resource/respond.js';
import { HEALTH_SCHEMA, LIVE_SCHEMA, READY_SCHEMA, WEBHOOK_KEY_SCHEMA, type READY_REASONS } from './admin-schemas.js';
import { RETRY_AFTER } from './openapi-components.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { PrefixRoute, RouteContext } from './route-table.js';

/** How long readiness waits for the store before calling it unreachable. */
const READY_TIMEOUT_MS = 2_000;

type NotReady = { reason: (typeof READY_REASONS)[number]; detail: string };

/** Is this process fit for new work: not draining, the store answering, at the schema this process runs? */
async function readiness(engine: Engine, stopping: boolean): Promise<NotReady | undefined> {
  if (stopping) return { reason: 'draining', detail: 'shutting down: requests in flight are finishing' };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
  });
  let version: number;
  try {
    version = await Promise.race([engine.store.schemaVersion(), timeout]);
  } catch (error) {
    return { reason: 'store-unreachable', detail: `${engine.store.label}: ${(error as Error).message}` };
  } finally {
    clearTimeout(timer);
  }
  const expected = engine.store.migration.to;
  if (version < expected) return { reason: 'migrations-pending', detail: `the database is at migration ${version}, this asyncgate runs ${expected}: run asyncgate migrate` };
  if (version > expected) return { reason: 'schema-newer', detail: `the database is at migration ${version}, newer than this asyncgate (${expected}): upgrade it` };
  return undefined;
}

/** The endpoints about the service rather than a job: health, and the public key of v1a signatures. */
export function serviceRoutes(engine: Engine, ed25519: Ed25519Signer | undefined): PrefixRoute[] {
  return [
    {
      methods: ['GET', 'HEAD'],
      path: '/health/live',
      access: 'public',
      summary: 'Liveness: 200 whenever the process answers',
      responses: { 200: { description: 'The process answers', content: { 'application/json': LIVE_SCHEMA } } },
      async handle({ req, res }) {
        sendJson(res, 200, { status: 'ok' }, { 'cache-control': 'no-store' }, req.method === 'HEAD');
      },
    },
    {
      methods: ['GET', 'HEAD'],
      path: '/health/ready',
      access: 'public',
      summary: 'Readiness: 200 when the store answers and the process takes work; 503 with the reason',
      responses: {
        200: { description: 'Ready for work', content: { 'application/json': READY_SCHEMA } },
        503: { description: 'Not ready: draining, store unreachable, or schema not the one this process runs', content: { 'application/json': READY_SCHEMA }, headers: { 'Retry-After': RETRY_AFTER } },
      },
      async handle({ req, res, stopping }) {
        const notReady = await readiness(engine, stopping);
        if (notReady) sendJson(res, 503, { status: 'not-ready', ...notReady }, { 'cache-control': 'no-store', 'retry-after': '5' }, req.method === 'HEAD');
        else sendJson(res, 200, { status: 'ready' }, { 'cache-control': 'no-store' }, req.method === 'HEAD');
      },
    },
    {
      methods: ['GET', 'HEAD'],
      path: '/health',
      access: 'public',
      summary: 'ok, or 503 while draining; with the engine counters',
      responses: {
        200: { description: 'Up', content: { 'application/json': HEALTH_SCHEMA } },
        503: { description: 'Draining: send new work elsewhere', content: { 'application/json': HEALTH_SCHEMA }, headers: { 'Retry-After': RETRY_AFTER } },
      },
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
      responses: { 200: { description: 'The key (with --sign-ed25519)', content: { 'application/json': WEBHOOK_KEY_SCHEMA } } },
      problems: ['not-found'],
      async handle({ req, res }) {
        // Receivers verify v1a signatures with this key and need no shared secret.
        if (!ed25519) throw new AsyncgateError('not-found', 'ed25519 (v1a) signing is off: start asyncgate with --sign-ed25519 (or callbacks.ed25519 in the config file)');
        sendJson(res, 200, { algorithm: 'ed25519', publicKey: ed25519.publicKey }, { 'cache-control': 'public, max-age=300' }, req.method === 'HEAD');
      },
    },
  ];
}

/** `{prefix}/metrics`: this process's metrics in the Prometheus text format (docs/operations/metrics.md). The
 * admin or viewer token is needed, unless `public` (scrapers on a private network). */
export function metricsRoute(metrics: Metrics, isPublic: boolean): PrefixRoute {
  return {
    methods: ['GET'],
    path: '/metrics',
    access: isPublic ? 'public' : 'viewer',
    summary: 'Prometheus metrics of this process, and gauges of the shared store',
    responses: { 200: { description: 'The metrics, in the Prometheus text format', content: { 'text/plain': { type: 'string' } } } },
    problems: ['not-found'],
    async handle({ res }: RouteContext) {
      if (!metrics.enabled) throw new AsyncgateError('not-found', 'metrics are off: start asyncgate without --no-metrics (or metrics.enabled: true in the config file)');
      const text = await metrics.render();
      res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    },
  };
}
