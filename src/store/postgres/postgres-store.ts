import pg from 'pg';
import type { CallbackSpec, Delivery, DeliveryAttempt, Job, JobError, JobHistory, JobProgress, NewJob, UpstreamMonitor } from '../../model.js';
import type {
  CompletedJob,
  Completion,
  JobLease,
  DeliveryListQuery,
  DeliveryNext,
  InsertOutcome,
  DeliveryFilter,
  JobFilter,
  JobListQuery,
  JobStore,
  RescueOutcome,
  RequeueReason,
  RetryOutcome,
  StoreChange,
  MigrationOutcome,
  StoreGauges,
  CommitObserver,
  StoreOverview,
} from '../port.js';
import { callbackColumns, rowToAttempt, rowToDelivery, rowToJob, type AttemptRow, type DeliveryRow, type JobRow } from '../rows.js';
import { ORPHAN_AFTER_MS, pages, PAGE, sliceOfPieces, type ByteSpan, type Piece, type PieceSize } from '../chunked-read.js';
import { historyFromRow, type HistoryRow } from '../history.js';
import * as admin from './admin-queries.js';
import { ConsolePool } from './console-pool.js';
import { GroupedWrites, type RunStatement } from './grouped-writes.js';
import * as meta from './meta.js';
import { PgPushSubscriptions } from './push-subscriptions.js';
import { PgGroupStore } from './job-groups.js';
import { PgMessaging } from './messaging.js';
import { ownBackends } from './own-backends.js';
import { StorageFullError } from '../errors.js';
import { clientConfig, isTransient, retryTransient, storeLabel, type PgTarget } from './connect.js';
import { PgListener } from './listener.js';
import { appliedMigration, migratePostgres } from './migrate.js';
import { SQL, type StatementName } from './sql.js';


export interface PostgresStoreEvents {
  /** The connection to PostgreSQL was lost or is back (for logs). */
  onConnectionState?: (state: 'connected' | 'lost', error?: unknown) => void;
}

/**
 * The scale-out backend: any number of asyncgate processes share one PostgreSQL. Every operation is one
 * statement (its own transaction, one round trip); claims use `FOR UPDATE SKIP LOCKED`; triggers notify the
 * other processes inside the writing transaction, and a dedicated connection LISTENs for them.
 *
 * Statements are retried on a fresh connection when the connection was lost (`pg_terminate_backend`, a
 * restart): each is safe to repeat — inserts are `ON CONFLICT DO NOTHING`, writes are fenced by lease tokens.
 */
export class PostgresJobStore extends PgGroupStore implements JobStore {
  readonly pool: pg.Pool;
  /** The console's reads, apart from the gateway's own statements (console-pool.ts). */
  private readonly console: ConsolePool;
  readonly schema: string;
  private readonly listener: PgListener;
  private readonly ownPids: Set<number>;
  private readonly subscribers = new Set<(change: StoreChange) => void>();
  private closed = false;
  private readonly runner: RunStatement = (name, values) => this.run(name, values);
  private readonly writes = new GroupedWrites(this.runner);
  readonly pushSubscriptions = new PgPushSubscriptions(this.runner);
  readonly messaging = new PgMessaging(this.runner);
  migration: MigrationOutcome = { from: 0, to: 0 };

  private constructor(
    private readonly target: PgTarget,
    private readonly hooks: PostgresStoreEvents,
  ) {
    super();
    this.schema = target.schema;
    const config = clientConfig(target);
    this.pool = new pg.Pool({ ...config, max: target.poolSize, idleTimeoutMillis: 30_000 });
    this.console = new ConsolePool(config, () => this.closed);
    // An idle connection that dies (server restart, pg_terminate_backend) must not take the process down.
    this.pool.on('error', (error) => hooks.onConnectionState?.('lost', error));
    // Our own backends' notifications are known here already.
    this.ownPids = ownBackends(this.pool);
    this.listener = new PgListener({
      config,
      channel: `asyncgate.${target.schema}`,
      isOwnBackend: (pid) => this.ownPids.has(pid),
      onChange: (change) => {
        for (const fn of this.subscribers) fn(change);
      },
      onState: (state, error) => hooks.onConnectionState?.(state, error),
    });
  }

