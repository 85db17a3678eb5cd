import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { startCluster } from '../app/cluster.js';
import { announceReady, drainedWaitForRelease, workerPlace, workerRole } from '../app/cluster-messages.js';
import { MAX_SHARDS } from '../shared/shards.js';
import { checkStoreUrl, sqlitePath } from '../store/open.js';
import { prepareShards } from '../store/sharded/shard-files.js';
import { createGateway, type Gateway } from '../gateway/server.js';
import { createLogger } from '../app/logger.js';
import { loadConfigFile, resolveSettings, type Settings } from '../config/settings.js';
import { TRACE_EXECUTIONS, type TraceExecution } from '../model.js';
import { boundedDurationFlag, durationFlag, intFlag, logLevelFlag, parseFlags, sizeFlag, UsageError } from './flags.js';

export const SERVE_HELP = `Usage: asyncgate serve --upstream URL [options]

Run the gateway: a reverse proxy in front of URL that answers 202 Accepted (with a status
monitor) to requests that ask for an asynchronous answer, and proxies the rest unchanged.

Options:
  --upstream URL           the API to put asynchrony in front of (required unless in --config)
  --port N                 port to listen on (default 8080; 0 picks a free one)
  --host ADDR              address to listen on (default 127.0.0.1)
  --db URL                 storage: sqlite:PATH (default sqlite:./asyncgate.db), or
                           postgres://user@host:5432/db[?schema=NAME&pool=N] to share jobs
                           between several asyncgate processes
  --config FILE            route rules and settings (JSON, or a JS/TS module); flags win
  --admin-token TOKEN      token for the admin endpoints and the dashboard (also ASYNCGATE_ADMIN_TOKEN)
  --viewer-token TOKEN     read-only token: the dashboard and the admin API's reads, no changes
                           (also ASYNCGATE_VIEWER_TOKEN)
  --retention DURATION     keep finished jobs and results this long (default 24h)
  --timeout DURATION       upstream timeout per attempt (default 30m)
  --max-wait DURATION      cap on Prefer: wait=N (default 60s)
  --max-body SIZE          largest request body accepted, also passed through (default 100mb)
  --max-result SIZE        largest upstream response kept as a result (default 100mb)
  --concurrency N          upstream requests at once (default 64)
  --max-queued N           jobs waiting before new ones get 503 (default 10000)
  --min-poll-interval DUR  answer faster polls with 429 (default off)
  --lease DURATION         lease time; a crashed process's jobs are rescued after it (default 10s)
  --events-heartbeat DUR   keep-alive comment interval on event streams (default 15s)
  --public-url URL         absolute base for Location headers (default: from the request)
  --prefix PATH            where asyncgate's own endpoints live (default /_async)
  --owner-header NAME      header that binds jobs to their submitter (default Authorization, then Cookie)
  --cors                   answer CORS preflights and expose the async headers to browsers
  --log-level LEVEL        fatal, error, warn, info (default), debug, trace or silent
                           (else ASYNCGATE_LOG_LEVEL)
  --trace-execution MODE   spans of upstream attempts and callbacks: link (default: traces of
                           their own, linked to the accept span) or child (in the job's trace)
  --workers N              processes serving (default ASYNCGATE_WORKERS, else one per core); on
                           SQLite each owns a shard file next to the --db one; 1: a single process
  --access-log             one log line per request: route, status, duration, job id, trace id
  --metrics-public         serve {prefix}/metrics without a token (scrapers on a private network)
  --no-metrics             record no metrics; {prefix}/metrics answers 404

Connections and shutdown:
  --headers-timeout DUR    close a connection whose request headers take longer (default 60s)
  --idle-timeout DUR       close a keep-alive connection idle this long between requests (default 5s)
  --shutdown-grace DUR     on SIGTERM, how long requests in flight and running jobs may take to
                           finish before they are cut / handed back (default 30s)

Callbacks:
  --signing-secret KEYS    whsec_… key for webhook signatures; during a rotation "new,old" signs with
                           both (default: generated once, kept in the db)
  --sign-ed25519           also sign with ed25519 (v1a), public key at {prefix}/webhook-key, so
                           receivers need no shared secret (default off: HMAC v1 only)
  --retry-schedule LIST    delivery attempts, e.g. 0s,5s,5m,30m,2h,5h,10h,10h (the default)
  --callback-timeout DUR   how long a receiver may take to answer (default 30s)
  --allow-callback-hosts L hosts/CIDRs callbacks may reach despite the SSRF guard, e.g. 127.0.0.1,10.0.0.0/8
  --allow-private-callbacks  allow loopback/private callback addresses (development only)
  --max-callbacks N        callbacks one job may have, named and registered (default 10)
  --vapid-keys PUB,PRIV    Web Push VAPID key pair, base64url (default: generated once, kept in
                           the db; public key at {prefix}/push-key)
  --vapid-subject URL      mailto: or https: contact push services see (default mailto:asyncgate@localhost)

QStash-compatible API (docs/qstash.md):
  --qstash                 serve QStash's v2 API at /v2/… (the @upstash/qstash SDK works unchanged)
  --qstash-token TOKEN     a bearer token it accepts, an owner of its own messages (repeatable, or
                           comma-separated; also ASYNCGATE_QSTASH_TOKENS)
  -h, --help               show this help

Example:
  asyncgate serve --upstream http://127.0.0.1:3000 --db sqlite:./jobs.db
`;

