import type Database from 'better-sqlite3';
import { resolve } from 'node:path';
import type { CallbackSpec, Delivery, DeliveryAttempt, Job, JobError, JobHistory, JobProgress, NewJob, UpstreamMonitor } from '../../model.js';
import type { CompletedJob, Completion, JobLease, DeliveryNext, InsertOutcome, JobStore, RescueOutcome, MigrationOutcome, RequeueReason } from '../port.js';
import { historyFromRow, type HistoryRow } from '../history.js';
import {
  callbackColumns,
  newJobState,
  rowToAttempt,
  rowToDelivery,
  rowToJob,
  startColumns,
  withState,
  type AttemptRow,
  type DeliveryRow,
  type JobRow,
  type JobStateRow,
} from '../rows.js';
import { searchableText } from '../search-text.js';
import { ConsoleReader } from './console-reader.js';
import { DeliveryClaimer } from './delivery-claim.js';
import { SqliteGroupStore } from './job-groups.js';
import { CallbackLimitError, StorageFullError } from '../errors.js';
import { migrate } from './migrate.js';
import { openDatabase } from './open-database.js';
import { prepareAll, type Statements } from './sql.js';
import { openWalSync, type WalSync } from './wal-sync.js';
import * as meta from './meta.js';
import { WriteQueue } from './write-queue.js';
import { SqlitePushSubscriptions } from './push-subscriptions.js';
import { SqliteMessaging } from './messaging.js';
import { isBusy } from './sqlite-errors.js';
import { ORPHAN_AFTER_MS, pages, PAGE, sliceOfPieces, type ByteSpan, type Piece, type PieceSize } from '../chunked-read.js';

export interface SqliteStoreOptions {
  /** File path; created with its folder if missing. */
  path: string;
  /** false: console reads run in-thread (a short-lived open, as when preparing shards). Default true. */
  consoleReader?: boolean;
}

/**
 * The embedded backend: one SQLite file in WAL mode. Writes go through a group-commit queue that
 * acknowledges a write only once its commit is on disk (the WAL is fdatasynced off the event loop, see
 * wal-sync.ts; synchronous=FULL when there is no WAL file). Reads go straight to the database once the
 * last commit is on disk, so they never show a change a crash could undo.
 */
export class SqliteJobStore extends SqliteGroupStore implements JobStore {
  readonly db: Database.Database;
  readonly writes: WriteQueue;
  private readonly sql: Statements;
  readonly migration: MigrationOutcome;
  readonly label: string;
  private readonly claimer: DeliveryClaimer;
  private readonly walSync: WalSync | undefined;
  protected readonly reader: ConsoleReader | undefined;
  readonly pushSubscriptions: SqlitePushSubscriptions;
  readonly messaging: SqliteMessaging;

  constructor(options: SqliteStoreOptions) {
    super();
    this.db = openDatabase(options.path);
    this.migration = migrate(this.db);
    this.label = `sqlite:${options.path}`;
    this.sql = prepareAll(this.db);
    this.walSync = openWalSync(this.db, options.path);
    // From here on, never inside a statement on the event loop: the WriteQueue retries after a pause instead.
    this.db.pragma('busy_timeout = 0');
    this.writes = new WriteQueue(this.db, this.walSync?.sync ?? (() => Promise.resolve()));
    this.claimer = new DeliveryClaimer(this.db);
    this.pushSubscriptions = new SqlitePushSubscriptions(this.db, this.writes);
    this.messaging = new SqliteMessaging(this.db, this.writes);
    this.reader = options.path === ':memory:' || options.path === '' || options.consoleReader === false ? undefined : new ConsoleReader(resolve(options.path));
  }

