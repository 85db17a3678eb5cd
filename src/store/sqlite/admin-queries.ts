/**
 * The operator console's queries on SQLite: lists and counts narrowed by any mix of filters (so their SQL is
 * built per call, and prepared once per shape), retries, and the overview. Run inside the store's reads and
 * writes (sqlite-store.ts), never on their own.
 */
import type Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import { JOB_STATES } from '../../model.js';
import type { DeliveryFilter, DeliveryListQuery, JobFilter, JobListQuery, StoreGauges, StoreOverview } from '../port.js';
import type { DeliveryRow, JobRow } from '../rows.js';
import { likeSubstring, searchWords } from '../search-text.js';
import { LOG_FINISHED_ATTEMPT } from './history-sql.js';
import { COUNT_QUEUED, OLDEST_QUEUED } from './queued-sql.js';

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
  if (f.owner === null) t.add('owner IS NULL');
  else if (f.owner !== undefined) t.add('owner = @owner', { owner: f.owner });
  if (f.dialect) t.add('dialect = @dialect', { dialect: f.dialect });
  if (f.group !== undefined) t.add('grp = @grp', { grp: f.group });
  if (f.pathPrefix) t.add('substr(url, 1, length(@path)) = @path', { path: f.pathPrefix });
  if (f.since !== undefined) t.add('created_at >= @since', { since: f.since });
  if (f.until !== undefined) t.add('created_at < @until', { until: f.until });
  if (f.errorCode) t.add(`json_extract(error, '$.code') = @code`, { code: f.errorCode });
  if (f.search) {
    const any = ['id = @q', 'idempotency_key = @q', `url LIKE @qlike ESCAPE '\\'`];
    const params: Params = { q: f.search, qlike: likeSubstring(f.search) };
    const words = searchWords(f.search);
    // Each word in the request's text or the response's (two rows of job_text): one lookup per word, joined on
    // the job's id (never on the jobs table's rowid, which a VACUUM may renumber).
    if (words.length) {
      any.push(`(${words.map((_, i) => `id IN (SELECT job_id FROM job_text WHERE job_text MATCH @w${i})`).join(' AND ')})`);
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

/** The states a job ends in, as an SQL list. */
const FINISHED_STATES = JOB_STATES.filter((s) => s !== 'queued' && s !== 'running').map((s) => `'${s}'`).join(', ');

const RETRY = `UPDATE jobs SET state = 'queued', attempts = 0, lease_owner = NULL, lease_expires_at = NULL, run_at = @now,
    updated_at = @now, finished_at = NULL, expires_at = NULL, version = version + 1, progress = NULL, response = NULL,
    result_token = NULL, error = NULL, res_text_rowid = NULL, options = json_remove(options, '$.upstreamMonitor'),
    ${LOG_FINISHED_ATTEMPT}
  WHERE id = @id AND state IN ('failed', 'canceled') RETURNING *`;

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
    const old = this.prepare(`SELECT res_text_rowid FROM jobs WHERE id = ?`).pluck().get(id) as number | null | undefined;
    const row = this.prepare(RETRY).get({ id, now }) as JobRow | undefined;
    if (!row) return undefined;
    this.prepare('DELETE FROM result_chunks WHERE job_id = ?').run(id);
    if (old != null) this.prepare('DELETE FROM job_text WHERE rowid = ?').run(old);
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
    const cursor = q.afterCreatedAt === undefined ? '(SELECT created_at, id FROM deliveries WHERE id = @after)' : '(@afterCreatedAt, @after)';
    const after = q.after === undefined ? '' : ` AND (created_at, id) < ${cursor}`;
    const params = {
      ...w.params,
      limit: q.limit,
      ...(q.after === undefined ? {} : { after: q.after }),
      ...(q.after === undefined || q.afterCreatedAt === undefined ? {} : { afterCreatedAt: q.afterCreatedAt }),
    };
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

  gauges(): StoreGauges {
    const n = (sql: string) => (this.prepare(sql).get() as { n: number | null }).n;
    const deliveries = { waiting: 0, pending: 0, delivering: 0, failed: 0 };
    for (const r of this.prepare(`SELECT state, count(*) AS n FROM deliveries WHERE state IN ('waiting', 'pending', 'delivering', 'failed') GROUP BY state`).all() as Array<{ state: keyof typeof deliveries; n: number }>) {
      deliveries[r.state] = r.n;
    }
    return {
      // Each from its partial indexes (jobs_ready and jobs_group_due: queued-sql.ts, jobs_leases; deliveries_host_due).
      jobs: { queued: n(COUNT_QUEUED) ?? 0, running: n(`SELECT count(*) AS n FROM jobs WHERE state = 'running'`) ?? 0 },
      oldestQueuedAt: (this.prepare(OLDEST_QUEUED).get() as { t: number | null }).t,
      deliveries,
      oldestPendingDeliveryAt: n(`SELECT min(next_attempt_at) AS n FROM deliveries WHERE state = 'pending'`),
    };
  }

  overview(since: number, failingSince: number, settleAt: number): StoreOverview {
    const counts = (sql: string) =>
      (this.prepare(sql).all() as Array<{ state: string; n: number }>).filter((r) => r.n > 0).map((r) => [r.state, r.n] as const);
    // Queued and running jobs from their partial indexes, finished ones from jobs_finished (migration 8): an
    // index-only read, never the table.
    const jobsByState = Object.fromEntries([
      ...counts(`SELECT 'queued' AS state, n FROM (${COUNT_QUEUED})`),
      ...counts(`SELECT 'running' AS state, count(*) AS n FROM jobs WHERE state = 'running'`),
      ...counts(`SELECT state, count(*) AS n FROM jobs INDEXED BY jobs_finished WHERE finished_at IS NOT NULL GROUP BY state`),
    ]) as StoreOverview['jobsByState'];
    // Range scans of the last hour: jobs_created, and jobs_finished once per finished state. Two queries merged
    // here: one UNION ALL grouped together cost 2.5 times as much (a temporary b-tree over both).
    const minutes = new Map<string, StoreOverview['perMinute'][number]>();
    const tally = (sql: string, key: 'accepted' | 'finished') => {
      for (const r of this.prepare(sql).all({ since, settleAt }) as Array<{ m: number; s: number; n: number }>) {
        const at = `${r.m}:${r.s}`;
        const m = minutes.get(at) ?? { minute: r.m, settled: r.s === 1, accepted: 0, finished: 0 };
        m[key] = r.n;
        minutes.set(at, m);
      }
    };
    tally(`SELECT (created_at / 60000) * 60000 AS m, created_at < @settleAt AS s, count(*) AS n FROM jobs INDEXED BY jobs_created
      WHERE created_at >= @since GROUP BY m, s`, 'accepted');
    tally(`SELECT (finished_at / 60000) * 60000 AS m, finished_at < @settleAt AS s, count(*) AS n FROM jobs INDEXED BY jobs_finished
      WHERE state IN (${FINISHED_STATES}) AND finished_at >= @since GROUP BY m, s`, 'finished');
    const perMinute = [...minutes.values()].sort((a, b) => a.minute - b.minute || Number(b.settled) - Number(a.settled));
    // The first entry of jobs_ready and of each group's queue: one index read each, however long the queues.
    const oldest = this.prepare(OLDEST_QUEUED).get() as { t: number | null };
    const failingHosts = this.prepare(`WITH f AS (
        SELECT host FROM deliveries WHERE state = 'failed' AND updated_at >= @since
        UNION ALL SELECT d.host FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
          WHERE a.at >= @since AND (a.status IS NULL OR a.status NOT BETWEEN 200 AND 299))
      SELECT host, count(*) AS failed,
        (SELECT last_status FROM deliveries x WHERE x.host = f.host ORDER BY updated_at DESC LIMIT 1) AS lastStatus
      FROM f GROUP BY host ORDER BY failed DESC, host LIMIT 5`).all({ since: failingSince }) as StoreOverview['failingHosts'];
    return {
      jobsByState,
      perMinute,
      oldestQueuedAt: oldest.t,
      deliveriesByState: Object.fromEntries(counts(`SELECT state, count(*) AS n FROM deliveries GROUP BY state`)),
      failingHosts,
    };
  }
}
