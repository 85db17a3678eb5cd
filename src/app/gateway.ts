import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Agent } from 'undici';
import type { Settings } from '../config/settings.js';
import { Engine } from '../engine/engine.js';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import { DeliveryDispatcher } from '../delivery/dispatcher.js';
import { createGuardedAgent } from '../delivery/guarded-agent.js';
import { loadEd25519Signer, newEd25519Signer, newSigningSecret } from '../delivery/signing.js';
import { TERMINAL_STATES, type Job } from '../model.js';
import { acceptAsync, type AcceptDeps } from '../gateway/accept.js';
import { readBody } from '../gateway/body.js';
import { bodyCallback } from '../gateway/body-callback.js';
import { registerCallback } from '../gateway/register-callback.js';
import { upstreamExecutor } from '../gateway/executor.js';
import { negotiate } from '../gateway/negotiate.js';
import { passThrough } from '../gateway/passthrough.js';
import { handleProgressReport } from '../gateway/progress-route.js';
import { ProgressTokens } from '../gateway/progress-token.js';
import { createUpstreamAgent } from '../gateway/upstream.js';
import { AdminRoutes } from '../http/admin-routes.js';
import { applyCors, isPreflight } from '../http/cors.js';
import { JobRoutes } from '../http/job-routes.js';
import { sendJson, sendProblem } from '../http/respond.js';
import { UrlBuilder } from '../http/urls.js';
import { openStore } from '../store/open.js';
import type { JobStore } from '../store/port.js';

export interface Gateway {
  server: Server;
  engine: Engine;
  store: JobStore;
  /** Where it listens, once `listen()` resolved. */
  url: string;
  listen(): Promise<string>;
  /** Graceful shutdown: stop accepting, let running jobs finish for `graceMs`, hand back the rest, flush. */
  close(graceMs?: number): Promise<void>;
}