  /** Connect, apply pending migrations, and start listening. Throws if PostgreSQL cannot be reached. */
  static async open(target: PgTarget, hooks: PostgresStoreEvents = {}): Promise<PostgresJobStore> {
    const store = new PostgresJobStore(target, hooks);
    try {
      store.migration = await store.migrate();
      await store.listener.start();
      return store;
    } catch (error) {
      await store.close();
      throw error;
    }
  }

  /** Apply pending migrations (also what `asyncgate migrate` runs). */
  async migrate(): Promise<MigrationOutcome> {
    const client = await this.pool.connect();
    try {
      return await migratePostgres(client, this.schema);
    } finally {
      client.release();
    }
  }

  listen(fn: (change: StoreChange) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  /** Run a named statement; on a lost connection, again on a new one (with backoff, a few times). */
  private query<R extends pg.QueryResultRow>(name: StatementName, values: unknown[]): Promise<pg.QueryResult<R>> {
    return this.execute<R>({ name, text: SQL[name], values });
  }

  /** A statement built for one call (the console's filtered lists): not prepared, retried the same way. */
  private async adHoc<R extends pg.QueryResultRow>(statement: admin.AdHoc): Promise<R[]> {
    return (await this.execute<R>(statement)).rows;
  }

  protected execute<R extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>> {
    return retryTransient(() => this.closed, () => this.pool.query<R>(config));
  }

  /** A lost or refused connection (the server down, restarting, failing over) or no disk space: passes with time. */
  isTransient(error: unknown): boolean {
    return error instanceof StorageFullError || isTransient(error);
  }

  private async run<R extends pg.QueryResultRow>(name: StatementName, values: unknown[]): Promise<R[]> {
    return (await this.query<R>(name, values)).rows;
  }

  insertJob(job: NewJob, lease?: JobLease): Promise<InsertOutcome> {
    return this.writes.insert(job, lease);
  }

  async getJob(id: string): Promise<Job | null> {
    const [row] = await this.run<JobRow>('getJob', [id]);
    return row ? rowToJob(row) : null;
  }

  async historyOf(id: string): Promise<JobHistory> {
    return historyFromRow((await this.run<HistoryRow & pg.QueryResultRow>('history', [id]))[0]);
  }

  async tombstoneOwner(id: string, now: number): Promise<string | null | undefined> {
    return (await this.run<{ owner: string | null }>('tombstone', [id, now]))[0]?.owner;
  }

  async countQueued(): Promise<number> {
    return (await this.run<{ n: number }>('countQueued', []))[0]!.n;
  }

  async listJobs(q: JobListQuery): Promise<Job[]> {
    // A search (an operator's question, not the live page's) may use the database's parallel workers.
    const statement = admin.listJobs(q);
    return (await (q.search ? this.adHoc<JobRow>(statement) : this.console.read<JobRow>(statement))).map(rowToJob);
  }

  async countJobs(filter: JobFilter, upTo: number): Promise<number> {
    return (await this.console.read<{ n: number }>(admin.countJobs(filter, upTo)))[0]!.n;
  }

  async retryJob(id: string, now: number): Promise<RetryOutcome | null> {
    const [row] = await this.adHoc<JobRow>(admin.retryOne(id, now));
    if (row) return { job: rowToJob(row), retried: true };
    const current = await this.getJob(id);
    return current ? { job: current, retried: false } : null;
  }

  async retryJobs(filter: JobFilter, limit: number, now: number): Promise<Job[]> {
    return (await this.adHoc<JobRow>(admin.retryMany(filter, limit, now))).map(rowToJob);
  }

  overview(since: number, failingSince: number, settleAt: number): Promise<StoreOverview> {
    return this.console.overview(since, failingSince, settleAt);
  }

  observeCommits(observer: CommitObserver): void {
    this.writes.onCommit = observer;
  }
  gauges(): Promise<StoreGauges> {
    return this.console.gauges();
  }
  schemaVersion(): Promise<number> {
    return appliedMigration(this.pool, this.schema);
  }

  async claimJobs(owner: string, limit: number, now: number, leaseMs: number): Promise<Job[]> {
    const rows = await this.run<JobRow>('claimJobs', [owner, limit, now, now + leaseMs]);
    return rows.map(rowToJob).sort((a, b) => a.runAt - b.runAt);
  }

  async renewLeases(owner: string, jobIds: readonly string[], now: number, leaseMs: number): Promise<number> {
    const [jobs, deliveries] = await Promise.all([
      jobIds.length ? this.count('renewJobs', [now + leaseMs, owner, jobIds]) : 0,
      this.count('renewDeliveries', [now + leaseMs, owner]),
    ]);
    return jobs + deliveries;
  }

  async rescueExpiredLeases(now: number, limit: number, interrupted: JobError): Promise<RescueOutcome> {
    const out = await this.handBack('expired', null, now, limit, interrupted);
    out.deliveries = await this.count('rescueDeliveries', [now]);
    return out;
  }

  async releaseLeases(owner: string, now: number, interrupted: JobError): Promise<RescueOutcome> {
    const out = await this.handBack('owned', owner, now, 1_000_000, interrupted);
    out.deliveries = await this.count('releaseDeliveries', [owner, now]);
    return out;
  }

  private async handBack(
    which: 'expired' | 'owned',
    owner: string | null,
    now: number,
    limit: number,
    interrupted: JobError,
  ): Promise<RescueOutcome> {
    const rows = await this.run<{ outcome: 'requeued' | 'failed'; id: string }>('handBack', [
      now,
      owner,
      which,
      limit,
      JSON.stringify(interrupted),
    ]);
    const out: RescueOutcome = { requeued: [], failed: [] };
    for (const r of rows) out[r.outcome].push(r.id);
    return out;
  }

  private async count(name: StatementName, values: unknown[]): Promise<number> {
    return (await this.query(name, values)).rowCount ?? 0;
  }

  async appendResultChunk(id: string, leaseToken: number, seq: number, data: Uint8Array): Promise<boolean> {
    return (await this.run('appendChunk', [id, leaseToken, seq, data])).length > 0;
  }

  completeJob(id: string, leaseToken: number, c: Completion, retentionMs: number): Promise<CompletedJob | null> {
    return this.writes.complete({ id, leaseToken, c, retentionMs });
  }

  async requeueJob(id: string, leaseToken: number, runAt: number, now: number, why?: RequeueReason): Promise<boolean> {
    return (await this.run('requeueJob', [id, leaseToken, runAt, now, why?.status ?? null, why?.code ?? null])).length > 0;
  }

  async updateProgress(id: string, progress: JobProgress, now: number): Promise<Job | null> {
    const [row] = await this.run<JobRow>('progress', [JSON.stringify(progress), now, id]);
    return row ? rowToJob(row) : null;
  }

  async setUpstreamMonitor(id: string, leaseToken: number, monitor: UpstreamMonitor): Promise<boolean> {
    return (await this.count('setUpstreamMonitor', [id, leaseToken, JSON.stringify(monitor)])) > 0;
  }

  async cancelJob(id: string, error: JobError, now: number, retentionMs: number): Promise<Job | null> {
    const [row] = await this.run<JobRow>('cancel', [id, now, JSON.stringify(error), retentionMs]);
    return row ? rowToJob(row) : this.getJob(id);
  }

  async deleteJob(id: string, now: number, tombstoneUntil: number): Promise<boolean> {
    void now;
    return (await this.run<{ n: number }>('deleteJob', [id, tombstoneUntil]))[0]!.n > 0;
  }

  async addCallback(jobId: string, spec: CallbackSpec, id: string, now: number): Promise<Delivery | null> {
    const c = callbackColumns(spec);
    const [row] = await this.run<DeliveryRow>('addCallback', [id, jobId, c.url, c.host, c.method, c.mode, c.secret, now]);
    return row ? rowToDelivery(row) : null;
  }

  async claimDeliveries(
    owner: string,
    limit: number,
    now: number,
    leaseMs: number,
    perHost: number,
    inflight: Readonly<Record<string, number>>,
  ): Promise<Delivery[]> {
    const rows = await this.run<DeliveryRow>('claimDeliveries', [
      owner,
      limit,
      now,
      now + leaseMs,
      perHost,
      JSON.stringify(inflight),
    ]);
    return rows
      .map(rowToDelivery)
      .sort((a, b) => a.round - b.round || (a.nextAttemptAt ?? 0) - (b.nextAttemptAt ?? 0));
  }

  async recordAttempt(a: DeliveryAttempt, leaseToken: number, next: DeliveryNext): Promise<boolean> {
    const rows = await this.run('recordAttempt', [
      a.deliveryId,
      leaseToken,
      next.state,
      next.state === 'pending' ? next.nextAttemptAt : null,
      a.at,
      a.status,
      a.error,
      Math.round(a.latencyMs),
      a.snippet,
    ]);
    return rows.length > 0;
  }

  async getDelivery(id: string): Promise<Delivery | null> {
    const [row] = await this.run<DeliveryRow>('getDelivery', [id]);
    return row ? rowToDelivery(row) : null;
  }

  async listDeliveries(q: DeliveryListQuery): Promise<Delivery[]> {
    return (await this.console.read<DeliveryRow>(admin.listDeliveries(q))).map(rowToDelivery);
  }

  async countDeliveries(filter: DeliveryFilter, upTo: number): Promise<number> {
    return (await this.console.read<{ n: number }>(admin.countDeliveries(filter, upTo)))[0]!.n;
  }

  async attemptsOf(deliveryId: string): Promise<DeliveryAttempt[]> {
    return (await this.run<AttemptRow>('attempts', [deliveryId])).map(rowToAttempt);
  }

  async redeliver(id: string, now: number): Promise<Delivery | null> {
    await this.count('redeliver', [id, now]);
    return this.getDelivery(id);
  }

  redeliverFailedSince(since: number, now: number, options: { host?: string; limit?: number } = {}): Promise<number> {
    return this.count('redeliverFailed', [since, now, options.host ?? null, options.limit ?? null]);
  }

  secret(name: string, create: () => string): Promise<string> {
    return meta.secret(this.runner, name, create);
  }
  readSecret(name: string): Promise<string | undefined> {
    return meta.read(this.runner, name);
  }
  writeSecret(name: string, value: string | null): Promise<void> {
    return meta.write(this.runner, name, value);
  }

  async *readResult(id: string, range?: ByteSpan): AsyncIterable<Uint8Array> {
    const [token] = await this.run<{ result_token: number | null }>('resultToken', [id]);
    if (!token || token.result_token === null) return;
    const t = token.result_token;
    const fetch = (from: number) => this.run<Piece & pg.QueryResultRow>('chunks', [id, t, from, PAGE]);
    if (!range) {
      for await (const piece of pages(fetch)) yield piece.data;
      return;
    }
    yield* sliceOfPieces(await this.run<PieceSize & pg.QueryResultRow>('chunkSizes', [id, t]), fetch, range);
  }

  async appendRequestChunk(jobId: string, seq: number, data: Uint8Array, now: number): Promise<void> {
    await this.run('insertRequestChunk', [jobId, seq, data, now]);
  }

  async *readRequestBody(jobId: string): AsyncIterable<Uint8Array> {
    const fetch = (from: number) => this.run<Piece & pg.QueryResultRow>('requestChunks', [jobId, from, PAGE]);
    for await (const piece of pages(fetch)) yield piece.data;
  }

  async sweep(now: number, limit: number, tombstoneMs: number): Promise<number> {
    return (await this.run<{ n: number }>('sweep', [now, limit, now + tombstoneMs, now - ORPHAN_AFTER_MS]))[0]!.n;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.subscribers.clear();
    await this.listener.stop();
    await this.console.end();
    await this.pool.end().catch(() => undefined);
  }

  /** For messages: where this store lives, without credentials. */
  get label(): string {
    return storeLabel(this.target);
  }
}

