import type { CallbackSpec, Delivery, DeliveryAttempt, Job } from '../../model.js';
import { shardOfGroup, shardOfId, shardOfKey } from '../../shared/shards.js';
import type { CommitObserver, DeliveryNext, MigrationOutcome, StoreChange } from '../port.js';
import { SqliteJobStore } from '../sqlite/sqlite-store.js';
import { ChangeRelay } from './change-relay.js';
import type { Peers } from './peers.js';
import { ShardPeeks } from './peeks.js';
import { shardPath } from './shard-files.js';

export interface ShardedStoreOptions {
  /** Shard 0's file (the --db path); the others are next to it (shard-files.ts). */
  path: string;
  /** How many shards there are (prepareShards made and migrated them). */
  shards: number;
  peers: Peers;
  /** How long a queued job of another worker's shard may wait past its due time before this one takes it
   * (its owner is frozen or being restarted): the lease time. */
  staleAfterMs: number;
}

/**
 * The shards one worker has open, which of them it owns, and how it tells the others what it changed: what
 * the sharded store's parts share (sharded-store.ts has the jobs' side). Here too: callbacks, by delivery
 * id (in the shard of its job, which its id names), and the installation's secrets (shard 0's).
 */
export abstract class ShardSet {
  abstract getJob(id: string): Promise<Job | null>;

  readonly shards: SqliteJobStore[];
  readonly label: string;
  protected readonly relay: ChangeRelay;
  protected readonly owned: number[];
  protected readonly me: number;
  /** Shards whose deliveries this process holds leases in (its own, and those of jobs it finished there). */
  protected readonly leasedIn = new Set<number>();
  /** Where each delivery this process holds a lease on lives, for recording its attempt. */
  protected readonly deliveryShard = new Map<string, number>();
  protected lastStaleCheck = 0;
  protected readonly peeks: ShardPeeks[];

  constructor(protected readonly options: ShardedStoreOptions) {
    const { peers } = options;
    this.me = peers.index;
    this.shards = Array.from({ length: options.shards }, (_, k) => new SqliteJobStore({ path: shardPath(options.path, k) }));
    this.peeks = this.shards.map((s) => new ShardPeeks(s));
    this.owned = this.shards.map((_, k) => k).filter((k) => this.ownerOfShard(k) === this.me);
    for (const k of this.owned) this.leasedIn.add(k);
    // Where the data lives as the --db says it (shard 0, with the secrets); its shards are next to it.
    this.label = `sqlite:${options.path}`;
    this.relay = new ChangeRelay(peers, (id) => this.ownerOf(id), async (id) => {
      const job = await this.getJob(id);
      return job ? { kind: 'job', id, version: job.version, state: job.state } : { kind: 'gone', id };
    });
  }

  get migration(): MigrationOutcome {
    return this.shards[0]!.migration;
  }

  get pushSubscriptions() {
    return this.shards[0]!.pushSubscriptions;
  }

  get messaging() {
    return this.shards[0]!.messaging;
  }

  protected ownerOfShard(k: number): number {
    return k % this.options.peers.workers;
  }

  protected shardOf(id: string): number {
    return shardOfId(id, this.shards.length);
  }

  protected at(id: string): SqliteJobStore {
    return this.shards[this.shardOf(id)]!;
  }

  /** The worker that owns the shard this id names. */
  protected ownerOf(id: string): number {
    return this.ownerOfShard(this.shardOf(id));
  }

  /** Run `fn` on the job's shard; when it finds nothing there, on the others, shard 0 first (ids from before
   * shards live there; a job made outside the engine may sit where its key hashes, not where its id says). */
  protected async find<T>(id: string, fn: (s: SqliteJobStore) => Promise<T>, missing: (v: T) => boolean): Promise<T> {
    return (await this.lookIn(this.shardOf(id), fn, missing)).v;
  }

  /** `fn` on shard `first`, then on each other shard in order until one does not answer `missing`; the answer
   * and the shard that gave it (`first`'s when none did). */
  private async lookIn<T>(first: number, fn: (s: SqliteJobStore) => Promise<T>, missing: (v: T) => boolean): Promise<{ v: T; k: number }> {
    const v = await fn(this.shards[first]!);
    if (!missing(v)) return { v, k: first };
    for (let k = 0; k < this.shards.length; k++) {
      if (k === first) continue;
      const other = await fn(this.shards[k]!);
      if (!missing(other)) return { v: other, k };
    }
    return { v, k: first };
  }

  protected jobChanged(job: Job | null | undefined): void {
    if (job) this.relay.changed({ kind: 'job', id: job.id, version: job.version, state: job.state });
  }

  // --- placement and notifications --------------------------------------------------------------------

  /** A grouped job goes where its group hashes (shardOfGroup: with the group's other jobs and its record), which
   * wins over its Idempotency-Key (a key is still found in any shard before a job is made: insertJob); a keyed
   * one where its key hashes; any other in this worker's own shard. */
  shardFor(owner: string | null, idempotencyKey: string | null, group?: string): number {
    if (group !== undefined) return shardOfGroup(group, this.shards.length);
    return idempotencyKey === null ? this.me : shardOfKey(owner, idempotencyKey, this.shards.length);
  }

