import { z } from 'zod';
import { TRACE_EXECUTIONS } from '../model.js';
import { parseDuration, parseSize } from '../shared/units.js';

const duration = z
  .union([z.string(), z.number()])
  .transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${v}" is not a duration (try "30s", "10m", "24h")` });
      return z.NEVER;
    }
    return ms;
  });

const size = z
  .union([z.string(), z.number()])
  .transform((v, ctx) => {
    const bytes = parseSize(v);
    if (bytes === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${v}" is not a size (try "512kb", "10mb")` });
      return z.NEVER;
    }
    return bytes;
  });

/** How a route treats requests (docs/dialects.md#route-rules). */
export const asyncPolicy = z.enum(['never', 'allowed', 'always', 'required']);
export type AsyncPolicy = z.infer<typeof asyncPolicy>;

export const routeRuleSchema = z
  .object({
    /** "POST /reports/:id", "GET,HEAD /exports/*path" or "/anything/*path" (every method). path-to-regexp syntax. */
    match: z.string().min(1),
    name: z.string().optional(),
    async: asyncPolicy.default('allowed'),
    /** Upstream timeout for one attempt. */
    timeout: duration.optional(),
    /** Retries of transient upstream failures. `unsafe: true` allows re-sending non-idempotent requests. */
    retry: z.object({ attempts: z.number().int().min(1).max(100), unsafe: z.boolean().default(false) }).strict().optional(),
    maxBodySize: size.optional(),
    /** A top-level JSON body field holding a callback URL (Lyst's callback_url convention, docs/dialects.md). */
    callbackBodyField: z.string().min(1).optional(),
    keepCallbackBodyField: z.boolean().optional(),
    /** Limit of a JSON body on a callbackBodyField route, which is read whole (default 1mb). */
    callbackBodyMaxSize: size.optional(),
    /** A top-level JSON body field that asks for a Web Push message when the job is done (docs/push.md). */
    pushBodyField: z.string().min(1).optional(),
    keepPushBodyField: z.boolean().optional(),
    /** Cap on `Prefer: wait=N` for this route. */
    maxWait: duration.optional(),
    retention: duration.optional(),
    /** `follow`: an upstream 202 naming a monitor is polled to its end (docs/async-upstreams.md); default `off`. */
    upstreamAsync: z.enum(['off', 'follow']).optional(),
  })
  .strict();

export type RouteRuleInput = z.input<typeof routeRuleSchema>;
export type RouteRuleConfig = z.output<typeof routeRuleSchema>;

/** The configuration file (JSON, or a JS/TS module whose default export is this object). */
export const configFileSchema = z
  .object({
    upstream: z.string().url().optional(),
    port: z.number().int().min(0).max(65535).optional(),
    host: z.string().optional(),
    db: z.string().optional(),
    adminToken: z.string().min(16).optional(),
    /** Read-only access to the admin API and the dashboard (must differ from adminToken). */
    viewerToken: z.string().min(16).optional(),
    publicUrl: z.string().url().optional(),
    prefix: z.string().regex(/^\/[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/).optional(),
    retention: duration.optional(),
    timeout: duration.optional(),
    maxWait: duration.optional(),
    maxBodySize: size.optional(),
    maxResultSize: size.optional(),
    concurrency: z.number().int().min(1).max(10_000).optional(),
    maxQueued: z.number().int().min(1).optional(),
    minPollInterval: duration.optional(),
    leaseTime: duration.optional(),
    /** Interval of `: keep-alive` comments on event streams (default 15s). */
    eventsHeartbeat: duration.refine((ms) => ms >= 100 && ms <= 3_600_000, 'must be from 100ms to 1h').optional(),
    /** How long a shutdown lets requests in flight and running jobs finish (default 30s). */
    shutdownGrace: duration.refine((ms) => ms <= 3_600_000, 'must be at most 1h').optional(),
    /** How long a client may take to send its request headers (default 60s). */
    headersTimeout: duration.refine((ms) => ms >= 100 && ms <= 3_600_000, 'must be from 100ms to 1h').optional(),
    /** How long an idle keep-alive connection stays open (default 5s). */
    idleTimeout: duration.refine((ms) => ms >= 100 && ms <= 3_600_000, 'must be from 100ms to 1h').optional(),
    /** Header whose value binds a job to its submitter; default Authorization, then Cookie. */
    ownerHeader: z.string().min(1).optional(),
    cors: z.boolean().optional(),
    callbacks: z
      .object({
        /** "0s,5s,5m,30m,2h,5h,10h,10h" or a list of durations. */
        retrySchedule: z.union([z.string(), z.array(duration)]).optional(),
        timeout: duration.optional(),
        /** Hosts and CIDRs callbacks may reach despite the SSRF guard, e.g. ["127.0.0.1", "10.0.0.0/8"]. */
        allowHosts: z.array(z.string().min(1)).optional(),
        allowPrivate: z.boolean().optional(),
        /** One key, or several comma-separated during a rotation (the first is current). */
        signingSecret: z.string().startsWith('whsec_').optional(),
        /** Also sign with ed25519 (v1a); the public key is published at {prefix}/webhook-key. */
        ed25519: z.boolean().optional(),
        concurrency: z.number().int().min(1).max(10_000).optional(),
        /** Callbacks one job may have, named with it and registered later together (default 10). */
        maxPerJob: z.number().int().min(1).max(1_000).optional(),
        perHost: z.number().int().min(1).max(1_000).optional(),
        /** Web Push (docs/push.md): the VAPID key pair "PUBLIC,PRIVATE" (default: generated once, kept in the db). */
        vapidKeys: z.string().min(1).optional(),
        /** Who runs this server, for push services: a mailto: or https: URL (default mailto:asyncgate@localhost). */
        vapidSubject: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    /** W3C Trace Context and OpenTelemetry spans (docs/operations/tracing.md). */
    tracing: z
      .object({
        /** `link` (default): upstream attempts and callbacks start traces of their own, linked to the accept span;
         * `child`: they are its children, in the job's trace. */
        execution: z.enum(TRACE_EXECUTIONS).optional(),
      })
      .strict()
      .optional(),
    /** Prometheus metrics at {prefix}/metrics (docs/operations/metrics.md). */
    metrics: z
      .object({
        /** false: record nothing, and /metrics answers 404 (default true). */
        enabled: z.boolean().optional(),
        /** true: no token needed to scrape (a private network); default false (admin or viewer token). */
        public: z.boolean().optional(),
      })
      .strict()
      .optional(),
    /** One structured log line per request answered (default false). */
    accessLog: z.boolean().optional(),
    /** The QStash-compatible API at /v2/… (docs/qstash.md). */
    qstash: z
      .object({
        /** Serve it (default false: proxied APIs keep every path). */
        enabled: z.boolean().optional(),
        /** Bearer tokens it accepts, each an owner of its own messages, queues and schedules. */
        tokens: z.array(z.string().min(16)).optional(),
      })
      .strict()
      .optional(),
    routes: z.array(routeRuleSchema).default([]),
  })
  .strict();

export type ConfigFile = z.output<typeof configFileSchema>;

/** Render zod issues as "routes[0].timeout: "ten" is not a duration" lines. */
export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const path = i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').replace(/^\./, '');
      return `  ${path || '(root)'}: ${i.message}`;
    })
    .join('\n');
}