  insertJob(job: NewJob, lease?: JobLease): Promise<InsertOutcome> {
    return this.writes.write(() => {
      if (job.idempotencyKey !== null) {
        const existing = this.sql.byIdempotencyKey.get(job.owner ?? '', job.idempotencyKey) as JobRow | undefined;
        if (existing) return { job: rowToJob(existing), created: false };
      }
      // The text first: the job keeps the rowid FTS5 gave it (see migration 7).
      const text = searchableText(job.request.body);
      const textRowid = text === null ? null : this.sql.insertText.run(text, job.id).lastInsertRowid;
      this.sql.insert.run({
        id: job.id,
        dialect: job.dialect,
        owner: job.owner,
        idempotency_key: job.idempotencyKey,
        request_hash: job.requestHash,
        method: job.request.method,
        url: job.request.url,
        req_headers: JSON.stringify(job.request.headers),
        req_body: job.request.body,
        req_body_size: job.request.bodySize ?? job.request.body?.byteLength ?? 0,
        options: JSON.stringify(job.options),
        retryable: job.options.retryable ? 1 : 0,
        max_attempts: job.options.maxAttempts,
        now: job.createdAt,
        ...startColumns(job, lease),
        req_text_rowid: textRowid,
      });
      for (const cb of job.callbacks ?? []) this.insertDelivery(job.id, cb, cb.id, 'waiting', job.createdAt);
      return { job: newJobState(job, lease), created: true };
    });
  }

  getJob(id: string): Promise<Job | null> {
    return this.writes.read(() => {
      const row = this.sql.get.get(id) as JobRow | undefined;
      return row ? rowToJob(row) : null;
    });
  }

  historyOf(id: string): Promise<JobHistory> {
    return this.writes.read(() => {
      return historyFromRow(this.sql.history.get(id) as HistoryRow | undefined);
    });
  }

  tombstoneOwner(id: string, now: number): Promise<string | null | undefined> {
    return this.writes.read(() => (this.sql.tombstone.get(id, now) as { owner: string | null } | undefined)?.owner);
  }

  countQueued(): Promise<number> {
    return this.writes.read(() => (this.sql.countQueued.get() as { n: number }).n);
  }

  /** `dueBy` (default now): only jobs due by then (a sharded store takes over another's stale queue). Grouped
   * jobs within their group's bounds (job-groups.ts). */
  claimJobs(owner: string, limit: number, now: number, leaseMs: number, dueBy = now): Promise<Job[]> {
    return this.writes.write(() => this.claimDue(owner, limit, now, leaseMs, dueBy));
  }

  renewLeases(owner: string, jobIds: readonly string[], now: number, leaseMs: number): Promise<number> {
    return this.writes.write(() => {
      let n = this.sql.renewDeliveries.run(now + leaseMs, owner).changes;
      for (const id of jobIds) n += this.sql.renew.run(now + leaseMs, id, owner).changes;
      return n;
    });
  }

  rescueExpiredLeases(now: number, limit: number, interrupted: JobError): Promise<RescueOutcome> {
    return this.writes.write(() => {
      const ids = (this.sql.expiredLeases.all(now, limit) as Array<{ id: string }>).map((r) => r.id);
      const out = this.handBack(ids, now, interrupted);
      out.deliveries = this.sql.rescueDeliveries.run({ now }).changes;
      return out;
    });
  }

  releaseLeases(owner: string, now: number, interrupted: JobError): Promise<RescueOutcome> {
    return this.writes.write(() => {
      const ids = (this.sql.ownedLeases.all(owner) as Array<{ id: string }>).map((r) => r.id);
      const out = this.handBack(ids, now, interrupted);
      out.deliveries = this.sql.releaseDeliveries.run({ owner, now }).changes;
      return out;
    });
  }

  /** Requeue retryable jobs that have attempts left; fail the others as interrupted. */
  private handBack(ids: string[], now: number, interrupted: JobError): RescueOutcome {
    const out: RescueOutcome = { requeued: [], failed: [] };
    const error = JSON.stringify(interrupted);
    for (const id of ids) {
      if (this.sql.requeueRescued.run({ now, id, error }).changes) out.requeued.push(id);
      else if (this.sql.failRescued.run({ id, now, error }).changes) {
        out.failed.push(id);
        this.sql.activateDeliveries.run({ job: id, now });
      }
    }
    return out;
  }

  appendResultChunk(id: string, leaseToken: number, seq: number, data: Uint8Array): Promise<boolean> {
    return this.writes.write(() => {
      if (!this.sql.holdsLease.get(id, leaseToken)) return false;
      this.sql.insertChunk.run(id, leaseToken, seq, data);
      return true;
    });
  }

