import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DEFAULT_RETRY_SCHEDULE_MS, parseRetrySchedule } from '../delivery/schedule.js';
import { CallbackPolicyError, parseAllowList, type CallbackPolicy } from '../delivery/ssrf.js';
import { checkVapidSubject, parseVapidKeys, type VapidKeys } from '../delivery/push/vapid.js';
import type { TraceExecution } from '../model.js';
import { configFileSchema, formatIssues, type ConfigFile } from './schema.js';
import { RouteTable } from './routes.js';

/** Everything a running gateway needs, resolved: defaults < config file < command-line flags. */
export interface Settings {
  upstream: URL;
  port: number;
  host: string;
  db: string;
  adminToken: string | undefined;
  /** Read-only access to the admin API and the dashboard. */
  viewerToken: string | undefined;
  publicUrl: string | undefined;
  prefix: string;
  retentionMs: number;
  timeoutMs: number;
  maxWaitMs: number;
  maxBodyBytes: number;
  maxResultBytes: number;
  concurrency: number;
  maxQueued: number;
  minPollIntervalMs: number;
  leaseMs: number;
  /** Interval of `: keep-alive` comments on event streams. */
  eventsHeartbeatMs: number;
  /** How long a shutdown lets requests in flight and running jobs finish before cutting / handing back. */
  shutdownGraceMs: number;
  /** How long a client may take to send a request's headers (slowloris bound). */
  headersTimeoutMs: number;
  /** How long an idle keep-alive connection is kept open between requests. */
  idleTimeoutMs: number;
  ownerHeader: string | undefined;
  cors: boolean;
  routes: RouteTable;
  callbacks: CallbackSettings;
  /** How the spans of a job's execution relate to its accept span (docs/operations/tracing.md). */
  traceExecution: TraceExecution;
  /** `{prefix}/metrics` (docs/operations/metrics.md): recorded unless disabled; admin or viewer token
   * required unless public. */
  metrics: { enabled: boolean; public: boolean };
  /** One structured log line per request answered (route, status, duration, job id, trace id). */
  accessLog: boolean;
  /** The QStash-compatible API at `/v2/…` (docs/qstash.md): off unless enabled; each token is an owner. */
  qstash: QstashSettings;
}

export interface QstashSettings {
  enabled: boolean;
  /** The bearer tokens it accepts (`Authorization: Bearer …`); each token's messages, queues and schedules are its own. */
  tokens: string[];
}

export interface CallbackSettings {
  retryScheduleMs: readonly number[];
  timeoutMs: number;
  policy: CallbackPolicy;
  /** `whsec_…` keys, the first current, the rest still signing during a rotation; generated and kept in the
   * store when none is given. */
  signingSecrets: string[];
  /** Also sign with ed25519 (`v1a`), its public key at `{prefix}/webhook-key`. Off by default: an
   * ed25519 signature costs about ten times an HMAC, and receivers that hold the secret do not need it. */
  ed25519: boolean;
  concurrency: number;
  perHost: number;
  /** Callbacks one job may have in all: each is a signed outbound request, so a request must not name hundreds. */
  maxPerJob: number;
  /** Web Push's VAPID key pair (docs/push.md); absent: generated once and kept in the store. */
  vapidKeys?: VapidKeys;
  /** The VAPID `sub` claim; absent: DEFAULT_VAPID_SUBJECT. */
  vapidSubject?: string;
}

/** Callback flags as given on the command line (raw text; parsed here so file and flags share the checks). */
export interface CallbackFlags {
  retrySchedule?: string;
  timeoutMs?: number;
  allowHosts?: string;
  allowPrivate?: boolean;
  signingSecret?: string;
  ed25519?: boolean;
  maxPerJob?: number;
  vapidKeys?: string;
  vapidSubject?: string;
}

export const DEFAULTS = {
  port: 8080,
  host: '127.0.0.1',
  db: 'sqlite:./asyncgate.db',
  prefix: '/_async',
  retentionMs: 24 * 3600_000,
  timeoutMs: 30 * 60_000,
  maxWaitMs: 60_000,
  maxBodyBytes: 100 * 1024 * 1024,
  maxResultBytes: 100 * 1024 * 1024,
  concurrency: 64,
  maxQueued: 10_000,
  minPollIntervalMs: 0,
  leaseMs: 10_000,
  eventsHeartbeatMs: 15_000,
  shutdownGraceMs: 30_000,
  headersTimeoutMs: 60_000,
  idleTimeoutMs: 5_000,
};