const OPTIONS = {
  upstream: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  db: { type: 'string' },
  config: { type: 'string' },
  'admin-token': { type: 'string' },
  'viewer-token': { type: 'string' },
  retention: { type: 'string' },
  timeout: { type: 'string' },
  'max-wait': { type: 'string' },
  'max-body': { type: 'string' },
  'max-result': { type: 'string' },
  concurrency: { type: 'string' },
  'max-queued': { type: 'string' },
  'min-poll-interval': { type: 'string' },
  lease: { type: 'string' },
  'events-heartbeat': { type: 'string' },
  'public-url': { type: 'string' },
  prefix: { type: 'string' },
  'owner-header': { type: 'string' },
  cors: { type: 'boolean' },
  'log-level': { type: 'string' },
  'trace-execution': { type: 'string' },
  'access-log': { type: 'boolean' },
  workers: { type: 'string' },
  'metrics-public': { type: 'boolean' },
  'no-metrics': { type: 'boolean' },
  'headers-timeout': { type: 'string' },
  'idle-timeout': { type: 'string' },
  'shutdown-grace': { type: 'string' },
  'signing-secret': { type: 'string' },
  'sign-ed25519': { type: 'boolean' },
  'retry-schedule': { type: 'string' },
  'callback-timeout': { type: 'string' },
  'allow-callback-hosts': { type: 'string' },
  'allow-private-callbacks': { type: 'boolean' },
  'max-callbacks': { type: 'string' },
  'vapid-keys': { type: 'string' },
  'vapid-subject': { type: 'string' },
  qstash: { type: 'boolean' },
  'qstash-token': { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `asyncgate serve`'s command line, understood: the settings and the logger to run with. */
export interface ServeCommand {
  settings: Settings;
  log: Logger;
  /** Processes to serve with (--workers; default one per core). */
  workers: number;
}

/** Parse `serve` flags (and the config file) into settings and a logger. null when --help was asked. */
export async function serveCommand(argv: string[]): Promise<ServeCommand | null> {
  const { values: v } = parseFlags(argv, OPTIONS);
  if (v.help) return null;
  const logLevel = logLevelFlag(v['log-level'], 'info');
  const file = v.config ? await loadConfigFile(v.config) : {};
  if (v['admin-token'] !== undefined && v['admin-token'].length < 16) {
    throw new UsageError('--admin-token must be at least 16 characters');
  }
  if (v['viewer-token'] !== undefined && v['viewer-token'].length < 16) {
    throw new UsageError('--viewer-token must be at least 16 characters');
  }
  const settings = resolveSettings(file, {
    upstream: v.upstream,
    port: intFlag('port', v.port, 0, 65535),
    host: v.host,
    db: v.db,
    adminToken: v['admin-token'] ?? process.env.ASYNCGATE_ADMIN_TOKEN,
    viewerToken: v['viewer-token'] ?? process.env.ASYNCGATE_VIEWER_TOKEN,
    retentionMs: durationFlag('retention', v.retention),
    timeoutMs: durationFlag('timeout', v.timeout),
    maxWaitMs: durationFlag('max-wait', v['max-wait']),
    maxBodyBytes: sizeFlag('max-body', v['max-body']),
    maxResultBytes: sizeFlag('max-result', v['max-result']),
    concurrency: intFlag('concurrency', v.concurrency, 1, 10_000),
    maxQueued: intFlag('max-queued', v['max-queued'], 1, 100_000_000),
    minPollIntervalMs: durationFlag('min-poll-interval', v['min-poll-interval']),
    leaseMs: durationFlag('lease', v.lease),
    eventsHeartbeatMs: heartbeatFlag(v['events-heartbeat']),
    shutdownGraceMs: boundedDurationFlag('shutdown-grace', v['shutdown-grace'], 0, 3_600_000, 'at most 1h'),
    headersTimeoutMs: boundedDurationFlag('headers-timeout', v['headers-timeout'], 100, 3_600_000, 'from 100ms to 1h'),
    idleTimeoutMs: boundedDurationFlag('idle-timeout', v['idle-timeout'], 100, 3_600_000, 'from 100ms to 1h'),
    publicUrl: v['public-url'],
    prefix: v.prefix,
    ownerHeader: v['owner-header'],
    cors: v.cors,
    traceExecution: traceExecutionFlag(v['trace-execution']),
    accessLog: v['access-log'],
    metrics: { enabled: v['no-metrics'] ? false : undefined, public: v['metrics-public'] },
    qstash: { enabled: v.qstash, tokens: v['qstash-token'] ?? process.env.ASYNCGATE_QSTASH_TOKENS?.split(',') },
    callbacks: {
      retrySchedule: v['retry-schedule'],
      timeoutMs: durationFlag('callback-timeout', v['callback-timeout']),
      allowHosts: v['allow-callback-hosts'],
      allowPrivate: v['allow-private-callbacks'],
      signingSecret: v['signing-secret'] ?? process.env.ASYNCGATE_SIGNING_SECRET,
      ed25519: v['sign-ed25519'],
      maxPerJob: intFlag('max-callbacks', v['max-callbacks'], 1, 1_000),
      vapidKeys: v['vapid-keys'] ?? process.env.ASYNCGATE_VAPID_KEYS,
      vapidSubject: v['vapid-subject'],
    },
  });
  return { settings, log: createLogger(logLevel), workers: workersFlag(v.workers ?? process.env.ASYNCGATE_WORKERS, settings.db) };
}

/** --workers N (1 … 64); by default one per core, except for a database in memory, which one process holds. */
export function workersFlag(value: string | undefined, db: string): number {
  const inMemory = sqlitePath(db) === ':memory:';
  const n = intFlag('workers', value, 1, MAX_SHARDS);
  if (n !== undefined && n > 1 && inMemory) throw new UsageError('--workers: a database in memory (sqlite::memory:) lives in one process; use a file or PostgreSQL');
  return n ?? (inMemory ? 1 : availableParallelism());
}

function heartbeatFlag(value: string | undefined): number | undefined {
  const ms = durationFlag('events-heartbeat', value);
  if (ms !== undefined && (ms < 100 || ms > 3_600_000)) throw new UsageError('--events-heartbeat must be from 100ms to 1h');
  return ms;
}

function traceExecutionFlag(value: string | undefined): TraceExecution | undefined {
  if (value === undefined) return undefined;
  if (!(TRACE_EXECUTIONS as readonly string[]).includes(value)) throw new UsageError(`--trace-execution must be link or child, got "${value}"`);
  return value as TraceExecution;
}

/**
 * Serve as the command says: one process (`--workers 1`), or a cluster's primary forking the workers, or,
 * in a process the primary forked, one of its workers. Resolves with where it listens.
 */
export async function runServe(command: ServeCommand, env?: Record<string, string>): Promise<{ url: string }> {
  const { settings, log } = command;
  const place = workerPlace();
  if (place) return runWorker(settings, log.child({ worker: place.index }), place);
  // The limits are split between the workers (each runtime takes its share): no more workers than the
  // smallest allows, so that together they keep it.
  const { concurrency, callbacks } = settings;
  const workers = Math.min(command.workers, concurrency, callbacks.concurrency, callbacks.perHost);
  if (workers < command.workers) {
    log.info({ workers, asked: command.workers, concurrency, callbackConcurrency: callbacks.concurrency, perHost: callbacks.perHost }, 'fewer workers: each keeps a share of the limits, at least 1');
  }
  if (workers === 1) return runGateway(settings, log);
  const { path, label } = checkStoreUrl(settings.db);
  const shards = path === undefined ? 0 : await prepareShards(path, workers);
  // Signals are handled from before the first fork: a SIGTERM while the workers start stops them too.
  let stopping: string | undefined;
  let started: Awaited<ReturnType<typeof startCluster>> | undefined;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = signal;
    log.info({ signal, graceMs: settings.shutdownGraceMs }, 'shutting down');
    if (started) void started.stop().then((code) => process.exit(code));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  const primary = (started = await startCluster({ workers, shards, log, env }));
  log.info({ url: primary.url, upstream: settings.upstream.href, db: label, workers, shards }, 'asyncgate listening');
  if (stopping) void primary.stop().then((code) => process.exit(code));
  return primary;
}

/** One worker of a cluster: a gateway on the shared port, its store a shard (SQLite) or the shared database. */
async function runWorker(settings: Settings, log: Logger, place: NonNullable<ReturnType<typeof workerPlace>>): Promise<Gateway> {
  const made: { gateway?: Gateway } = {};
  const role = workerRole(place, () => made.gateway?.metrics.registry);
  const gateway = (made.gateway = await createGateway(settings, log, role));
  const url = await gateway.listen();
  log.debug({ url, db: gateway.store.label }, 'worker listening');
  announceReady(gateway.engine.workerId, url);
  stopOnSignals(gateway, settings, log, drainedWaitForRelease);
  return gateway;
}

/** Start a gateway and stop it gracefully on SIGTERM / SIGINT. */
export async function runGateway(settings: Settings, log: Logger = createLogger()): Promise<Gateway> {
  const gateway = await createGateway(settings, log);
  const url = await gateway.listen();
  log.info({ url, upstream: settings.upstream.href, db: gateway.store.label }, 'asyncgate listening');
  stopOnSignals(gateway, settings, log);
  return gateway;
}

function stopOnSignals(gateway: Gateway, settings: Settings, log: Logger, beforeUnlisten?: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, graceMs: settings.shutdownGraceMs }, 'shutting down');
    gateway
      .close(settings.shutdownGraceMs, beforeUnlisten)
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