/** Build the gateway: store, engine, upstream client, and the HTTP server that routes between them. */
export async function createGateway(settings: Settings, log: Logger): Promise<Gateway> {
  const store = await openStore(settings.db);
  const agent: Agent = createUpstreamAgent(settings.concurrency);
  const urls = new UrlBuilder(settings.prefix, settings.publicUrl, `${settings.host}:${settings.port}`);
  const jobUrls = (job: Job) => urls.forOrigin(job.options.origin ?? `http://${settings.host}:${settings.port}`, job.id);
  const progressTokens = new ProgressTokens(await store.secret('progress-key', () => randomBytes(32).toString('base64url')));
  const engine = new Engine({
    store,
    log,
    executor: upstreamExecutor(agent, settings.upstream, (job) => ({ url: jobUrls(job).progress, token: progressTokens.issue(job.id) })),
    concurrency: settings.concurrency,
    maxQueued: settings.maxQueued,
    leaseMs: settings.leaseMs,
    tombstoneMs: settings.retentionMs,
    // Sweep often enough that short retentions are honoured promptly, rarely enough to cost nothing.
    sweepEveryMs: Math.min(60_000, Math.max(1_000, Math.floor(settings.retentionMs / 4))),
    maxResultBytes: settings.maxResultBytes,
  });
  const ownerSalt = await store.secret('owner-salt', () => randomBytes(32).toString('base64url'));
  const signingSecrets = settings.callbacks.signingSecrets.length
    ? settings.callbacks.signingSecrets
    : [await store.secret('signing-secret', newSigningSecret)];
  const ed25519 = loadEd25519Signer(await store.secret('ed25519-key', () => newEd25519Signer().stored));
  const callbackAgent = createGuardedAgent(settings.callbacks.policy, { connections: settings.callbacks.perHost });
  let wakeDeliveries = () => {};
  const jobs = new JobRoutes({
    registerCallback: async (req, job) => {
      const created = await registerCallback(req, job, store, settings.callbacks.policy);
      wakeDeliveries();
      return created;
    },
    engine,
    urls,
    ownerSalt,
    ownerHeader: settings.ownerHeader,
    maxWaitMs: settings.maxWaitMs,
    minPollIntervalMs: settings.minPollIntervalMs,
    heartbeatMs: settings.eventsHeartbeatMs,
    retentionMs: settings.retentionMs,
  });
  const deliveries = new DeliveryDispatcher(
    store,
    callbackAgent,
    {
      workerId: engine.workerId,
      concurrency: settings.callbacks.concurrency,
      perHost: settings.callbacks.perHost,
      leaseMs: settings.leaseMs,
      pollMs: 500,
      timeoutMs: settings.callbacks.timeoutMs,
      schedule: settings.callbacks.retryScheduleMs,
      secrets: signingSecrets,
      ed25519,
      urlsFor: jobUrls,
    },
    log,
  );
  wakeDeliveries = () => deliveries.wake();
  // A job that just finished may have callbacks due: look now rather than at the next poll.
  engine.events.onAny((job) => {
    if (TERMINAL_STATES.has(job.state)) deliveries.wake();
  });
  const admin = new AdminRoutes(settings.adminToken, store, urls, () => deliveries.wake());
  const acceptDeps: AcceptDeps = { engine, settings, urls, ownerSalt };
  const basePath = settings.upstream.pathname.replace(/\/+$/, '');
  const prefix = settings.prefix;
  let closing = false;

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (settings.cors) {
      applyCors(req, res);
      if (isPreflight(req)) return void res.writeHead(204).end();
    }
    if (path === prefix || path.startsWith(prefix + '/')) {
      const rest = path.slice(prefix.length);
      if (rest === '/webhook-key' && (req.method === 'GET' || req.method === 'HEAD')) {
        // SPEC §3.3: the ed25519 public key for v1a signatures, so receivers need no shared secret.
        return sendJson(res, 200, { algorithm: 'ed25519', publicKey: ed25519.publicKey }, { 'cache-control': 'public, max-age=300' });
      }
      if (rest === '/health') {
        return sendJson(res, closing ? 503 : 200, { status: closing ? 'stopping' : 'ok', ...engine.stats }, { 'cache-control': 'no-store' });
      }
      const progress = /^\/jobs\/([^/]+)\/progress$/.exec(rest);
      if (progress) return handleProgressReport(req, res, progress[1]!, engine, progressTokens);
      if (await jobs.handle(req, res, rest)) return;
      if (await admin.handle(req, res, rest, new URLSearchParams(q === -1 ? '' : url.slice(q + 1)))) return;
      throw new AsyncgateError('not-found', `no asyncgate endpoint at ${path}`);
    }
    if (closing) throw new AsyncgateError('shutting-down', undefined, { headers: { 'retry-after': '5', connection: 'close' } });
    const rule = settings.routes.find(req.method ?? 'GET', path);
    let neg = negotiate(req.headers, rule, settings.maxWaitMs, settings.callbacks.policy);
    let preread: Buffer | null | undefined;
    if (rule?.callbackBodyField && rule.async !== 'never' && /\bjson\b/i.test(req.headers['content-type'] ?? '')) {
      // seed 001: the body may ask for a callback; it must be read to know.
      preread = await readBody(req, rule.maxBodySize ?? settings.maxBodyBytes);
      const found = bodyCallback(preread, rule, settings.callbacks.policy);
      if (found) {
        preread = found.body;
        neg = neg.async
          ? { ...neg, callbacks: [...neg.callbacks, found.callback] }
          : { async: true, dialect: 'callback-url', waitSeconds: 0, redirectWhenDone: false, callbacks: [found.callback], applied: [] };
      }
    }
    if (!neg.async) return passThrough(req, res, agent, settings.upstream, basePath, rule?.async !== 'never', preread);
    return acceptAsync(req, res, neg, rule, acceptDeps, preread);
  }

  const server = createServer({ keepAliveTimeout: 5_000, requestTimeout: 0 }, (req, res) => {
    route(req, res).catch((error: unknown) => {
      if (!(error instanceof AsyncgateError)) log.error({ err: error, url: req.url }, 'request failed');
      sendProblem(res, error, req.url);
    });
  });
  // Requests node's parser rejects (malformed framing, oversized headers) still get a problem document.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return void socket.destroy(error);
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    const problem = new AsyncgateError(tooLarge ? 'headers-too-large' : 'malformed-request', error.message).toProblem();
    const text = JSON.stringify(problem);
    socket.end(
      `HTTP/1.1 ${problem.status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
        `content-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
    );
  });

  const gateway: Gateway = {
    server,
    engine,
    store,
    url: '',
    async listen() {
      await engine.start();
      deliveries.start();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(settings.port, settings.host, () => resolve());
      });
      const { port } = server.address() as AddressInfo;
      const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
      gateway.url = `http://${host}:${port}`;
      return gateway.url;
    },
    async close(graceMs = 10_000) {
      if (closing) return;
      closing = true;
      jobs.streams.closeAll();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Deliveries first: attempts in flight finish (or are aborted) before the store hands back every lease.
      await deliveries.stop(Math.min(graceMs, 5_000));
      await engine.stop(graceMs);
      setTimeout(() => server.closeAllConnections(), 1_000).unref();
      await stopped;
      await agent.close();
      await callbackAgent.close();
      await store.close();
    },
  };
  return gateway;
}
