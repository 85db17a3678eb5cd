import type { Job, JobError, JobHistory, JobProgress, NewJob, UpstreamMonitor } from '../../model.js';
import { shardOfGroup, shardOfKey } from '../../shared/shards.js';
import type {
  CompletedJob,
  Completion,
  DeliveryFilter,
  DeliveryListQuery,
  InsertOutcome,
  JobFilter,
  JobGroup,
  JobGroupRecord,
  JobLease,
  JobListQuery,
  JobStore,
  RequeueReason,
  RescueOutcome,
  RetryOutcome,
  StoreGauges,
  StoreOverview,
} from '../port.js';
import type { Delivery } from '../../model.js';
import * as fanOut from './fan-out.js';
import { mergeOrdered } from './fan-out.js';
import { ShardSet } from './shard-set.js';

export type { ShardedStoreOptions } from './shard-set.js';

/** How often, at most, the other shards' queues are looked at for jobs their owner has left waiting. */
const STALE_CHECK_MS = 1_000;

/**
 * SQLite, one file per worker (docs/operations/workers.md). Each worker process owns some shards (shard s is
 * worker s mod workers'), puts the jobs it accepts in its own, claims from its own, and runs them to the end
 * without a word to anyone: accept → upstream → completion → callback touch only its file. Every worker has
 * every shard open: a job's id names its shard (shared/shards.ts), so a monitor, a result or an event stream
 * is read from that file by whichever worker the request landed on (WAL readers never wait for the writer),
 * and the rare write to another's job (cancel, delete, progress, a callback registration, a retry) is made
 * in that file directly, SQLite's lock serialising it with the owner's writes, and then told to the owner
 * (ChangeRelay). A job with an Idempotency-Key goes to the shard its key hashes to, so the shard's unique
 * index keeps the key unique across workers. The operator's lists, counts and overview ask every shard.
 */
export class ShardedJobStore extends ShardSet implements JobStore {
  // --- a job's life ------------------------------------------------------------------------------------

  async insertJob(job: NewJob, lease?: JobLease): Promise<InsertOutcome> {
    // A grouped job lives where its group hashes, a keyed one where its key does (its id says so when the engine
    // made it: shardFor).
    const k =
      job.group !== undefined
        ? shardOfGroup(job.group, this.shards.length)
        : job.idempotencyKey === null
          ? this.shardOf(job.id)
          : shardOfKey(job.owner, job.idempotencyKey, this.shards.length);
    if (job.idempotencyKey !== null) {
      // A key used while there were fewer or more shards lives where it hashed then: look everywhere first.
      for (let i = 0; i < this.shards.length; i++) {
        const same = i === k ? undefined : this.peeks[i]!.keyedJob(job.owner, job.idempotencyKey);
        if (same) return { job: same, created: false };
      }
    }
    const out = await this.shards[k]!.insertJob(job, lease);
    if (out.created) {
      this.relay.changed({ kind: 'job', id: out.job.id, version: out.job.version, state: out.job.state });
      if (out.job.state === 'queued') this.relay.tell(this.ownerOfShard(k), { kind: 'work' });
      if (out.job.state === 'running') this.leasedIn.add(k);
    }
    return out;
  }

  getJob(id: string): Promise<Job | null> {
    return this.find(id, (s) => s.getJob(id), (j) => j === null);
  }

  historyOf(id: string): Promise<JobHistory> {
    return this.find(id, (s) => s.historyOf(id), (h) => h.attempts.length === 0 && h.progress.length === 0);
  }

  tombstoneOwner(id: string, now: number): Promise<string | null | undefined> {
    return this.find(id, (s) => s.tombstoneOwner(id, now), (o) => o === undefined);
  }

  async countQueued(): Promise<number> {
    return (await Promise.all(this.shards.map((s) => s.countQueued()))).reduce((a, b) => a + b, 0);
  }

  async claimJobs(owner: string, limit: number, now: number, leaseMs: number): Promise<Job[]> {
    const out: Job[] = [];
    if (this.owned.length === 1) out.push(...(await this.shards[this.owned[0]!]!.claimJobs(owner, limit, now, leaseMs)));
    else {
      // Several shards (a worker that took over one left by a smaller cluster): the longest due first, over all.
      const due = this.owned.map((k) => this.peeks[k]!.dueTimes(now, limit).map((d) => ({ k, ...d })));
      const take = new Map<number, number>();
      for (const { k } of mergeOrdered(due, limit, (x, y) => x.at < y.at || (x.at === y.at && x.id < y.id))) take.set(k, (take.get(k) ?? 0) + 1);
      for (const [k, n] of take) out.push(...(await this.shards[k]!.claimJobs(owner, n, now, leaseMs)));
      // A claim made meanwhile by another loop of this process took some: fill up from any shard.
      for (const k of this.owned) if (out.length < limit) out.push(...(await this.shards[k]!.claimJobs(owner, limit - out.length, now, leaseMs)));
      out.sort((x, y) => x.runAt - y.runAt || (x.id < y.id ? -1 : 1));
    }
    if (out.length < limit && now - this.lastStaleCheck >= STALE_CHECK_MS) {
      this.lastStaleCheck = now;
      out.push(...(await this.claimStale(owner, limit - out.length, now, leaseMs)));
    }
    for (const job of out) this.jobChanged(job);
    return out;
  }

