import type { Job, JobState } from '../model.js';
import type { JobStore } from '../store/port.js';
import { invalidMessage } from './answer.js';

/**
 * The filters QStash's bulk calls and lists take (`messageIds`, `url`, `label`…, as query parameters): each narrows,
 * several values of one name match any of them.
 */
export interface MessageFilter {
  ids?: Set<string>;
  urls?: Set<string>;
  labels?: Set<string>;
  urlGroups?: Set<string>;
  queues?: Set<string>;
  schedules?: Set<string>;
  callerIps?: Set<string>;
  responseStatus?: number;
  fromDate?: number;
  toDate?: number;
}

const MAX_COUNT = 1000;

/** A filter from a query string: the SDK's names (`dlqIds` and `messageIds` both name ids; `topicName` a URL group). */
export function filterOf(query: URLSearchParams): MessageFilter {
  const set = (...names: string[]) => {
    const values = names.flatMap((n) => query.getAll(n)).filter((v) => v !== '');
    return values.length ? new Set(values) : undefined;
  };
  const int = (name: string) => {
    const v = query.get(name);
    if (v === null || v === '') return undefined;
    if (!/^\d{1,15}$/.test(v)) throw invalidMessage(`${name}: must be a whole number, got ${JSON.stringify(v.slice(0, 20))}`);
    return Number(v);
  };
  const f: MessageFilter = {};
  const assign = <K extends keyof MessageFilter>(k: K, v: MessageFilter[K]) => {
    if (v !== undefined) f[k] = v;
  };
  assign('ids', set('messageIds', 'dlqIds', 'messageId', 'dlqId'));
  assign('urls', set('url'));
  assign('labels', set('label'));
  assign('urlGroups', set('topicName', 'urlGroup'));
  assign('queues', set('queueName'));
  assign('schedules', set('scheduleId'));
  assign('callerIps', set('callerIp', 'callerIP'));
  assign('responseStatus', int('responseStatus'));
  assign('fromDate', int('fromDate'));
  assign('toDate', int('toDate'));
  return f;
}

/** How many a list or bulk call takes (`count`, 1 … 1000; `fallback` when absent). */
export function countOf(query: URLSearchParams, fallback: number): number {
  const v = query.get('count');
  if (v === null || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw invalidMessage(`count: must be a whole number from 1, got ${JSON.stringify(v.slice(0, 20))}`);
  return Math.min(n, MAX_COUNT);
}

export function matches(job: Job, f: MessageFilter): boolean {
  const m = job.options.message;
  if (f.ids && !f.ids.has(job.id)) return false;
  if (f.urls && !f.urls.has(m?.destination ?? job.request.url)) return false;
  if (f.labels && !m?.labels?.some((l) => f.labels!.has(l))) return false;
  if (f.urlGroups && !(m?.urlGroup && f.urlGroups.has(m.urlGroup))) return false;
  if (f.queues && !(m?.queue && f.queues.has(m.queue))) return false;
  if (f.schedules && !(m?.scheduleId && f.schedules.has(m.scheduleId))) return false;
  if (f.callerIps && !(m?.callerIp && f.callerIps.has(m.callerIp))) return false;
  if (f.responseStatus !== undefined && job.response?.status !== f.responseStatus) return false;
  if (f.fromDate !== undefined && job.createdAt < f.fromDate) return false;
  if (f.toDate !== undefined && job.createdAt > f.toDate) return false;
  return true;
}

/** A page of the owner's messages in `states` that match, newest first, and the cursor of the next page (the
 * last id looked at) when there may be more. */
export interface Page {
  jobs: Job[];
  cursor?: string;
}

const BATCH = 500;
/** Jobs looked at per call at most: a filter that matches little answers a cursor instead of scanning everything. */
const MAX_SCANNED = 20_000;

/** The owner's QStash messages in one of `states` that match `filter`: up to `count`, after `cursor`. */
export async function scanMessages(
  store: JobStore,
  owner: string | null,
  states: readonly JobState[],
  filter: MessageFilter,
  count: number,
  cursor?: string,
): Promise<Page> {
  // By id when ids are named: no scan at all.
  if (filter.ids) {
    const found = await Promise.all([...filter.ids].slice(0, MAX_COUNT).map((id) => store.getJob(id)));
    const jobs = found.filter((j): j is Job => j !== null && j.owner === owner && j.dialect === 'qstash' && states.includes(j.state) && matches(j, filter));
    return { jobs: jobs.slice(0, count) };
  }
  const out: Job[] = [];
  let scanned = 0;
  let after = cursor;
  let more = true;
  while (out.length < count && scanned < MAX_SCANNED) {
    // One list per state (the store's index is by state), merged by id, newest first. A list that came back
    // full may hold more below its last id: only ids down to the highest such floor are certain to be in order.
    const lists = await Promise.all(states.map((state) => store.listJobs({ owner, dialect: 'qstash', state, limit: BATCH, ...(after ? { after } : {}) })));
    let floor = '';
    for (const l of lists) if (l.length === BATCH && l[l.length - 1]!.id > floor) floor = l[l.length - 1]!.id;
    const pool = lists
      .flat()
      .filter((j) => j.id >= floor)
      .sort((a, b) => (a.id < b.id ? 1 : -1));
    for (const job of pool) {
      scanned++;
      after = job.id;
      if (matches(job, filter)) out.push(job);
      if (out.length >= count) break;
    }
    if (out.length < count && floor === '') more = false;
    if (pool.length === 0) more = false;
    if (!more) break;
  }
  return more && after ? { jobs: out, cursor: after } : { jobs: out };
}
