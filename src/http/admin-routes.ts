import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import type { Delivery, DeliveryState, JobState } from '../model.js';
import type { JobStore } from '../store/port.js';
import { representation, STATUS_NAMES } from '../resource/representation.js';
import { sendJson } from '../resource/respond.js';
import type { UrlBuilder } from '../resource/urls.js';

const STATES = Object.keys(STATUS_NAMES) as JobState[];
const BY_STATUS = new Map(STATES.map((s) => [STATUS_NAMES[s].toLowerCase(), s] as const));

/**
 * The admin API (SPEC §2.2, §7): every job, whoever submitted it, behind the admin token. Disabled (404)
 * when no token is configured, so an unconfigured gateway exposes nothing.
 */
export class AdminRoutes {
  private readonly token: Buffer | undefined;

  constructor(
    token: string | undefined,
    private readonly store: JobStore,
    private readonly urls: UrlBuilder,
    /** Called when deliveries were made due again, so they go out now. */
    private readonly onRedeliver: () => void = () => {},
  ) {
    this.token = token ? Buffer.from(token) : undefined;
  }

  /** Route `/admin/...` (path relative to the prefix). Returns false when nothing matched. */
  async handle(req: IncomingMessage, res: ServerResponse, rest: string, query: URLSearchParams): Promise<boolean> {
    if (!rest.startsWith('/admin/')) return false;
    if (!this.token) throw new AsyncgateError('not-found', 'the admin API is off: start asyncgate with --admin-token');
    this.authorize(req);
    if (rest.startsWith('/admin/deliveries')) return this.deliveries(req, res, rest.slice('/admin/deliveries'.length), query);
    if (rest !== '/admin/jobs') return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      throw new AsyncgateError('method-not-allowed', 'use GET', { headers: { allow: 'GET, HEAD' } });
    }
    const stateText = query.get('state')?.toLowerCase();
    const state = stateText ? (BY_STATUS.get(stateText) ?? (STATES.includes(stateText as JobState) ? (stateText as JobState) : undefined)) : undefined;
    if (stateText && !state) {
      throw new AsyncgateError('invalid-query', `state must be one of ${Object.values(STATUS_NAMES).join(', ')}`);
    }
    const limit = pageLimit(query);
    const after = query.get('after') ?? undefined;
    const jobs = await this.store.listJobs({ limit, ...(state ? { state } : {}), ...(after ? { after } : {}) });
    const items = jobs.map((job) => representation(job, this.urls.job(req, job.id)));
    const last = jobs.at(-1);
    const next = jobs.length === limit && last ? `?${new URLSearchParams({ ...(stateText ? { state: stateText } : {}), limit: String(limit), after: last.id })}` : undefined;
    sendJson(res, 200, { items, ...(next ? { next } : {}) }, { 'cache-control': 'no-store' }, req.method === 'HEAD');
    return true;
  }

  /** Deliveries by state (dead letters: state=failed), one with its attempts, redelivery one or in bulk. */
  private async deliveries(req: IncomingMessage, res: ServerResponse, rest: string, query: URLSearchParams): Promise<boolean> {
    const method = req.method ?? 'GET';
    if (rest === '' && (method === 'GET' || method === 'HEAD')) {
      const state = query.get('state') ?? undefined;
      if (state && !DELIVERY_STATES.includes(state as DeliveryState)) {
        throw new AsyncgateError('invalid-query', `state must be one of ${DELIVERY_STATES.join(', ')}`);
      }
      const limit = pageLimit(query);
      const list = await this.store.listDeliveries({
        limit,
        ...(state ? { state: state as DeliveryState } : {}),
        ...(query.get('job') ? { jobId: query.get('job')! } : {}),
        ...(query.get('after') ? { after: query.get('after')! } : {}),
      });
      const last = list.at(-1);
      const next = list.length === limit && last ? `?${new URLSearchParams({ ...Object.fromEntries(query), after: last.id })}` : undefined;
      sendJson(res, 200, { items: list.map(view), ...(next ? { next } : {}) }, { 'cache-control': 'no-store' }, method === 'HEAD');
      return true;
    }
    if (rest === '/redeliver' && method === 'POST') {
      const since = parseSince(query.get('since'));
      const n = await this.store.redeliverFailedSince(since, Date.now());
      if (n) this.onRedeliver();
      sendJson(res, 200, { redelivered: n, since: new Date(since).toISOString() }, { 'cache-control': 'no-store' });
      return true;
    }
    const m = /^\/([^/]+)(\/redeliver)?$/.exec(rest);
    if (!m) return false;
    const id = decodeURIComponent(m[1]!);
    if (m[2]) {
      if (method !== 'POST') throw new AsyncgateError('method-not-allowed', 'use POST', { headers: { allow: 'POST' } });
      const d = await this.store.redeliver(id, Date.now());
      if (!d) throw new AsyncgateError('not-found', `no delivery ${id}`);
      this.onRedeliver();
      sendJson(res, 200, view(d), { 'cache-control': 'no-store' });
      return true;
    }
    if (method !== 'GET' && method !== 'HEAD') throw new AsyncgateError('method-not-allowed', 'use GET', { headers: { allow: 'GET, HEAD' } });
    const d = await this.store.getDelivery(id);
    if (!d) throw new AsyncgateError('not-found', `no delivery ${id}`);
    const attempts = (await this.store.attemptsOf(id)).map((a) => ({ ...a, at: new Date(a.at).toISOString() }));
    sendJson(res, 200, { ...view(d), attempts }, { 'cache-control': 'no-store' }, method === 'HEAD');
    return true;
  }

  private authorize(req: IncomingMessage): void {
    const header = req.headers.authorization ?? '';
    const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
    const ok = this.token !== undefined && given.length === this.token.length && timingSafeEqual(given, this.token);
    if (!ok) throw new AsyncgateError('unauthorized', 'send Authorization: Bearer <admin token>', { headers: { 'www-authenticate': 'Bearer realm="asyncgate admin"' } });
  }
}

const DELIVERY_STATES: DeliveryState[] = ['waiting', 'pending', 'delivering', 'delivered', 'failed', 'gone'];

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
function view(d: Delivery): Record<string, unknown> {
  const { secret, leaseToken: _t, ...rest } = d;
  return {
    ...rest,
    signedWithCallbackSecret: secret !== null,
    nextAttemptAt: d.nextAttemptAt === null ? null : new Date(d.nextAttemptAt).toISOString(),
    createdAt: new Date(d.createdAt).toISOString(),
    updatedAt: new Date(d.updatedAt).toISOString(),
  };
}