  /** Jobs of other workers' shards left queued past their due time by more than a lease: their owner is
   * frozen or restarting. Looked for with a read first, so a healthy owner's file never sees our write lock. */
  private async claimStale(owner: string, limit: number, now: number, leaseMs: number): Promise<Job[]> {
    const dueBy = now - this.options.staleAfterMs;
    const out: Job[] = [];
    for (let k = 0; k < this.shards.length && out.length < limit; k++) {
      if (this.ownerOfShard(k) === this.me) continue;
      if (this.peeks[k]!.hasStaleQueue(dueBy)) out.push(...(await this.shards[k]!.claimJobs(owner, limit - out.length, now, leaseMs, dueBy)));
    }
    return out;
  }

  async renewLeases(owner: string, jobIds: readonly string[], now: number, leaseMs: number): Promise<number> {
    const byShard = new Map<number, string[]>([...this.leasedIn].map((k) => [k, []]));
    for (const id of jobIds) {
      const k = this.shardOf(id);
      const list = byShard.get(k);
      if (list) list.push(id);
      else byShard.set(k, [id]);
    }
    const counts = await Promise.all([...byShard].map(([k, ids]) => this.shards[k]!.renewLeases(owner, ids, now, leaseMs)));
    return counts.reduce((a, b) => a + b, 0);
  }

  async rescueExpiredLeases(now: number, limit: number, interrupted: JobError): Promise<RescueOutcome> {
    // Every shard: a lapsed lease is rescued whoever's shard it is in (its owner may be the one frozen). In
    // another's shard only when a read found one, so a healthy owner never waits for our write lock.
    const none: RescueOutcome = { requeued: [], failed: [], deliveries: 0 };
    const parts = this.shards.map((s, k) =>
      this.ownerOfShard(k) === this.me || this.peeks[k]!.hasLapsedLeases(now) ? s.rescueExpiredLeases(now, limit, interrupted) : none,
    );
    return this.handedBack(await Promise.all(parts));
  }

  async releaseLeases(owner: string, now: number, interrupted: JobError): Promise<RescueOutcome> {
    return this.handedBack(await Promise.all(this.shards.map((s) => s.releaseLeases(owner, now, interrupted))));
  }

  /** Rescues and releases, merged; each shard's owner told of the work (and callbacks) they made due. */
  private handedBack(parts: RescueOutcome[]): RescueOutcome {
    const out: RescueOutcome = { requeued: [], failed: [], deliveries: 0 };
    parts.forEach((p, k) => {
      out.requeued.push(...p.requeued);
      out.failed.push(...p.failed);
      out.deliveries! += p.deliveries ?? 0;
      if (p.requeued.length) this.relay.tell(this.ownerOfShard(k), { kind: 'work' });
      if (p.failed.length || p.deliveries) this.relay.tell(this.ownerOfShard(k), { kind: 'deliveries' });
      for (const id of [...p.requeued, ...p.failed]) this.relay.changed({ kind: 'job', id, version: 0, state: 'queued' });
    });
    return out;
  }

  appendResultChunk(id: string, leaseToken: number, seq: number, data: Uint8Array): Promise<boolean> {
    return this.at(id).appendResultChunk(id, leaseToken, seq, data);
  }

  async completeJob(id: string, leaseToken: number, completion: Completion, retentionMs: number): Promise<CompletedJob | null> {
    const k = this.shardOf(id);
    const done = await this.shards[k]!.completeJob(id, leaseToken, completion, retentionMs);
    if (!done) return null;
    this.jobChanged(done.job);
    for (const d of done.deliveries) this.deliveryShard.set(d.id, k);
    if (done.deliveries.length) this.leasedIn.add(k);
    if (done.due) this.relay.tell(this.ownerOfShard(k), { kind: 'deliveries' });
    return done;
  }

  async requeueJob(id: string, leaseToken: number, runAt: number, now: number, why?: RequeueReason): Promise<boolean> {
    const ok = await this.at(id).requeueJob(id, leaseToken, runAt, now, why);
    if (ok) {
      this.relay.changed({ kind: 'job', id, version: 0, state: 'queued' });
      this.relay.tell(this.ownerOf(id), { kind: 'work' });
    }
    return ok;
  }

