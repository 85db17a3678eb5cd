/**
 * The operator console's queries on PostgreSQL, built per call from whichever filters are given (numbered
 * parameters): lists, counts, retries (one statement each, like every other operation of this store) and the
 * overview.
 */
import type { DeliveryFilter, DeliveryListQuery, JobFilter, JobListQuery } from '../port.js';
import { likeSubstring, searchWords } from '../search-text.js';
import { LOG_FINISHED_ATTEMPT } from './history-sql.js';

export interface AdHoc {
  text: string;
  values: unknown[];
}

/** Collects the parameters of one statement: `p(v)` is its `$n`. */
class Params {
  readonly values: unknown[] = [];
  p(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

function jobWhere(f: JobFilter, ps: Params): string {
  const terms: string[] = [];
  if (f.state) terms.push(`state = ${ps.p(f.state)}`);
  if (f.retryableOnly) terms.push(`state IN ('failed', 'canceled')`);
  if (f.method) terms.push(`method = ${ps.p(f.method)}`);
  if (f.owner === null) terms.push('owner IS NULL');
  else if (f.owner !== undefined) terms.push(`owner = ${ps.p(f.owner)}`);
  if (f.dialect) terms.push(`dialect = ${ps.p(f.dialect)}`);
  if (f.group !== undefined) terms.push(`grp = ${ps.p(f.group)}`);
  if (f.pathPrefix) terms.push(`starts_with(url, ${ps.p(f.pathPrefix)})`);
  if (f.since !== undefined) terms.push(`created_at >= ${ps.p(f.since)}`);
  if (f.until !== undefined) terms.push(`created_at < ${ps.p(f.until)}`);
  if (f.errorCode) terms.push(`error::jsonb ->> 'code' = ${ps.p(f.errorCode)}`);
  if (f.search) {
    const q = ps.p(f.search);
    const any = [`id = ${q}`, `idempotency_key = ${q}`, `url ILIKE ${ps.p(likeSubstring(f.search))}`];
    const words = searchWords(f.search);
    if (words.length) {
      any.push(`id IN (SELECT job_id FROM job_search
        WHERE (coalesce(request, ''::tsvector) || coalesce(response, ''::tsvector)) @@ to_tsquery('simple', ${ps.p(words.map((w) => `${w}:*`).join(' & '))}))`);
    }
    terms.push(`(${any.join(' OR ')})`);
  }
  return terms.length ? terms.join(' AND ') : 'true';
}

function deliveryWhere(f: DeliveryFilter, ps: Params): string {
  const terms: string[] = [];
  if (f.state) terms.push(`state = ${ps.p(f.state)}`);
  if (f.jobId) terms.push(`job_id = ${ps.p(f.jobId)}`);
  if (f.host) terms.push(`host = ${ps.p(f.host)}`);
  if (f.status) terms.push(`last_status BETWEEN ${ps.p(f.status.min)} AND ${ps.p(f.status.max)}`);
  if (f.since !== undefined) terms.push(`updated_at >= ${ps.p(f.since)}`);
  if (f.until !== undefined) terms.push(`updated_at < ${ps.p(f.until)}`);
  return terms.length ? terms.join(' AND ') : 'true';
}

export function listJobs(q: JobListQuery): AdHoc {
  const ps = new Params();
  const where = jobWhere(q, ps);
  const after = q.after === undefined ? '' : ` AND id < ${ps.p(q.after)}`;
  // A search orders by an expression no index holds (the same order): the planner then reads the jobs in one
  // pass and keeps the newest, instead of walking the primary key newest first and fetching every row it tests,
  // which is quick when the search matches many jobs but about 3× slower when it matches few or none (300 ms
  // against 120 ms at 100,000 jobs). This bounds every search near one pass over the table.
  const order = q.search ? `(id || '')` : 'id';
  return { text: `SELECT * FROM jobs WHERE ${where}${after} ORDER BY ${order} DESC LIMIT ${ps.p(q.limit)}`, values: ps.values };
}

export function countJobs(f: JobFilter, upTo: number): AdHoc {
  const ps = new Params();
  const where = jobWhere(f, ps);
  return { text: `SELECT count(*)::int AS n FROM (SELECT 1 FROM jobs WHERE ${where} LIMIT ${ps.p(upTo)}) x`, values: ps.values };
}

/** Run again the jobs `pick` selects (a subquery of ids) that are Failed or Canceled: see JobStore.retryJob. */
function retry(pick: string, now: string, ps: Params): AdHoc {
  return {
    text: `WITH r AS (
      UPDATE jobs SET state = 'queued', attempts = 0, lease_owner = NULL, lease_expires_at = NULL, run_at = ${now},
        updated_at = ${now}, finished_at = NULL, expires_at = NULL, version = version + 1, progress = NULL,
        response = NULL, result_token = NULL, error = NULL, options = (options::jsonb - 'upstreamMonitor')::text,
        ${LOG_FINISHED_ATTEMPT}
      WHERE id IN (${pick}) AND state IN ('failed', 'canceled') RETURNING jobs.*),
    chunks AS (DELETE FROM result_chunks WHERE job_id IN (SELECT id FROM r)),
    words AS (UPDATE job_search SET response = NULL WHERE job_id IN (SELECT id FROM r)),
    callbacks AS (UPDATE deliveries SET state = 'waiting', round = 0, next_attempt_at = NULL, lease_owner = NULL,
        lease_expires_at = NULL, updated_at = ${now}
      WHERE job_id IN (SELECT id FROM r) AND state NOT IN ('waiting', 'gone'))
    SELECT * FROM r ORDER BY id DESC`,
    values: ps.values,
  };
}

export function retryOne(id: string, now: number): AdHoc {
  const ps = new Params();
  const pick = ps.p(id);
  return retry(pick, `${ps.p(now)}::bigint`, ps);
}

export function retryMany(f: JobFilter, limit: number, now: number): AdHoc {
  const ps = new Params();
  const pick = `SELECT id FROM jobs WHERE ${jobWhere({ ...f, retryableOnly: true }, ps)} ORDER BY id DESC LIMIT ${ps.p(limit)} FOR UPDATE SKIP LOCKED`;
  return retry(pick, `${ps.p(now)}::bigint`, ps);
}

export function listDeliveries(q: DeliveryListQuery): AdHoc {
  const ps = new Params();
  const where = deliveryWhere(q, ps);
  const cursor = (id: string) =>
    q.afterCreatedAt === undefined ? `(SELECT created_at, id FROM deliveries WHERE id = ${ps.p(id)})` : `(${ps.p(q.afterCreatedAt)}, ${ps.p(id)})`;
  const after = q.after === undefined ? '' : ` AND (created_at, id) < ${cursor(q.after)}`;
  return { text: `SELECT * FROM deliveries WHERE ${where}${after} ORDER BY created_at DESC, id DESC LIMIT ${ps.p(q.limit)}`, values: ps.values };
}

export function countDeliveries(f: DeliveryFilter, upTo: number): AdHoc {
  const ps = new Params();
  const where = deliveryWhere(f, ps);
  return { text: `SELECT count(*)::int AS n FROM (SELECT 1 FROM deliveries WHERE ${where} LIMIT ${ps.p(upTo)}) x`, values: ps.values };
}

/** When the longest-waiting queued job became due: the first entry of jobs_ready (the ungrouped ones), and that
 * of each group with queued jobs in jobs_group_due (migration 10), found by a skip scan: one seek per group. */
const OLDEST_QUEUED = `least(
    (SELECT min(run_at) FROM jobs WHERE state = 'queued' AND grp IS NULL),
    (WITH RECURSIVE gs(grp) AS (
        (SELECT grp FROM jobs WHERE state = 'queued' AND grp IS NOT NULL ORDER BY grp LIMIT 1)
        UNION ALL
        SELECT (SELECT j.grp FROM jobs j WHERE j.state = 'queued' AND j.grp IS NOT NULL AND j.grp > gs.grp ORDER BY j.grp LIMIT 1)
        FROM gs WHERE gs.grp IS NOT NULL)
      SELECT min((SELECT min(j.run_at) FROM jobs j WHERE j.state = 'queued' AND j.grp = gs.grp)) FROM gs WHERE gs.grp IS NOT NULL))`;

/** /metrics' gauges of the shared store: counts from the partial indexes, the first entries of the due ones. */
export const GAUGES = `SELECT
    (SELECT count(*) FROM jobs WHERE state = 'queued')::int AS queued,
    (SELECT count(*) FROM jobs WHERE state = 'running')::int AS running,
    ${OLDEST_QUEUED}::float8 AS "oldestQueuedAt",
    (SELECT count(*) FROM deliveries WHERE state = 'waiting')::int AS waiting,
    (SELECT count(*) FROM deliveries WHERE state = 'pending')::int AS pending,
    (SELECT count(*) FROM deliveries WHERE state = 'delivering')::int AS delivering,
    (SELECT count(*) FROM deliveries WHERE state = 'failed')::int AS failed,
    (SELECT min(next_attempt_at) FROM deliveries WHERE state = 'pending')::float8 AS "oldestPendingDeliveryAt"`;

/** The overview's parts, each one statement (run side by side). perMinute reads jobs_created and jobs_finished
 * (migration 6); the counts by state read jobs_state. */
export const OVERVIEW = {
  jobsByState: `SELECT state, count(*)::int AS n FROM jobs GROUP BY state`,
  perMinute: `SELECT m::float8 AS minute, s AS settled, sum(a)::int AS accepted, sum(f)::int AS finished FROM (
      SELECT (created_at / 60000) * 60000 AS m, created_at < $2 AS s, 1 AS a, 0 AS f FROM jobs WHERE created_at >= $1
      UNION ALL SELECT (finished_at / 60000) * 60000, finished_at < $2, 0, 1 FROM jobs WHERE finished_at >= $1) x
    GROUP BY m, s ORDER BY m, s DESC`,
  // The first entries of jobs_ready and of each group's queue: one index read each, however long the queues.
  oldestQueued: `SELECT ${OLDEST_QUEUED}::float8 AS t`,
  deliveriesByState: `SELECT state, count(*)::int AS n FROM deliveries GROUP BY state`,
  failingHosts: `WITH f AS (
      SELECT host FROM deliveries WHERE state = 'failed' AND updated_at >= $1
      UNION ALL SELECT d.host FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
        WHERE a.at >= $1 AND (a.status IS NULL OR a.status NOT BETWEEN 200 AND 299))
    SELECT host, count(*)::int AS failed,
      (SELECT last_status FROM deliveries x WHERE x.host = f.host ORDER BY updated_at DESC LIMIT 1) AS "lastStatus"
    FROM f GROUP BY host ORDER BY failed DESC, host LIMIT 5`,
} as const;
