/**
 * The operator console's reads, by name: one definition, run either by the reader thread (reader-worker.ts,
 * on its own connection) or in-thread by the store (a database in memory, which no other thread can open).
 */
import type { Delivery, Job } from '../../model.js';
import type { DeliveryFilter, DeliveryListQuery, JobFilter, JobListQuery, StoreGauges, StoreOverview } from '../port.js';
import { rowToDelivery, rowToJob } from '../rows.js';
import type { SqliteAdminQueries } from './admin-queries.js';

export const CONSOLE_READS = {
  listJobs: (a: SqliteAdminQueries, q: JobListQuery): Job[] => a.listJobs(q).map(rowToJob),
  countJobs: (a: SqliteAdminQueries, filter: JobFilter, upTo: number): number => a.countJobs(filter, upTo),
  overview: (a: SqliteAdminQueries, since: number, failingSince: number, settleAt: number): StoreOverview => a.overview(since, failingSince, settleAt),
  gauges: (a: SqliteAdminQueries): StoreGauges => a.gauges(),
  listDeliveries: (a: SqliteAdminQueries, q: DeliveryListQuery): Delivery[] => a.listDeliveries(q).map(rowToDelivery),
  countDeliveries: (a: SqliteAdminQueries, filter: DeliveryFilter, upTo: number): number => a.countDeliveries(filter, upTo),
};

export type ConsoleRead = keyof typeof CONSOLE_READS;
type Reads = typeof CONSOLE_READS;
/** The arguments of a read, after the queries object. */
export type ReadArgs<K extends ConsoleRead> = Parameters<Reads[K]> extends [SqliteAdminQueries, ...infer R] ? R : never;
export type ReadResult<K extends ConsoleRead> = ReturnType<Reads[K]>;

/** Run a read by name (the one place that spreads the arguments, so each caller stays typed). */
export function runRead<K extends ConsoleRead>(a: SqliteAdminQueries, op: K, args: ReadArgs<K>): ReadResult<K> {
  return (CONSOLE_READS[op] as (a: SqliteAdminQueries, ...args: unknown[]) => ReadResult<K>)(a, ...(args as unknown[]));
}

/**
 * A read's answer as it came from the reader thread, made what the in-thread read returns: a structured clone
 * turns a Buffer into a plain Uint8Array, so request bodies are Buffers again (over the same memory).
 */
export function fromThread<K extends ConsoleRead>(op: K, value: ReadResult<K>): ReadResult<K> {
  if (op !== 'listJobs') return value;
  for (const job of value as Job[]) {
    const body = job.request.body;
    if (body && !Buffer.isBuffer(body)) job.request.body = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  }
  return value;
}

/** A request to the reader thread, and its answer. */
export interface ReadRequest {
  id: number;
  op: ConsoleRead;
  args: unknown[];
}
export type ReadReply = { id: number; value: unknown } | { id: number; error: { name: string; message: string; code: string | undefined } };