  completeJob(id: string, leaseToken: number, c: Completion, retentionMs: number): Promise<CompletedJob | null> {
    return this.writes.write(() => {
      const known = c.job?.id === id ? c.job : undefined;
      const row = (known ? this.sql.completeReturningState : this.sql.complete).get({
        id,
        token: leaseToken,
        state: c.state,
        response: c.response ? JSON.stringify(c.response) : null,
        error: c.error ? JSON.stringify(c.error) : null,
        now: c.finishedAt,
        expires: c.finishedAt + retentionMs,
      }) as JobStateRow | undefined;
      if (!row) return null;
      const deliveries = c.leaseDeliveries ? this.claimer.leaseOfFinishing(id, c.leaseDeliveries, c.finishedAt) : [];
      const due = this.sql.activateDeliveries.run({ job: id, now: c.finishedAt }).changes > 0;
      if (c.body && c.body.byteLength > 0) {
        this.sql.insertChunk.run(id, leaseToken, 0, c.body);
        const text = searchableText(c.body);
        if (text !== null) this.sql.setResponseText.run(this.sql.insertText.run(text, id).lastInsertRowid, id);
      }
      // Pieces of earlier attempts (other lease tokens) can only exist after a first attempt.
      if (!(known && known.attempts === 1)) this.sql.deleteStaleChunks.run(id, leaseToken);
      return { job: known ? withState(known, row) : rowToJob(row as JobRow), deliveries, due };
    });
  }

  requeueJob(id: string, leaseToken: number, runAt: number, now: number, why?: RequeueReason): Promise<boolean> {
    return this.writes.write(() => {
      const changed = this.sql.requeue.run({ id, token: leaseToken, runAt, now, status: why?.status ?? null, code: why?.code ?? null }).changes > 0;
      if (changed) this.sql.deleteChunksOfToken.run(id, leaseToken);
      return changed;
    });
  }

  updateProgress(id: string, progress: JobProgress, now: number): Promise<Job | null> {
    return this.writes.write(() => {
      const row = this.sql.progress.get({ progress: JSON.stringify(progress), now, id }) as JobRow | undefined;
      return row ? rowToJob(row) : null;
    });
  }

  setUpstreamMonitor(id: string, leaseToken: number, monitor: UpstreamMonitor): Promise<boolean> {
    return this.writes.write(() => this.sql.setUpstreamMonitor.run({ id, token: leaseToken, monitor: JSON.stringify(monitor) }).changes > 0);
  }

  cancelJob(id: string, error: JobError, now: number, retentionMs: number): Promise<Job | null> {
    return this.writes.write(() => {
      const row = this.sql.cancel.get({ id, now, error: JSON.stringify(error), expires: now + retentionMs }) as
        | JobRow
        | undefined;
      if (row) {
        this.sql.activateDeliveries.run({ job: id, now });
        return rowToJob(row);
      }
      const current = this.sql.get.get(id) as JobRow | undefined;
      return current ? rowToJob(current) : null;
    });
  }

  deleteJob(id: string, now: number, tombstoneUntil: number): Promise<boolean> {
    return this.writes.write(() => this.forget(id, tombstoneUntil));
  }

  /** Delete a job and all it has, leaving a tombstone that keeps its owner. false when there was no job. */
  private forget(id: string, tombstoneUntil: number): boolean {
    const row = this.sql.deleteJob.get(id) as { owner: string | null; req: number | null; res: number | null } | undefined;
    if (!row) return false;
    if (row.req !== null || row.res !== null) this.sql.deleteText.run(row);
    this.sql.deleteChunks.run(id);
    this.sql.deleteRequestChunks.run(id);
    this.sql.deleteAttemptsOfJob.run(id);
    this.sql.deleteDeliveriesOfJob.run(id);
    this.sql.insertTombstone.run(id, row.owner, tombstoneUntil);
    return true;
  }

  private insertDelivery(jobId: string, spec: CallbackSpec, id: string, state: 'waiting' | 'pending', now: number): void {
    this.sql.insertDelivery.run({
      id,
      job: jobId,
      ...callbackColumns(spec),
      state,
      next: state === 'pending' ? now : null,
      now,
    });
  }

  addCallback(jobId: string, spec: CallbackSpec, id: string, now: number, maxPerJob = Infinity): Promise<Delivery | null> {
    return this.writes.write(() => {
      const job = this.sql.jobState.get(jobId) as { state: string } | undefined;
      if (!job) return null;
      if ((this.sql.callbacksOfJob.get(jobId) as { n: number }).n >= maxPerJob) throw new CallbackLimitError(maxPerJob);
      const finished = job.state !== 'queued' && job.state !== 'running';
      this.insertDelivery(jobId, spec, id, finished ? 'pending' : 'waiting', now);
      return rowToDelivery(this.sql.getDelivery.get(id) as DeliveryRow);
    });
  }

