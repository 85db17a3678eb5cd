/**
 * The operator's questions asked of every shard at once, and the answers merged as one store would give
 * them: lists newest first, counts summed, the overview and gauges added up.
 */
import type { Delivery, Job } from '../../model.js';
import type { DeliveryFilter, DeliveryListQuery, JobFilter, JobListQuery, StoreGauges, StoreOverview } from '../port.js';
import type { SqliteJobStore } from '../sqlite/sqlite-store.js';

const sum = (ns: number[]) => ns.reduce((a, b) => a + b, 0);

export async function listJobs(shards: SqliteJobStore[], query: JobListQuery): Promise<Job[]> {
  return mergeOrdered(await Promise.all(shards.map((s) => s.listJobs(query))), query.limit, newerJob);
}

export async function countJobs(shards: SqliteJobStore[], filter: JobFilter, upTo: number): Promise<number> {
  return Math.min(upTo, sum(await Promise.all(shards.map((s) => s.countJobs(filter, upTo)))));
}

/** With `after`, the query carries its delivery's createdAt (each shard pages after that point). */
export async function listDeliveries(shards: SqliteJobStore[], query: DeliveryListQuery): Promise<Delivery[]> {
  return mergeOrdered(await Promise.all(shards.map((s) => s.listDeliveries(query))), query.limit, newerDelivery);
}

export async function countDeliveries(shards: SqliteJobStore[], filter: DeliveryFilter, upTo: number): Promise<number> {
  return Math.min(upTo, sum(await Promise.all(shards.map((s) => s.countDeliveries(filter, upTo)))));
}

export async function overview(shards: SqliteJobStore[], since: number, failingSince: number, settleAt: number): Promise<StoreOverview> {
  return mergeOverviews(await Promise.all(shards.map((s) => s.overview(since, failingSince, settleAt))));
}

export async function gauges(shards: SqliteJobStore[]): Promise<StoreGauges> {
  return mergeGauges(await Promise.all(shards.map((s) => s.gauges())));
}

/** The first `limit` of several lists each already in order, in that order. */
export function mergeOrdered<T>(lists: T[][], limit: number, before: (a: T, b: T) => boolean): T[] {
  const out: T[] = [];
  const at = lists.map(() => 0);
  while (out.length < limit) {
    let best = -1;
    for (let i = 0; i < lists.length; i++) {
      const item = lists[i]![at[i]!];
      if (item !== undefined && (best === -1 || before(item, lists[best]![at[best]!]!))) best = i;
    }
    if (best === -1) break;
    out.push(lists[best]![at[best]!++]!);
  }
  return out;
}

/** Jobs newest first: by id, which is time-ordered (the shard's stamp is its last character). */
export const newerJob = (a: Job, b: Job): boolean => a.id > b.id;

/** Deliveries newest first: by createdAt, then id, as each shard orders them. */
export const newerDelivery = (a: Delivery, b: Delivery): boolean =>
  a.createdAt !== b.createdAt ? a.createdAt > b.createdAt : a.id > b.id;

function addCounts<K extends string>(into: Partial<Record<K, number>>, from: Partial<Record<K, number>>): void {
  for (const [k, n] of Object.entries(from) as Array<[K, number]>) into[k] = (into[k] ?? 0) + n;
}

const earliest = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.min(a, b));

export function mergeOverviews(parts: StoreOverview[]): StoreOverview {
  const out: StoreOverview = { jobsByState: {}, perMinute: [], oldestQueuedAt: null, deliveriesByState: {}, failingHosts: [] };
  const minutes = new Map<string, StoreOverview['perMinute'][number]>();
  const hosts = new Map<string, StoreOverview['failingHosts'][number]>();
  for (const p of parts) {
    addCounts(out.jobsByState, p.jobsByState);
    addCounts(out.deliveriesByState, p.deliveriesByState);
    out.oldestQueuedAt = earliest(out.oldestQueuedAt, p.oldestQueuedAt);
    for (const m of p.perMinute) {
      const key = `${m.minute} ${m.settled}`;
      const seen = minutes.get(key);
      if (seen) {
        seen.accepted += m.accepted;
        seen.finished += m.finished;
      } else minutes.set(key, { ...m });
    }
    for (const h of p.failingHosts) {
      const seen = hosts.get(h.host);
      if (seen) {
        seen.failed += h.failed;
        seen.lastStatus ??= h.lastStatus;
      } else hosts.set(h.host, { ...h });
    }
  }
  out.perMinute = [...minutes.values()].sort((a, b) => a.minute - b.minute || Number(b.settled) - Number(a.settled));
  out.failingHosts = [...hosts.values()].sort((a, b) => b.failed - a.failed);
  return out;
}

export function mergeGauges(parts: StoreGauges[]): StoreGauges {
  const out: StoreGauges = {
    jobs: { queued: 0, running: 0 },
    oldestQueuedAt: null,
    deliveries: { waiting: 0, pending: 0, delivering: 0, failed: 0 },
    oldestPendingDeliveryAt: null,
  };
  for (const p of parts) {
    out.jobs.queued += p.jobs.queued;
    out.jobs.running += p.jobs.running;
    out.oldestQueuedAt = earliest(out.oldestQueuedAt, p.oldestQueuedAt);
    for (const k of Object.keys(out.deliveries) as Array<keyof StoreGauges['deliveries']>) out.deliveries[k] += p.deliveries[k];
    out.oldestPendingDeliveryAt = earliest(out.oldestPendingDeliveryAt, p.oldestPendingDeliveryAt);
  }
  return out;
}