/** A configuration problem the user must fix; the CLI prints the message and exits 2. */
/** The configuration (file, flags or library options) is invalid; the message says where and why. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'invalid-config';
}

/** Read and validate a config file: JSON, or a JS/TS module whose default export is the config object. */
export async function loadConfigFile(path: string): Promise<ConfigFile> {
  const full = resolve(path);
  if (!existsSync(full)) throw new ConfigError(`config file not found: ${full}`);
  let raw: unknown;
  try {
    if (/\.json$/i.test(full)) {
      raw = JSON.parse(await readFile(full, 'utf8'));
    } else {
      const { createJiti } = await import('jiti');
      raw = await createJiti(import.meta.url).import(full, { default: true });
    }
  } catch (error) {
    throw new ConfigError(`cannot read config file ${full}: ${(error as Error).message}`);
  }
  const parsed = configFileSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`invalid config file ${full}:\n${formatIssues(parsed.error)}`);
  return parsed.data;
}

type Flags = Partial<Omit<Settings, 'routes' | 'upstream' | 'callbacks' | 'metrics' | 'qstash'>> & {
  callbacks?: CallbackFlags;
  metrics?: Partial<Settings['metrics']>;
  qstash?: { enabled?: boolean; tokens?: string[] };
};

/** Merge file and flags over the defaults. `flags` holds already-parsed values (ms, bytes). */
export function resolveSettings(file: Partial<ConfigFile>, flags: Flags & { upstream?: string }): Settings {
  const upstreamText = flags.upstream ?? file.upstream;
  if (!upstreamText) throw new ConfigError('an upstream is required: --upstream http://127.0.0.1:3000 (or "upstream" in the config file)');
  let upstream: URL;
  try {
    upstream = new URL(upstreamText);
  } catch {
    throw new ConfigError(`--upstream "${upstreamText}" is not a URL`);
  }
  if (upstream.protocol !== 'http:' && upstream.protocol !== 'https:') {
    throw new ConfigError(`--upstream must be http:// or https://, got "${upstreamText}"`);
  }
  return { upstream, ...resolveCommonSettings(file, flags) };
}

