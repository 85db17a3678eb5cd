import { AsyncgateError } from '../errors/asyncgate-error.js';
import { DELIVERY_STATES, JOB_STATES, type Delivery, type DeliveryState, type JobState } from '../model.js';
import { representation, STATUS_NAMES } from '../resource/representation.js';
import { sendJson } from '../resource/respond.js';
import type { UrlBuilder } from '../resource/urls.js';
import type { JobStore } from '../store/port.js';
import type { PrefixRoute, RouteContext } from './route-table.js';

const BY_STATUS = new Map(JOB_STATES.map((s) => [STATUS_NAMES[s].toLowerCase(), s] as const));

export interface AdminRoutesOptions {
  store: JobStore;
  urls: UrlBuilder;
  /** Called when deliveries were made due again, so they go out now. */
  onRedeliver: () => void;
}

/**
 * The admin API: every job, whoever submitted it, and every delivery (dead letters: state=failed), with
 * redelivery one at a time or in bulk. `admin` access: the admin token; off (404) while none is configured,
 * so an unconfigured gateway exposes nothing.
 */
export function adminRoutes({ store, urls, onRedeliver }: AdminRoutesOptions): PrefixRoute[] {
  async function listJobs({ req, res, query }: RouteContext): Promise<void> {
    const stateText = query.get('state')?.toLowerCase();
    const state = stateText ? (BY_STATUS.get(stateText) ?? (JOB_STATES.includes(stateText as JobState) ? (stateText as JobState) : undefined)) : undefined;
    if (stateText && !state) {
      throw new AsyncgateError('invalid-query', `state must be one of ${Object.values(STATUS_NAMES).join(', ')} (any case)`);
    }
    const limit = pageLimit(query);
    const after = query.get('after') ?? undefined;
    const jobs = await store.listJobs({ limit, ...(state ? { state } : {}), ...(after ? { after } : {}) });
    const items = jobs.map((job) => representation(job, urls.job(req, job.id)));
    const next = nextPage(jobs, limit, (after) => urls.under(req, `/admin/jobs?${new URLSearchParams({ ...(state ? { state } : {}), limit: String(limit), after })}`));
    sendJson(res, 200, { items, ...(next ? { next } : {}) }, { 'cache-control': 'no-store' }, req.method === 'HEAD');
  }

  async function listDeliveries({ req, res, query }: RouteContext): Promise<void> {
    const state = query.get('state')?.toLowerCase();
    if (state && !DELIVERY_STATES.includes(state as DeliveryState)) {
      throw new AsyncgateError('invalid-query', `state must be one of ${DELIVERY_STATES.join(', ')} (any case)`);
    }
    const limit = pageLimit(query);
    const job = query.get('job') ?? undefined;
    const list = await store.listDeliveries({
      limit,
      ...(state ? { state: state as DeliveryState } : {}),
      ...(job ? { jobId: job } : {}),
      ...(query.get('after') ? { after: query.get('after')! } : {}),
    });
    const next = nextPage(list, limit, (after) =>
      urls.under(req, `/admin/deliveries?${new URLSearchParams({ ...(state ? { state } : {}), ...(job ? { job } : {}), limit: String(limit), after })}`),
    );
    sendJson(res, 200, { items: list.map(deliveryView), ...(next ? { next } : {}) }, { 'cache-control': 'no-store' }, req.method === 'HEAD');
  }

  async function redeliverSince({ res, query }: RouteContext): Promise<void> {
    const since = parseSince(query.get('since'));
    const n = await store.redeliverFailedSince(since, Date.now());
    if (n) onRedeliver();
    sendJson(res, 200, { redelivered: n, since: new Date(since).toISOString() }, { 'cache-control': 'no-store' });
  }

  async function showDelivery({ req, res, params }: RouteContext): Promise<void> {
    const delivery = await store.getDelivery(params.id!);
    if (!delivery) throw new AsyncgateError('not-found', `no delivery ${params.id}`);
    const attempts = (await store.attemptsOf(delivery.id)).map((a) => ({ ...a, at: new Date(a.at).toISOString() }));
    sendJson(res, 200, { ...deliveryView(delivery), attempts }, { 'cache-control': 'no-store' }, req.method === 'HEAD');
  }

  async function redeliverOne({ res, params }: RouteContext): Promise<void> {
    const before = await store.getDelivery(params.id!);
    if (!before) throw new AsyncgateError('not-found', `no delivery ${params.id}`);
    if (!FINISHED.has(before.state)) {
      throw new AsyncgateError('delivery-not-finished', `the delivery is ${before.state}: ${UNFINISHED_WHY[before.state]}`, { members: { delivery: deliveryView(before) } });
    }
    const delivery = (await store.redeliver(before.id, Date.now())) ?? before;
    onRedeliver();
    sendJson(res, 200, deliveryView(delivery), { 'cache-control': 'no-store' });
  }

  return [
    { methods: ['GET', 'HEAD'], path: '/admin/jobs', access: 'viewer', summary: 'Every job, oldest first, by state', handle: listJobs },
    { methods: ['GET', 'HEAD'], path: '/admin/deliveries', access: 'viewer', summary: 'Deliveries by state or job (dead letters: state=failed)', handle: listDeliveries },
    { methods: ['POST'], path: '/admin/deliveries/redeliver', access: 'admin', summary: 'Redeliver every dead letter since a time', handle: redeliverSince },
    { methods: ['GET', 'HEAD'], path: '/admin/deliveries/:id', access: 'viewer', summary: 'One delivery with its attempts', handle: showDelivery },
    { methods: ['POST'], path: '/admin/deliveries/:id/redeliver', access: 'admin', summary: 'Redeliver one delivery now', handle: redeliverOne },
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

function pageLimit(query: URLSearchParams): number {
  const limit = Number(query.get('limit') ?? '50');
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new AsyncgateError('invalid-query', 'limit must be 1 to 500');
  return limit;
}

/** `since` as an ISO date or epoch milliseconds. */
function parseSince(text: string | null): number {
  if (!text) throw new AsyncgateError('invalid-query', 'since is required: an ISO date (2026-11-24T12:00:00Z) or epoch ms');
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) throw new AsyncgateError('invalid-query', `since "${text}" is not a date`);
  return ms;
}

/** A delivery as the admin API shows it: never its secret. */
function deliveryView(d: Delivery): Record<string, unknown> {
  const { secret, leaseToken: _t, ...rest } = d;
  return {
    ...rest,
    signedWithCallbackSecret: secret !== null,
    nextAttemptAt: d.nextAttemptAt === null ? null : new Date(d.nextAttemptAt).toISOString(),
    createdAt: new Date(d.createdAt).toISOString(),
    updatedAt: new Date(d.updatedAt).toISOString(),
  };
}