  watch(id: string): () => void {
    return this.relay.watch(id);
  }

  listen(fn: (change: StoreChange) => void): () => void {
    return this.relay.listen(fn);
  }

  // --- callbacks -----------------------------------------------------------------------------------------

  async addCallback(jobId: string, spec: CallbackSpec, id: string, now: number, maxPerJob?: number): Promise<Delivery | null> {
    const d = await this.find(jobId, (s) => s.addCallback(jobId, spec, id, now, maxPerJob), (x) => x === null);
    if (d?.state === 'pending') this.relay.tell(this.ownerOf(jobId), { kind: 'deliveries' });
    return d;
  }

  async claimDeliveries(owner: string, limit: number, now: number, leaseMs: number, perHost: number, inflight: Readonly<Record<string, number>>): Promise<Delivery[]> {
    const out: Delivery[] = [];
    let busy = inflight;
    // With several shards, the one whose first due delivery its claimer would take first goes first.
    const ranked = this.owned.length === 1 ? this.owned : this.byFirstDelivery(now);
    for (const k of ranked) {
      if (out.length >= limit) break;
      const got = await this.shards[k]!.claimDeliveries(owner, limit - out.length, now, leaseMs, perHost, busy);
      for (const d of got) this.deliveryShard.set(d.id, k);
      out.push(...got);
      if (got.length && this.owned.length > 1) busy = withClaimed(busy, got);
    }
    return out;
  }

  private byFirstDelivery(now: number): number[] {
    const ranks = this.owned.map((k) => ({ k, r: this.peeks[k]!.firstDeliveryRank(now) })).filter((x) => x.r !== undefined);
    return ranks.sort((x, y) => x.r![0] - y.r![0] || x.r![1] - y.r![1]).map((x) => x.k);
  }

  async recordAttempt(attempt: DeliveryAttempt, leaseToken: number, next: DeliveryNext): Promise<boolean> {
    const k = this.deliveryShard.get(attempt.deliveryId) ?? this.shardOf(attempt.deliveryId);
    const ok = await this.shards[k]!.recordAttempt(attempt, leaseToken, next);
    if (next.state !== 'pending') this.deliveryShard.delete(attempt.deliveryId);
    return ok;
  }

  /** A delivery by id: in the shard its lease or its id names, else in any (ids not made by newDeliveryId). */
  private deliveryAt<T>(id: string, fn: (s: SqliteJobStore) => Promise<T>, missing: (v: T) => boolean): Promise<{ v: T; k: number }> {
    return this.lookIn(this.deliveryShard.get(id) ?? this.shardOf(id), fn, missing);
  }

  async getDelivery(id: string): Promise<Delivery | null> {
    return (await this.deliveryAt(id, (s) => s.getDelivery(id), (d) => d === null)).v;
  }

  async attemptsOf(deliveryId: string): Promise<DeliveryAttempt[]> {
    return (await this.deliveryAt(deliveryId, (s) => s.attemptsOf(deliveryId), (a) => a.length === 0)).v;
  }

  async redeliver(id: string, now: number): Promise<Delivery | null> {
    const { v, k } = await this.deliveryAt(id, (s) => s.redeliver(id, now), (d) => d === null);
    if (v) this.relay.tell(this.ownerOfShard(k), { kind: 'deliveries' });
    return v;
  }

  async redeliverFailedSince(since: number, now: number, options: { host?: string; limit?: number } = {}): Promise<number> {
    let n = 0;
    for (let k = 0; k < this.shards.length; k++) {
      const left = options.limit === undefined ? undefined : options.limit - n;
      if (left !== undefined && left <= 0) break;
      const got = await this.shards[k]!.redeliverFailedSince(since, now, { ...options, limit: left });
      if (got) this.relay.tell(this.ownerOfShard(k), { kind: 'deliveries' });
      n += got;
    }
    return n;
  }

  schemaVersion(): Promise<number> {
    return this.shards[0]!.schemaVersion();
  }

  observeCommits(observer: CommitObserver): void {
    for (const s of this.shards) s.observeCommits(observer);
  }

  // --- the installation's secrets: shard 0's -----------------------------------------------------------

  secret(name: string, create: () => string): Promise<string> {
    return this.shards[0]!.secret(name, create);
  }
  readSecret(name: string): Promise<string | undefined> {
    return this.shards[0]!.readSecret(name);
  }
  writeSecret(name: string, value: string | null): Promise<void> {
    return this.shards[0]!.writeSecret(name, value);
  }

  isTransient(error: unknown): boolean {
    return this.shards[0]!.isTransient(error);
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.close()));
  }
}

/** `inflight` plus the deliveries just claimed, by host (the per-host limit counts what this process sends). */
function withClaimed(inflight: Readonly<Record<string, number>>, claimed: Delivery[]): Record<string, number> {
  const out: Record<string, number> = { ...inflight };
  for (const d of claimed) out[d.host] = (out[d.host] ?? 0) + 1;
  return out;
}

