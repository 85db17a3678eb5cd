import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { CallbackSettings, Settings } from '../config/settings.js';
import { DeliveryWorker } from '../delivery/delivery-worker.js';
import { createGuardedAgent } from '../delivery/guarded-agent.js';
import { DEFAULT_VAPID_SUBJECT, formatVapidKeys, newVapidKeys, parseVapidKeys } from '../delivery/push/vapid.js';
import { loadEd25519Signer, newEd25519Signer } from '../delivery/signing.js';
import { UpstashKeys } from '../delivery/upstash-signature.js';
import { Engine } from '../engine/engine.js';
import type { Executor } from '../engine/executor.js';
import { dashboardRoutes } from '../dashboard/routes.js';
import { accessGates } from '../http/access.js';
import { AdminAccess } from '../http/admin-access.js';
import { AdminEventStreams } from '../http/admin-events.js';
import { adminRoutes } from '../http/admin-routes.js';
import { EventStreams } from '../http/event-stream.js';
import { jobRoutes } from '../http/job-routes.js';
import { JobWebSockets } from '../http/job-websocket.js';
import { openApiRoute } from '../http/openapi.js';
import { progressRoute } from '../http/progress-route.js';
import { pushRoutes } from '../http/push-routes.js';
import { registerCallbackRoute } from '../http/register-callback.js';
import { PrefixRouter } from '../http/route-table.js';
import { metricsRoute, serviceRoutes } from '../http/service-routes.js';
import type { Job } from '../model.js';
import { ProgressTokens } from '../resource/progress-token.js';
import { UrlBuilder, type JobUrls } from '../resource/urls.js';
import { openStore } from '../store/open.js';
import type { Peers } from '../store/sharded/peers.js';
import { Metrics } from '../telemetry/metrics.js';
import type { JobStore } from '../store/port.js';
import { reloadSigningSecrets, storedSigningSecrets } from './signing-secret.js';

/** What the engine, the job routes and callback delivery need: the gateway's Settings without the proxy parts. */
export type RuntimeSettings = Pick<
  Settings,
  | 'db'
  | 'prefix'
  | 'publicUrl'
  | 'adminToken'
  | 'viewerToken'
  | 'retentionMs'
  | 'maxWaitMs'
  | 'maxResultBytes'
  | 'concurrency'
  | 'maxQueued'
  | 'minPollIntervalMs'
  | 'leaseMs'
  | 'ownerHeader'
  | 'eventsHeartbeatMs'
  | 'traceExecution'
  | 'metrics'
> & { callbacks: CallbackSettings };

/**
 * The parts every face of asyncgate shares, wired together: store, engine (with a face's executor), callback
 * delivery, and the table of every route under the prefix (monitor, result, events, callbacks, progress,
 * admin, …). The gateway adds the reverse proxy in front; library mode adds the app's routes.
 */
export interface Runtime {
  store: JobStore;
  engine: Engine;
  urls: UrlBuilder;
  /** Salt of the owner hash, kept in the store so restarts and other processes agree. */
  ownerSalt: string;
  /** Every route under the prefix; both faces mount it. */
  router: PrefixRouter;
  /** This runtime's metrics (both faces record their HTTP requests in it). */
  metrics: Metrics;
  /** The owners' `Upstash-Signature` keys (QStash-compatible API, docs/qstash.md). */
  upstashKeys: UpstashKeys;
  /** Look for due callbacks now (a QStash message was retried from the DLQ, say). */
  lookForDeliveries(): void;
  start(): Promise<void>;
  /**
   * Stop working: long polls answer, event streams end and WebSockets close (1001) at once, then deliveries
   * (attempts in flight finish or abort), then the engine lets running jobs finish for `graceMs` and hands
   * back its leases.
   */
  stop(graceMs: number): Promise<void>;
  /** Release the store and connections, once nothing answers requests any more. */
  close(): Promise<void>;
}

/** How long a push service keeps a job's message for a browser that is offline (RFC 8030 §5.2): a day. */
const PUSH_TTL_SECONDS = 24 * 3600;