/** Everything but the upstream: what library mode needs too. */
export function resolveCommonSettings(file: Partial<ConfigFile>, flags: Flags): Omit<Settings, 'upstream'> {
  const pick = <K extends keyof typeof DEFAULTS>(
    k: K,
    fromFile: (typeof DEFAULTS)[K] | undefined,
    fromFlag: (typeof DEFAULTS)[K] | undefined,
  ) => fromFlag ?? fromFile ?? DEFAULTS[k];
  let routes: RouteTable;
  try {
    routes = new RouteTable(file.routes ?? []);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  const adminToken = flags.adminToken ?? file.adminToken;
  const viewerToken = flags.viewerToken ?? file.viewerToken;
  // One token for both roles would make every viewer an admin.
  if (viewerToken !== undefined && viewerToken === adminToken) throw new ConfigError('the viewer token must differ from the admin token');
  return {
    port: pick('port', file.port, flags.port),
    host: pick('host', file.host, flags.host),
    db: flags.db ?? file.db ?? DEFAULTS.db,
    adminToken,
    viewerToken,
    publicUrl: (flags.publicUrl ?? file.publicUrl)?.replace(/\/+$/, ''),
    prefix: flags.prefix ?? file.prefix ?? DEFAULTS.prefix,
    retentionMs: pick('retentionMs', file.retention, flags.retentionMs),
    timeoutMs: pick('timeoutMs', file.timeout, flags.timeoutMs),
    maxWaitMs: pick('maxWaitMs', file.maxWait, flags.maxWaitMs),
    maxBodyBytes: pick('maxBodyBytes', file.maxBodySize, flags.maxBodyBytes),
    maxResultBytes: pick('maxResultBytes', file.maxResultSize, flags.maxResultBytes),
    concurrency: pick('concurrency', file.concurrency, flags.concurrency),
    maxQueued: pick('maxQueued', file.maxQueued, flags.maxQueued),
    minPollIntervalMs: pick('minPollIntervalMs', file.minPollInterval, flags.minPollIntervalMs),
    leaseMs: pick('leaseMs', file.leaseTime, flags.leaseMs),
    eventsHeartbeatMs: pick('eventsHeartbeatMs', file.eventsHeartbeat, flags.eventsHeartbeatMs),
    shutdownGraceMs: pick('shutdownGraceMs', file.shutdownGrace, flags.shutdownGraceMs),
    headersTimeoutMs: pick('headersTimeoutMs', file.headersTimeout, flags.headersTimeoutMs),
    idleTimeoutMs: pick('idleTimeoutMs', file.idleTimeout, flags.idleTimeoutMs),
    ownerHeader: flags.ownerHeader ?? file.ownerHeader,
    cors: flags.cors ?? file.cors ?? false,
    routes,
    callbacks: resolveCallbacks(file.callbacks ?? {}, flags.callbacks ?? {}),
    traceExecution: flags.traceExecution ?? file.tracing?.execution ?? 'link',
    metrics: {
      enabled: flags.metrics?.enabled ?? file.metrics?.enabled ?? true,
      public: flags.metrics?.public ?? file.metrics?.public ?? false,
    },
    accessLog: flags.accessLog ?? file.accessLog ?? false,
    qstash: resolveQstash(file.qstash ?? {}, flags.qstash ?? {}),
  };
}

function resolveQstash(file: NonNullable<ConfigFile['qstash']>, flags: { enabled?: boolean; tokens?: string[] }): QstashSettings {
  const tokens = (flags.tokens?.length ? flags.tokens : (file.tokens ?? []))
    .flatMap((t) => t.split(','))
    .map((t) => t.trim())
    .filter((t) => t !== '');
  const enabled = flags.enabled ?? file.enabled ?? false;
  for (const t of tokens) {
    if (t.length < 16 || !/^[\x21-\x7e]+$/.test(t)) throw new ConfigError('a QStash token must be at least 16 printable characters, without spaces');
  }
  if (enabled && tokens.length === 0) {
    throw new ConfigError('the QStash API needs at least one token: --qstash-token TOKEN (or "qstash": {"tokens": [...]} in the config file)');
  }
  return { enabled, tokens };
}

function resolveCallbacks(file: NonNullable<ConfigFile['callbacks']>, flags: CallbackFlags): CallbackSettings {
  let retryScheduleMs: readonly number[] = DEFAULT_RETRY_SCHEDULE_MS;
  try {
    if (flags.retrySchedule !== undefined) retryScheduleMs = parseRetrySchedule(flags.retrySchedule);
    else if (typeof file.retrySchedule === 'string') retryScheduleMs = parseRetrySchedule(file.retrySchedule);
    else if (file.retrySchedule) retryScheduleMs = file.retrySchedule;
  } catch (error) {
    throw new ConfigError(`--retry-schedule: ${(error as Error).message}`);
  }
  let policy: CallbackPolicy;
  try {
    const list = flags.allowHosts ?? (file.allowHosts ?? []).join(',');
    policy = parseAllowList(list, flags.allowPrivate ?? file.allowPrivate ?? false);
  } catch (error) {
    if (error instanceof CallbackPolicyError) throw new ConfigError(`--allow-callback-hosts: ${error.message}`);
    throw error;
  }
  const signingText = flags.signingSecret ?? file.signingSecret;
  const signingSecrets = signingText === undefined ? [] : signingText.split(',').map((x) => x.trim());
  for (const secret of signingSecrets) {
    if (!/^whsec_[A-Za-z0-9+/]{16,}={0,2}$/.test(secret)) {
      throw new ConfigError('--signing-secret takes whsec_ + base64 keys, comma-separated during a rotation (e.g. whsec_$(openssl rand -base64 32))');
    }
  }
  const vapidText = flags.vapidKeys ?? file.vapidKeys;
  const vapidSubject = flags.vapidSubject ?? file.vapidSubject;
  let vapidKeys: VapidKeys | undefined;
  try {
    if (vapidText !== undefined) vapidKeys = parseVapidKeys(vapidText);
  } catch (error) {
    throw new ConfigError(`--vapid-keys: ${(error as Error).message}`);
  }
  try {
    if (vapidSubject !== undefined) checkVapidSubject(vapidSubject);
  } catch (error) {
    throw new ConfigError(`--vapid-subject: ${(error as Error).message}`);
  }
  return {
    ...(vapidKeys ? { vapidKeys } : {}),
    ...(vapidSubject !== undefined ? { vapidSubject } : {}),
    retryScheduleMs,
    timeoutMs: flags.timeoutMs ?? file.timeout ?? 30_000,
    policy,
    signingSecrets,
    ed25519: flags.ed25519 ?? file.ed25519 ?? false,
    // Deliveries are I/O-bound: many may be in flight. The per-host bound is what keeps a slow receiver from
    // holding up the others, so the total must be several times it.
    concurrency: file.concurrency ?? 128,
    perHost: file.perHost ?? 16,
    maxPerJob: flags.maxPerJob ?? file.maxPerJob ?? 10,
  };
}
