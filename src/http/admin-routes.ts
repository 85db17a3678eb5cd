import type { Engine } from '../engine/engine.js';
import { isJobId } from '../engine/ids.js';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import { DELIVERY_STATES, JOB_STATES, TERMINAL_STATES, type DeliveryState, type Job, type JobState } from '../model.js';
import { representation } from '../resource/representation.js';
import { sendJson } from '../resource/respond.js';
import type { UrlBuilder } from '../resource/urls.js';
import type { JobStore } from '../store/port.js';
import { OverviewCounts } from './admin-overview.js';
import type { JsonSchema } from '../shared/json-schema.js';
import {
  CAP_QUERY,
  DELIVERY_FILTER_QUERY,
  JOB_FILTER_QUERY,
  PAGE_QUERY,
  capLimit,
  deliveryFilter,
  deliveryFilterParams,
  dryRun,
  jobFilter,
  jobFilterParams,
  pageLimit,
  timeParam,
} from './admin-query.js';
import * as schemas from './admin-schemas.js';
import { attemptView, deliveryView, jobDetail } from './admin-views.js';
import * as doc from './openapi-components.js';
import type { PrefixRoute, RouteContext } from './route-table.js';

export interface AdminRoutesOptions {
  store: JobStore;
  engine: Engine;
  urls: UrlBuilder;
  /** The header that names a job's owner (`--owner-header`): its values are redacted like Authorization's. */
  ownerHeader: string | undefined;
  /** Most attempts running at once in this process (the overview shows it beside the running count). */
  concurrency: number;
  /** Called when deliveries were made due again, so they go out now. */
  onRedeliver: () => void;
}

const NO_STORE = { 'cache-control': 'no-store' };
/**
 * The admin API: every job, whoever submitted it, found by filters and search, with its full detail; cancel,
 * delete and retry (one or in bulk); every delivery (dead letters: state=failed), with redelivery one at a
 * time or in bulk; the overview. Reads are `viewer` access, changes `admin`; off (404) while no token is
 * configured, so an unconfigured gateway exposes nothing.
 */