/** What an executor may need from the runtime: the job's URLs (its progress URL), progress tokens, signing keys. */
export interface ExecutorParts {
  jobUrls: (job: Job) => JobUrls;
  progressTokens: ProgressTokens;
  /** Signs the requests of QStash messages (the gateway's message executor). */
  upstashKeys: UpstashKeys;
}

/** What a runtime that is one worker of several (`--workers N`, app/cluster.ts) is given. */
export interface WorkerRole {
  /** The other workers, through the primary. */
  peers: Peers;
  /** How many shards a SQLite store has (prepareShards). */
  shards: number;
  /** Every worker's metrics, merged (the primary asks each). */
  clusterMetrics: () => Promise<string>;
}

/** Open the store and build the shared parts. `fallbackHost` names this server when a request has no Host. */
export async function createRuntime(
  settings: RuntimeSettings,
  fallbackHost: string,
  /** Builds the face's executor; given what it may need to tell the work where to report progress. */
  makeExecutor: (parts: ExecutorParts) => Executor,
  log: Logger,
  role?: WorkerRole,
): Promise<Runtime> {
  const store = await openStore(settings.db, {
    ...(role ? { shards: { count: role.shards, peers: role.peers, staleAfterMs: settings.leaseMs } } : {}),
    onRetry: (message, delayMs) => log.warn({ retryInMs: delayMs }, message),
    onConnectionState: (state, error) => {
      if (state === 'lost') log.warn({ err: error }, 'lost a connection to the database; reconnecting');
      else log.info('database notifications connected');
    },
  });
  const metrics = new Metrics({ enabled: settings.metrics.enabled });
  if (role) metrics.aggregate = role.clusterMetrics;
  store.observeCommits(metrics.commit);
  const urls = new UrlBuilder(settings.prefix, settings.publicUrl, fallbackHost);
  const jobUrls = (job: Job) => urls.forOrigin(job.options.origin ?? `http://${fallbackHost}`, job.id);
  const progressTokens = new ProgressTokens(await store.secret('progress-key', () => randomBytes(32).toString('base64url')));
  const upstashKeys = new UpstashKeys(store);
  // A worker of a cluster keeps its share of the limits that bound the whole server (at least 1 each).
  const share = (n: number) => (role ? Math.max(1, Math.floor(n / role.peers.workers)) : n);
  const engine = new Engine({
    store,
    log,
    executor: makeExecutor({ jobUrls, progressTokens, upstashKeys }),
    concurrency: share(settings.concurrency),
    maxQueued: settings.maxQueued,
    leaseMs: settings.leaseMs,
    tombstoneMs: settings.retentionMs,
    // Sweep often enough that short retentions are honoured promptly, rarely enough to cost nothing.
    sweepEveryMs: Math.min(60_000, Math.max(1_000, Math.floor(settings.retentionMs / 4))),
    maxResultBytes: settings.maxResultBytes,
    metrics,
  });
  const ownerSalt = await store.secret('owner-salt', () => randomBytes(32).toString('base64url'));
  // Secrets from the settings are fixed; stored ones are re-read while the server runs (`secret rotate`).
  const fixedSecrets = settings.callbacks.signingSecrets.length > 0;
  const signingSecrets = fixedSecrets ? settings.callbacks.signingSecrets : await storedSigningSecrets(store, log);
  const ed25519 = settings.callbacks.ed25519
    ? loadEd25519Signer(await store.secret('ed25519-key', () => newEd25519Signer().stored))
    : undefined;
  // Web Push's VAPID key pair: given, or made once and kept so every process and restart signs alike.
  const vapid = settings.callbacks.vapidKeys ?? parseVapidKeys(await store.secret('vapid-keys', () => formatVapidKeys(newVapidKeys())));
  const callbackAgent = createGuardedAgent(settings.callbacks.policy, { connections: settings.callbacks.perHost });
  const deliveries = new DeliveryWorker(
    store,
    callbackAgent,
    {
      workerId: engine.workerId,
      concurrency: share(settings.callbacks.concurrency),
      perHost: share(settings.callbacks.perHost),
      leaseMs: settings.leaseMs,
      pollMs: 500,
      timeoutMs: settings.callbacks.timeoutMs,
      schedule: settings.callbacks.retryScheduleMs,
      secrets: signingSecrets,
      ed25519,
      urlsFor: jobUrls,
      metrics,
      tracing: settings.traceExecution,
      push: { vapid, subject: settings.callbacks.vapidSubject ?? DEFAULT_VAPID_SUBJECT, ttlSeconds: PUSH_TTL_SECONDS },
      upstash: upstashKeys,
    },
    log,
  );
  engine.handOffCallbacksTo(deliveries);
  // A worker of the cluster exited: its jobs and callbacks are handed back now, not when their leases lapse.
  role?.peers.onMessage((m) => {
    if (m.kind !== 'dead') return;
    engine.handBackLeasesOf(m.workerId).then(
      () => deliveries.lookForWork(),
      (error: unknown) => log.error({ err: error, worker: m.workerId }, 'could not take over the leases of a worker that exited'),
    );
  });
  let stopReloading = () => {};
  // Deliveries made due by another process (its job finished there, or an operator redelivered).
  store.listen?.((change) => {
    if (change.kind === 'deliveries' || change.kind === 'resync') deliveries.lookForWork();
  });
  const streams = new EventStreams(engine.events, settings.eventsHeartbeatMs);
  const adminEvents = new AdminEventStreams(engine.events, settings.eventsHeartbeatMs);
  const sockets = new JobWebSockets(engine.events, settings.eventsHeartbeatMs);
  metrics.useSources({
    store: () => store.gauges(),
    watchers: () => ({ event_stream: streams.size, admin_stream: adminEvents.size, long_poll: engine.waiters, websocket: sockets.size }),
  });
  // Dashboard sessions are signed with a key every process sharing the store reads.
  const admin = new AdminAccess({
    adminToken: settings.adminToken,
    viewerToken: settings.viewerToken,
    sessionKey: await store.secret('console-session-key', () => randomBytes(32).toString('base64url')),
    urls,
    fallbackHost,
  });
  // Aborted when stop() begins: long polls answer the current state at once instead of holding the drain.
  const draining = new AbortController();
  setMaxListeners(0, draining.signal); // one listener per long poll in progress
  const router: PrefixRouter = new PrefixRouter(
    settings.prefix,
    [
      ...jobRoutes({ engine, urls, streams, sockets, maxWaitMs: settings.maxWaitMs, minPollIntervalMs: settings.minPollIntervalMs, draining: draining.signal }),
      registerCallbackRoute({ store, policy: settings.callbacks.policy, maxPerJob: settings.callbacks.maxPerJob, onRegistered: () => deliveries.lookForWork() }),
      progressRoute(engine),
      ...pushRoutes({ store, vapid, policy: settings.callbacks.policy, ownerSalt, ownerHeader: settings.ownerHeader }),
      ...serviceRoutes(engine, ed25519),
      metricsRoute(metrics, settings.metrics.public),
      adminEvents.route(urls, draining.signal),
      ...adminRoutes({ store, engine, urls, ownerHeader: settings.ownerHeader, concurrency: settings.concurrency, onRedeliver: () => deliveries.lookForWork() }),
      ...dashboardRoutes({ prefix: settings.prefix, access: admin }),
      // Generated from this very table, read at its first request.
      openApiRoute({ prefix: settings.prefix, publicUrl: settings.publicUrl, ownerHeader: settings.ownerHeader, routes: () => router.routes }),
    ],
    accessGates({ engine, ownerSalt, ownerHeader: settings.ownerHeader, admin, progressTokens }),
  );

  return {
    store,
    engine,
    urls,
    ownerSalt,
    router,
    metrics,
    upstashKeys,
    lookForDeliveries: () => deliveries.lookForWork(),
    async start() {
      await engine.start();
      deliveries.start();
      if (!fixedSecrets) stopReloading = reloadSigningSecrets(store, signingSecrets, (secrets) => deliveries.useSecrets(secrets), log);
    },
    async stop(graceMs) {
      // Long polls and event streams first: they are cheap for a client to re-establish, elsewhere.
      draining.abort();
      streams.closeAll();
      sockets.closeAll();
      adminEvents.closeAll();
      stopReloading();
      await deliveries.stop(Math.min(graceMs, 5_000));
      await engine.stop(graceMs);
    },
    async close() {
      stopReloading();
      await callbackAgent.close();
      await store.close();
    },
  };
}