  async updateProgress(id: string, progress: JobProgress, now: number): Promise<Job | null> {
    const job = await this.find(id, (s) => s.updateProgress(id, progress, now), (j) => j === null);
    this.jobChanged(job);
    return job;
  }

  setUpstreamMonitor(id: string, leaseToken: number, monitor: UpstreamMonitor): Promise<boolean> {
    return this.at(id).setUpstreamMonitor(id, leaseToken, monitor);
  }

  async cancelJob(id: string, error: JobError, now: number, retentionMs: number): Promise<Job | null> {
    const job = await this.find(id, (s) => s.cancelJob(id, error, now, retentionMs), (j) => j === null);
    if (job?.state === 'canceled') {
      // Whoever runs it stops it; its callbacks are due in its shard.
      this.relay.broadcast({ kind: 'job', id, version: job.version, state: job.state });
      this.relay.tell(this.ownerOf(id), { kind: 'deliveries' });
    }
    return job;
  }

  async deleteJob(id: string, now: number, tombstoneUntil: number): Promise<boolean> {
    const gone = await this.find(id, (s) => s.deleteJob(id, now, tombstoneUntil), (ok) => !ok);
    if (gone) this.relay.broadcast({ kind: 'gone', id });
    return gone;
  }

  readResult(id: string, range?: { start: number; end: number }): AsyncIterable<Uint8Array> {
    return this.at(id).readResult(id, range);
  }

  appendRequestChunk(jobId: string, seq: number, data: Uint8Array, now: number): Promise<void> {
    return this.at(jobId).appendRequestChunk(jobId, seq, data, now);
  }

  readRequestBody(jobId: string): AsyncIterable<Uint8Array> {
    return this.at(jobId).readRequestBody(jobId);
  }

  async sweep(now: number, limit: number, tombstoneMs: number): Promise<number> {
    let n = 0;
    for (const k of this.owned) n += await this.shards[k]!.sweep(now, limit, tombstoneMs);
    return n;
  }

  // --- job groups: each group's record in the shard its jobs are in (shardOfGroup), where its claim reads it --

  async putGroup(group: JobGroup, now: number): Promise<void> {
    const k = shardOfGroup(group.key, this.shards.length);
    await this.shards[k]!.putGroup(group, now);
    // Resumed or widened: the worker that claims its jobs looks now (the caller's own engine is told by it).
    this.relay.tell(this.ownerOfShard(k), { kind: 'work' });
  }

  group(key: string): Promise<JobGroupRecord | null> {
    return this.shards[shardOfGroup(key, this.shards.length)]!.group(key);
  }

  async groups(prefix: string): Promise<JobGroupRecord[]> {
    return (await Promise.all(this.shards.map((s) => s.groups(prefix)))).flat().sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  deleteGroup(key: string): Promise<boolean> {
    return this.shards[shardOfGroup(key, this.shards.length)]!.deleteGroup(key);
  }

  // --- the operator's questions: every shard, merged (fan-out.ts) -------------------------------------

  listJobs(query: JobListQuery): Promise<Job[]> {
    return fanOut.listJobs(this.shards, query);
  }

  countJobs(filter: JobFilter, upTo: number): Promise<number> {
    return fanOut.countJobs(this.shards, filter, upTo);
  }

  async retryJob(id: string, now: number): Promise<RetryOutcome | null> {
    const out = await this.find(id, (s) => s.retryJob(id, now), (r) => r === null);
    if (out?.retried) {
      this.jobChanged(out.job);
      this.relay.tell(this.ownerOf(id), { kind: 'work' });
    }
    return out;
  }

  async retryJobs(filter: JobFilter, limit: number, now: number): Promise<Job[]> {
    // The newest `limit` retryable jobs of all shards, then each retried in its own.
    const out: Job[] = [];
    for (const job of await this.listJobs({ ...filter, retryableOnly: true, limit })) {
      const r = await this.retryJob(job.id, now);
      if (r?.retried) out.push(r.job);
    }
    return out;
  }

  overview(since: number, failingSince: number, settleAt: number): Promise<StoreOverview> {
    return fanOut.overview(this.shards, since, failingSince, settleAt);
  }

  gauges(): Promise<StoreGauges> {
    return fanOut.gauges(this.shards);
  }

  async listDeliveries(query: DeliveryListQuery): Promise<Delivery[]> {
    // Every shard pages after the cursor's (createdAt, id), which only its own shard has.
    const cursor = query.after !== undefined && query.afterCreatedAt === undefined ? await this.getDelivery(query.after) : undefined;
    if (cursor === null) return [];
    return fanOut.listDeliveries(this.shards, cursor ? { ...query, afterCreatedAt: cursor.createdAt } : query);
  }

  countDeliveries(filter: DeliveryFilter, upTo: number): Promise<number> {
    return fanOut.countDeliveries(this.shards, filter, upTo);
  }
}