export function adminRoutes({ store, engine, urls, ownerHeader, concurrency, onRedeliver }: AdminRoutesOptions): PrefixRoute[] {
  /** The job `id`, or the 404 an owner route would answer. */
  async function jobOf(id: string): Promise<Job> {
    const job = isJobId(id) ? await engine.getJob(id) : null;
    if (!job) throw new AsyncgateError('job-not-found');
    return job;
  }

  async function listJobs({ req, res, query }: RouteContext): Promise<void> {
    const filter = jobFilter(query);
    const limit = pageLimit(query);
    const after = query.get('after') ?? undefined;
    const jobs = await store.listJobs({ ...filter, limit, ...(after ? { after } : {}) });
    const items = jobs.map((job) => representation(job, urls.job(req, job.id)));
    const next = nextPage(jobs, limit, (last) => urls.under(req, `/admin/jobs?${new URLSearchParams({ ...jobFilterParams(filter), limit: String(limit), after: last })}`));
    sendJson(res, 200, { items, ...(next ? { next } : {}) }, NO_STORE, req.method === 'HEAD');
  }

  async function showJob({ req, res, params }: RouteContext): Promise<void> {
    const job = await jobOf(params.id!);
    sendJson(res, 200, await jobDetail(store, job, urls.job(req, job.id), ownerHeader), NO_STORE, req.method === 'HEAD');
  }

  async function cancelJob({ req, res, params }: RouteContext): Promise<void> {
    const job = await jobOf(params.id!);
    const current = TERMINAL_STATES.has(job.state) ? job : ((await engine.cancel(job.id, job.options.retentionMs)) ?? job);
    const body = representation(current, urls.job(req, job.id));
    if (current.state === 'succeeded' || current.state === 'failed') {
      throw new AsyncgateError('job-already-finished', `the job has already ${current.state}`, { members: { job: body } });
    }
    sendJson(res, 200, { job: body }, NO_STORE);
  }

  async function deleteJob({ res, params }: RouteContext): Promise<void> {
    const job = await jobOf(params.id!);
    await engine.delete(job.id);
    res.writeHead(204, NO_STORE);
    res.end();
  }

  async function retryJob({ req, res, params }: RouteContext): Promise<void> {
    const out = isJobId(params.id!) ? await engine.retry(params.id!) : null;
    if (!out) throw new AsyncgateError('job-not-found');
    const body = representation(out.job, urls.job(req, out.job.id));
    if (!out.retried) {
      throw new AsyncgateError('job-not-retryable', `the job is ${out.job.state}: only a failed or canceled job runs again`, { members: { job: body } });
    }
    sendJson(res, 200, { job: body }, NO_STORE);
  }

  async function retryMatching({ res, query }: RouteContext): Promise<void> {
    const filter = jobFilter(query);
    const cap = capLimit(query);
    if (dryRun(query)) {
      // One more than the cap: "more than 100" can be told from "exactly 100".
      sendJson(res, 200, { matched: await store.countJobs({ ...filter, retryableOnly: true }, cap + 1), cap }, NO_STORE);
      return;
    }
    const retried = await engine.retryMatching(filter, cap);
    sendJson(res, 200, { retried: retried.length, cap }, NO_STORE);
  }

  async function listDeliveries({ req, res, query }: RouteContext): Promise<void> {
    const filter = deliveryFilter(query);
    const limit = pageLimit(query);
    const after = query.get('after') ?? undefined;
    const list = await store.listDeliveries({ ...filter, limit, ...(after ? { after } : {}) });
    const next = nextPage(list, limit, (last) =>
      urls.under(req, `/admin/deliveries?${new URLSearchParams({ ...deliveryFilterParams(query), limit: String(limit), after: last })}`),
    );
    sendJson(res, 200, { items: list.map(deliveryView), ...(next ? { next } : {}) }, NO_STORE, req.method === 'HEAD');
  }

  async function redeliverSince({ res, query }: RouteContext): Promise<void> {
    const since = timeParam(query, 'since');
    if (since === undefined) throw new AsyncgateError('invalid-query', 'since is required: an ISO date (2026-11-24T12:00:00Z) or epoch ms');
    const host = query.get('host')?.toLowerCase() || undefined;
    const cap = capLimit(query);
    const at = new Date(since).toISOString();
    if (dryRun(query)) {
      const matched = await store.countDeliveries({ state: 'failed', since, ...(host ? { host } : {}) }, cap + 1);
      sendJson(res, 200, { matched, since: at, cap }, NO_STORE);
      return;
    }
    const n = await store.redeliverFailedSince(since, Date.now(), { limit: cap, ...(host ? { host } : {}) });
    if (n) onRedeliver();
    sendJson(res, 200, { redelivered: n, since: at, cap }, NO_STORE);
  }

  async function showDelivery({ req, res, params }: RouteContext): Promise<void> {
    const delivery = await store.getDelivery(params.id!);
    if (!delivery) throw new AsyncgateError('not-found', `no delivery ${params.id}`);
    const attempts = (await store.attemptsOf(delivery.id)).map(attemptView);
    sendJson(res, 200, { ...deliveryView(delivery), attempts }, NO_STORE, req.method === 'HEAD');
  }

  async function redeliverOne({ res, params }: RouteContext): Promise<void> {
    const before = await store.getDelivery(params.id!);
    if (!before) throw new AsyncgateError('not-found', `no delivery ${params.id}`);
    if (!FINISHED.has(before.state)) {
      throw new AsyncgateError('delivery-not-finished', `the delivery is ${before.state}: ${UNFINISHED_WHY[before.state]}`, { members: { delivery: deliveryView(before) } });
    }
    const delivery = (await store.redeliver(before.id, Date.now())) ?? before;
    onRedeliver();
    sendJson(res, 200, deliveryView(delivery), NO_STORE);
  }

  const counts = new OverviewCounts((since, failingSince, settleAt) => store.overview(since, failingSince, settleAt));

  async function overview({ req, res }: RouteContext): Promise<void> {
    const now = Date.now();
    const shared = counts.at(now);
    const firstMinute = shared.firstMinute;
    const o = await shared.overview;
    const counted = new Map(o.perMinute.map((m) => [m.minute, m]));
    const perMinute = Array.from({ length: 60 }, (_, i) => {
      const minute = firstMinute + i * 60_000;
      const m = counted.get(minute);
      return { minute: new Date(minute).toISOString(), accepted: m?.accepted ?? 0, finished: m?.finished ?? 0 };
    });
    const all = <S extends string>(states: readonly S[], counts: Partial<Record<S, number>>) => Object.fromEntries(states.map((s) => [s, counts[s] ?? 0]));
    sendJson(res, 200, {
      jobs: { byState: all<JobState>(JOB_STATES, o.jobsByState) },
      perMinute,
      oldestQueuedAgeMs: o.oldestQueuedAt === null ? null : Math.max(0, now - o.oldestQueuedAt),
      running: engine.stats.running,
      concurrency,
      deliveries: { byState: all<DeliveryState>(DELIVERY_STATES, o.deliveriesByState) },
      failingHosts: o.failingHosts,
    }, NO_STORE, req.method === 'HEAD');
  }

  const json = (schema: JsonSchema) => ({ 'application/json': schema });
  const jobId = { id: doc.JOB_ID };
  const deliveryId = { id: doc.DELIVERY_ID };
  return [
    {
      methods: ['GET', 'HEAD'],
      path: '/admin/overview',
      access: 'viewer',
      summary: 'Jobs and deliveries by state, per minute over the last hour, failing hosts',
      handle: overview,
      responses: { 200: { description: 'The overview', content: json(schemas.OVERVIEW_SCHEMA) } },
    },
    {
      methods: ['GET', 'HEAD'],
      path: '/admin/jobs',
      access: 'viewer',
      summary: 'Every job, newest first, by filters and search',
      handle: listJobs,
      query: { ...JOB_FILTER_QUERY, ...PAGE_QUERY },
      responses: { 200: { description: 'A page of status representations', content: json(schemas.JOB_PAGE_SCHEMA) } },
      problems: ['invalid-query'],
    },
    {
      methods: ['POST'],
      path: '/admin/jobs/retry',
      access: 'admin',
      summary: 'Retry the failed or canceled jobs matching the filters (capped; dry-run counts)',
      handle: retryMatching,
      query: { ...JOB_FILTER_QUERY, ...CAP_QUERY },
      responses: { 200: { description: 'How many were retried, or (dry-run) would be', content: json(schemas.BULK_RETRY_SCHEMA) } },
      problems: ['invalid-query'],
    },
    {
      methods: ['GET', 'HEAD'],
      path: '/admin/jobs/:id',
      access: 'viewer',
      summary: 'One job in full: request, response, timeline, deliveries',
      handle: showJob,
      params: jobId,
      responses: { 200: { description: 'The job in full, credentials redacted', content: json(schemas.JOB_DETAIL_SCHEMA) } },
      problems: ['job-not-found'],
    },
    {
      methods: ['DELETE'],
      path: '/admin/jobs/:id',
      access: 'admin',
      summary: 'Cancel if running, then forget the job and its result',
      handle: deleteJob,
      params: jobId,
      responses: { 204: { description: 'Deleted' } },
      problems: ['job-not-found'],
    },
    {
      methods: ['POST'],
      path: '/admin/jobs/:id/cancel',
      access: 'admin',
      summary: 'Cancel the job',
      handle: cancelJob,
      params: jobId,
      responses: { 200: { description: 'Canceled', content: json(schemas.JOB_WRAPPED_SCHEMA) } },
      problems: ['job-not-found', 'job-already-finished'],
    },
    {
      methods: ['POST'],
      path: '/admin/jobs/:id/retry',
      access: 'admin',
      summary: 'Run a failed or canceled job again (same id, same callbacks)',
      handle: retryJob,
      params: jobId,
      responses: { 200: { description: 'Queued again', content: json(schemas.JOB_WRAPPED_SCHEMA) } },
      problems: ['job-not-found', 'job-not-retryable'],
    },
    {
      methods: ['GET', 'HEAD'],
      path: '/admin/deliveries',
      access: 'viewer',
      summary: 'Deliveries, newest first, by state, job, host, status, time (dead letters: state=failed)',
      handle: listDeliveries,
      query: { ...DELIVERY_FILTER_QUERY, ...PAGE_QUERY },
      responses: { 200: { description: 'A page of deliveries', content: json(schemas.DELIVERY_PAGE_SCHEMA) } },
      problems: ['invalid-query'],
    },
    {
      methods: ['POST'],
      path: '/admin/deliveries/redeliver',
      access: 'admin',
      summary: 'Redeliver the dead letters since a time (by host, capped; dry-run counts)',
      handle: redeliverSince,
      query: {
        since: { ...DELIVERY_FILTER_QUERY.since!, description: 'Dead letters that failed at or after: an ISO date or epoch ms', required: true, examples: { iso: '2026-11-24T00:00:00Z' } },
        host: DELIVERY_FILTER_QUERY.host!,
        ...CAP_QUERY,
      },
      responses: { 200: { description: 'How many were redelivered, or (dry-run) would be', content: json(schemas.BULK_REDELIVER_SCHEMA) } },
      problems: ['invalid-query'],
    },
    {
      methods: ['GET', 'HEAD'],
      path: '/admin/deliveries/:id',
      access: 'viewer',
      summary: 'One delivery with its attempts',
      handle: showDelivery,
      params: deliveryId,
      responses: { 200: { description: 'The delivery and every attempt', content: json(schemas.DELIVERY_DETAIL_SCHEMA) } },
      problems: ['not-found'],
    },
    {
      methods: ['POST'],
      path: '/admin/deliveries/:id/redeliver',
      access: 'admin',
      summary: 'Redeliver one delivery now',
      handle: redeliverOne,
      params: deliveryId,
      responses: { 200: { description: 'Due again, at once', content: json(schemas.DELIVERY_SCHEMA) } },
      problems: ['not-found', 'delivery-not-finished'],
    },
  ];
}

/** A finished delivery (delivered, dead-lettered, gone) can be sent again; the others are under way. */
const FINISHED: ReadonlySet<DeliveryState> = new Set(['delivered', 'failed', 'gone']);
const UNFINISHED_WHY: Record<string, string> = {
  waiting: 'its job has not finished, and it goes out when the job does',
  pending: 'it is already due and goes out as soon as a slot is free',
  delivering: 'an attempt is in flight right now',
};

/** The absolute URL of the next page when this one is full; the last item's id is where it starts. */
function nextPage(items: ReadonlyArray<{ id: string }>, limit: number, url: (after: string) => string): string | undefined {
  const last = items.at(-1);
  return items.length === limit && last ? url(last.id) : undefined;
}
