/**
 * The operator console's queries on SQLite: lists and counts narrowed by any mix of filters (so their SQL is
 * built per call, and prepared once per shape), retries, and the overview. Run inside the store's reads and
 * writes (sqlite-store.ts), never on their own.
 */
import type Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import { JOB_STATES, type JobState } from '../../model.js';
import type { DeliveryFilter, DeliveryListQuery, JobFilter, JobListQuery, StoreOverview } from '../port.js';
import type { DeliveryRow, JobRow } from '../rows.js';
import { likeSubstring, searchWords } from '../search-text.js';

type Params = Record<string, string | number | null>;
interface Where {
  sql: string;
  params: Params;
}

/** Terms joined by AND, with their named parameters. */
class Terms {
  private readonly terms: string[] = [];
  readonly params: Params = {};
  add(sql: string, params: Params = {}): void {
    this.terms.push(sql);
    Object.assign(this.params, params);
  }
  where(): Where {
    return { sql: this.terms.length ? this.terms.join(' AND ') : '1', params: this.params };
  }
}

function stateLiteral(state: string): string {
  if (!(JOB_STATES as readonly string[]).includes(state)) throw new Error(`not a job state: ${state}`);
  return state;
}

/** The jobs a filter names, as a WHERE clause (`1` when it names every job). */
export function jobWhere(f: JobFilter): Where {
  const t = new Terms();
  // A literal (a state is one of JOB_STATES): the partial indexes on queued and running jobs then apply.
  if (f.state) t.add(`state = '${stateLiteral(f.state)}'`);
  if (f.retryableOnly) t.add(`state IN ('failed', 'canceled')`);
  if (f.method) t.add('method = @method', { method: f.method });
  if (f.pathPrefix) t.add('substr(url, 1, length(@path)) = @path', { path: f.pathPrefix });
  if (f.since !== undefined) t.add('created_at >= @since', { since: f.since });
  if (f.until !== undefined) t.add('created_at < @until', { until: f.until });
  if (f.errorCode) t.add(`json_extract(error, '$.code') = @code`, { code: f.errorCode });
  if (f.search) {
    const any = ['id = @q', 'idempotency_key = @q', `url LIKE @qlike ESCAPE '\\'`];
    const params: Params = { q: f.search, qlike: likeSubstring(f.search) };
    const words = searchWords(f.search);
    // Each word in the request's text or the response's (two rows of job_text): one lookup per word.
    if (words.length) {
      any.push(`(${words.map((_, i) => `rowid IN (SELECT rowid >> 1 FROM job_text WHERE job_text MATCH @w${i})`).join(' AND ')})`);
      words.forEach((w, i) => (params[`w${i}`] = `"${w}"*`));
    }
    t.add(`(${any.join(' OR ')})`, params);
  }
  return t.where();
}

export function deliveryWhere(f: DeliveryFilter): Where {
  const t = new Terms();
  if (f.state) t.add('state = @state', { state: f.state });
  if (f.jobId) t.add('job_id = @job', { job: f.jobId });
  if (f.host) t.add('host = @host', { host: f.host });
  if (f.status) t.add('last_status BETWEEN @smin AND @smax', { smin: f.status.min, smax: f.status.max });
  if (f.since !== undefined) t.add('updated_at >= @since', { since: f.since });
  if (f.until !== undefined) t.add('updated_at < @until', { until: f.until });
  return t.where();
}

const RETRY = `UPDATE jobs SET state = 'queued', attempts = 0, lease_owner = NULL, lease_expires_at = NULL, run_at = @now,
    updated_at = @now, finished_at = NULL, expires_at = NULL, version = version + 1, progress = NULL, response = NULL,
    result_token = NULL, error = NULL
  WHERE id = @id AND state IN ('failed', 'canceled') RETURNING rowid AS job_rowid, *`;

export class SqliteAdminQueries {
  private readonly statements = new Map<string, Statement>();

  constructor(private readonly db: Database.Database) {}

