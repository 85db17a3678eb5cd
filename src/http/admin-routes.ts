import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import type { JobState } from '../model.js';
import type { JobStore } from '../store/port.js';
import { representation, STATUS_NAMES } from './representation.js';
import { sendJson } from './respond.js';
import type { UrlBuilder } from './urls.js';

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
  ) {
    this.token = token ? Buffer.from(token) : undefined;
  }

  /** Route `/admin/...` (path relative to the prefix). Returns false when nothing matched. */
  async handle(req: IncomingMessage, res: ServerResponse, rest: string, query: URLSearchParams): Promise<boolean> {
    if (!rest.startsWith('/admin/')) return false;
    if (!this.token) throw new AsyncgateError('not-found', 'the admin API is off: start asyncgate with --admin-token');
    this.authorize(req);
    if (rest !== '/admin/jobs') return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      throw new AsyncgateError('method-not-allowed', 'use GET', { headers: { allow: 'GET, HEAD' } });
    }
    const stateText = query.get('state')?.toLowerCase();
    const state = stateText ? (BY_STATUS.get(stateText) ?? (STATES.includes(stateText as JobState) ? (stateText as JobState) : undefined)) : undefined;
    if (stateText && !state) {
      throw new AsyncgateError('invalid-query', `state must be one of ${Object.values(STATUS_NAMES).join(', ')}`);
    }
    const limitText = query.get('limit') ?? '50';
    const limit = Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new AsyncgateError('invalid-query', 'limit must be 1 to 500');
    const after = query.get('after') ?? undefined;
    const jobs = await this.store.listJobs({ limit, ...(state ? { state } : {}), ...(after ? { after } : {}) });
    const items = jobs.map((job) => representation(job, this.urls.job(req, job.id)));
    const last = jobs.at(-1);
    const next = jobs.length === limit && last ? `?${new URLSearchParams({ ...(stateText ? { state: stateText } : {}), limit: String(limit), after: last.id })}` : undefined;
    sendJson(res, 200, { items, ...(next ? { next } : {}) }, { 'cache-control': 'no-store' }, req.method === 'HEAD');
    return true;
  }

  private authorize(req: IncomingMessage): void {
    const header = req.headers.authorization ?? '';
    const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
    const ok = this.token !== undefined && given.length === this.token.length && timingSafeEqual(given, this.token);
    if (!ok) throw new AsyncgateError('unauthorized', 'send Authorization: Bearer <admin token>', { headers: { 'www-authenticate': 'Bearer realm="asyncgate admin"' } });
  }
}