  claimDeliveries(
    owner: string,
    limit: number,
    now: number,
    leaseMs: number,
    perHost: number,
    inflight: Readonly<Record<string, number>>,
  ): Promise<Delivery[]> {
    return this.writes.write(() => this.claimer.claim({ owner, limit, now, leaseMs, perHost, inflight }));
  }

  recordAttempt(a: DeliveryAttempt, leaseToken: number, next: DeliveryNext): Promise<boolean> {
    return this.writes.write(() => {
      const row = this.sql.recordAttempt.get({
        id: a.deliveryId,
        token: leaseToken,
        state: next.state,
        next: next.state === 'pending' ? next.nextAttemptAt : null,
        now: a.at,
        status: a.status,
        error: a.error,
      }) as { attempts: number } | undefined;
      if (!row) return false;
      this.sql.insertAttempt.run({
        deliveryId: a.deliveryId,
        n: row.attempts,
        at: a.at,
        status: a.status,
        latency: Math.round(a.latencyMs),
        error: a.error,
        snippet: a.snippet,
      });
      return true;
    });
  }

  getDelivery(id: string): Promise<Delivery | null> {
    return this.writes.read(() => {
      const row = this.sql.getDelivery.get(id) as DeliveryRow | undefined;
      return row ? rowToDelivery(row) : null;
    });
  }

  attemptsOf(deliveryId: string): Promise<DeliveryAttempt[]> {
    return this.writes.read(() => (this.sql.attempts.all(deliveryId) as AttemptRow[]).map(rowToAttempt));
  }

  redeliver(id: string, now: number): Promise<Delivery | null> {
    return this.writes.write(() => {
      this.sql.redeliver.run({ id, now });
      const row = this.sql.getDelivery.get(id) as DeliveryRow | undefined;
      return row ? rowToDelivery(row) : null;
    });
  }

  secret(name: string, create: () => string): Promise<string> {
    return meta.secret(this.writes, this.sql, name, create);
  }
  readSecret(name: string): Promise<string | undefined> {
    return meta.read(this.writes, this.sql, name);
  }
  writeSecret(name: string, value: string | null): Promise<void> {
    return meta.write(this.writes, this.sql, name, value);
  }

  async *readResult(id: string, range?: ByteSpan): AsyncIterable<Uint8Array> {
    const token = await this.writes.read(() => this.sql.resultToken.get(id) as { result_token: number | null } | undefined);
    if (!token || token.result_token === null) return;
    const t = token.result_token;
    // Each page waits for the commit in flight, so a read never shows what a crash could undo.
    const fetch = (from: number) => this.writes.read(() => this.sql.chunks.all(id, t, from, PAGE) as Piece[]);
    if (!range) {
      for await (const piece of pages(fetch)) yield piece.data;
      return;
    }
    yield* sliceOfPieces(await this.writes.read(() => this.sql.chunkSizes.all(id, t) as PieceSize[]), fetch, range);
  }

  appendRequestChunk(jobId: string, seq: number, data: Uint8Array, now: number): Promise<void> {
    return this.writes.write(() => void this.sql.insertRequestChunk.run(jobId, seq, data, now));
  }

  async *readRequestBody(jobId: string): AsyncIterable<Uint8Array> {
    const fetch = (from: number) => this.writes.read(() => this.sql.requestChunks.all(jobId, from, PAGE) as Piece[]);
    for await (const piece of pages(fetch)) yield piece.data;
  }

  sweep(now: number, limit: number, tombstoneMs: number): Promise<number> {
    return this.writes.write(() => {
      const ids = (this.sql.expired.all(now, limit) as Array<{ id: string }>).map((r) => r.id);
      for (const id of ids) this.forget(id, now + tombstoneMs);
      this.sql.purgeTombstones.run(now, limit);
      this.sql.purgeOrphanRequestChunks.run(now - ORPHAN_AFTER_MS, limit);
      return ids.length;
    });
  }

  /** Faults that pass: no space left, or another process holding the write lock longer than a write waits. */
  isTransient(error: unknown): boolean {
    return error instanceof StorageFullError || isBusy(error);
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    await this.reader?.close();
    await this.writes.drain();
    this.walSync?.close();
    this.db.close();
  }
}