  private prepare(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  listJobs(q: JobListQuery): JobRow[] {
    const w = jobWhere(q);
    const after = q.after === undefined ? '' : ' AND id < @after';
    const params = { ...w.params, limit: q.limit, ...(q.after === undefined ? {} : { after: q.after }) };
    return this.prepare(`SELECT * FROM jobs WHERE ${w.sql}${after} ORDER BY id DESC LIMIT @limit`).all(params) as JobRow[];
  }

  countJobs(f: JobFilter, upTo: number): number {
    const w = jobWhere(f);
    return (this.prepare(`SELECT count(*) AS n FROM (SELECT 1 FROM jobs WHERE ${w.sql} LIMIT @upTo)`).get({ ...w.params, upTo }) as { n: number }).n;
  }

  /** Inside a write: run a Failed or Canceled job again (see JobStore.retryJob). */
  retry(id: string, now: number): JobRow | undefined {
    const row = this.prepare(RETRY).get({ id, now }) as (JobRow & { job_rowid: number }) | undefined;
    if (!row) return undefined;
    this.prepare('DELETE FROM result_chunks WHERE job_id = ?').run(id);
    this.prepare('DELETE FROM job_text WHERE rowid = ?').run(row.job_rowid * 2 + 1);
    // Its callbacks go out again when it finishes again; a receiver that answered 410 is left alone.
    this.prepare(`UPDATE deliveries INDEXED BY deliveries_job SET state = 'waiting', round = 0, next_attempt_at = NULL,
        lease_owner = NULL, lease_expires_at = NULL, updated_at = @now WHERE job_id = @id AND state NOT IN ('waiting', 'gone')`).run({ id, now });
    return row;
  }

  /** Inside a write: `retry` the newest `limit` retryable jobs the filter names. */
  retryMany(f: JobFilter, limit: number, now: number): JobRow[] {
    const w = jobWhere({ ...f, retryableOnly: true });
    const ids = this.prepare(`SELECT id FROM jobs WHERE ${w.sql} ORDER BY id DESC LIMIT @limit`).pluck().all({ ...w.params, limit }) as string[];
    return ids.flatMap((id) => this.retry(id, now) ?? []);
  }

  listDeliveries(q: DeliveryListQuery): DeliveryRow[] {
    const w = deliveryWhere(q);
    const after = q.after === undefined ? '' : ' AND (created_at, id) < (SELECT created_at, id FROM deliveries WHERE id = @after)';
    const params = { ...w.params, limit: q.limit, ...(q.after === undefined ? {} : { after: q.after }) };
    return this.prepare(`SELECT * FROM deliveries WHERE ${w.sql}${after} ORDER BY created_at DESC, id DESC LIMIT @limit`).all(params) as DeliveryRow[];
  }

  countDeliveries(f: DeliveryFilter, upTo: number): number {
    const w = deliveryWhere(f);
    return (this.prepare(`SELECT count(*) AS n FROM (SELECT 1 FROM deliveries WHERE ${w.sql} LIMIT @upTo)`).get({ ...w.params, upTo }) as { n: number }).n;
  }

  /** Inside a write: dead letters since `since` due again now, the oldest first, at most `limit`. */
  redeliverFailed(since: number, now: number, host: string | undefined, limit: number | undefined): number {
    return this.prepare(`UPDATE deliveries SET state = 'pending', round = 0, next_attempt_at = @now, updated_at = @now
      WHERE rowid IN (SELECT rowid FROM deliveries WHERE state = 'failed' AND updated_at >= @since
        AND (@host IS NULL OR host = @host) ORDER BY updated_at LIMIT @limit)`).run({ since, now, host: host ?? null, limit: limit ?? -1 }).changes;
  }

  overview(since: number, failingSince: number): StoreOverview {
    const byState = <S extends string>(table: string) =>
      Object.fromEntries((this.prepare(`SELECT state, count(*) AS n FROM ${table} GROUP BY state`).all() as Array<{ state: S; n: number }>).map((r) => [r.state, r.n]));
    const perMinute = this.prepare(`SELECT m AS minute, sum(a) AS accepted, sum(f) AS finished FROM (
        SELECT (created_at / 60000) * 60000 AS m, 1 AS a, 0 AS f FROM jobs WHERE created_at >= @since
        UNION ALL SELECT (finished_at / 60000) * 60000, 0, 1 FROM jobs WHERE finished_at >= @since)
      GROUP BY m ORDER BY m`).all({ since }) as StoreOverview['perMinute'];
    const oldest = this.prepare(`SELECT min(created_at) AS t FROM jobs WHERE state = 'queued'`).get() as { t: number | null };
    const failingHosts = this.prepare(`WITH f AS (
        SELECT host FROM deliveries WHERE state = 'failed' AND updated_at >= @since
        UNION ALL SELECT d.host FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
          WHERE a.at >= @since AND (a.status IS NULL OR a.status NOT BETWEEN 200 AND 299))
      SELECT host, count(*) AS failed,
        (SELECT last_status FROM deliveries x WHERE x.host = f.host ORDER BY updated_at DESC LIMIT 1) AS lastStatus
      FROM f GROUP BY host ORDER BY failed DESC, host LIMIT 5`).all({ since: failingSince }) as StoreOverview['failingHosts'];
    return {
      jobsByState: byState<JobState>('jobs'),
      perMinute,
      oldestQueuedAt: oldest.t,
      deliveriesByState: byState('deliveries'),
      failingHosts,
    };
  }
}
