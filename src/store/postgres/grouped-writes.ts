import type pg from 'pg';
import type { Delivery, NewJob } from '../../model.js';
import type { CommitObserver, CompletedJob, Completion, InsertOutcome, JobLease } from '../port.js';
import { callbackColumns, newJobState, rowToDelivery, rowToJob, startColumns, type DeliveryRow, type JobRow } from '../rows.js';
import { searchWordsOf } from '../search-text.js';
import { Batcher } from './batcher.js';
import type { StatementName } from './sql.js';

/** Run a named statement (with the store's retries on lost connections). */
export type RunStatement = <R extends pg.QueryResultRow>(name: StatementName, values: unknown[]) => Promise<R[]>;

interface LeasedInsert {
  job: NewJob;
  lease: JobLease | undefined;
}

export interface CompletionCall {
  id: string;
  leaseToken: number;
  c: Completion;
  retentionMs: number;
}

/**
 * The writes every job makes and many callers make at once — its insert and its completion — group-committed
 * (see batcher.ts): one statement per event-loop turn, each call still getting its own outcome.
 */
export class GroupedWrites {
  private readonly inserts = new Batcher<LeasedInsert, InsertOutcome>((calls) => this.insertMany(calls), undefined, (s, n) => this.onCommit?.(s, n));
  private readonly completions = new Batcher<CompletionCall, CompletedJob | null>((calls) => this.completeMany(calls), undefined, (s, n) => this.onCommit?.(s, n));
  /** Told of each grouped statement committed (metrics). */
  onCommit: CommitObserver | undefined;

  constructor(private readonly run: RunStatement) {}

  insert(job: NewJob, lease?: JobLease): Promise<InsertOutcome> {
    return this.inserts.run({ job, lease });
  }

  complete(call: CompletionCall): Promise<CompletedJob | null> {
    return this.completions.run(call);
  }

  private async insertMany(calls: LeasedInsert[]): Promise<InsertOutcome[]> {
    const rows = calls.map(({ job, lease }) => ({
      id: job.id,
      dialect: job.dialect,
      owner: job.owner,
      idempotency_key: job.idempotencyKey,
      request_hash: job.requestHash,
      method: job.request.method,
      url: job.request.url,
      req_headers: JSON.stringify(job.request.headers),
      req_body: job.request.body ? Buffer.from(job.request.body).toString('base64') : null,
      options: JSON.stringify(job.options),
      retryable: job.options.retryable,
      max_attempts: job.options.maxAttempts,
      retention_ms: job.options.retentionMs,
      created_at: job.createdAt,
      req_body_size: job.request.bodySize ?? job.request.body?.byteLength ?? 0,
      callbacks: (job.callbacks ?? []).map((cb) => ({ ...callbackColumns(cb), id: cb.id })),
      ...startColumns(job, lease),
      search_words: searchWordsOf(job.request.body),
    }));
    const inserted = new Set((await this.run<{ id: string }>('insertJobs', [JSON.stringify(rows)])).map((r) => r.id));
    return Promise.all(
      calls.map(({ job, lease }) => (inserted.has(job.id) ? { job: newJobState(job, lease), created: true } : this.existing(job))),
    );
  }

  /** Nothing was inserted: the Idempotency-Key was used before, or this very insert committed and is being
   * retried after a lost connection. */
  private async existing(job: NewJob): Promise<InsertOutcome> {
    if (job.idempotencyKey !== null) {
      const [found] = await this.run<JobRow>('byIdempotencyKey', [job.owner ?? '', job.idempotencyKey]);
      if (found) return { job: rowToJob(found), created: found.id === job.id };
    }
    const [same] = await this.run<JobRow>('getJob', [job.id]);
    if (same && same.request_hash === job.requestHash) return { job: rowToJob(same), created: true };
    throw new Error(`job ${job.id} already exists`);
  }

  private async completeMany(calls: CompletionCall[]): Promise<Array<CompletedJob | null>> {
    const rows = calls.map(({ id, leaseToken, c, retentionMs }) => ({
      id,
      token: leaseToken,
      state: c.state,
      response: c.response ? JSON.stringify(c.response) : null,
      error: c.error ? JSON.stringify(c.error) : null,
      finished_at: c.finishedAt,
      expires_at: c.finishedAt + retentionMs,
      body: c.body && c.body.byteLength > 0 ? Buffer.from(c.body).toString('base64') : null,
      search_words: searchWordsOf(c.body),
    }));
    const done = new Map((await this.run<JobRow>('completeJobs', [JSON.stringify(rows)])).map((r) => [r.id, rowToJob(r)]));
    const leased = await this.leaseDeliveries(calls.filter((call) => done.has(call.id)));
    return calls.map((call) => {
      const job = done.get(call.id);
      // The trigger made the rest due inside the UPDATE, out of this statement's sight: assume some were.
      return job ? { job, deliveries: leased.get(call.id) ?? [], due: true } : null;
    });
  }

  /** Take the callbacks the finishing calls asked for (Completion.leaseDeliveries), in one statement. The
   * completion's trigger made them due a moment ago; one another process claimed meanwhile is simply not ours. */
  private async leaseDeliveries(calls: CompletionCall[]): Promise<Map<string, Delivery[]>> {
    const rows = calls.flatMap(({ id, c }) => {
      const l = c.leaseDeliveries;
      if (!l) return [];
      return Object.entries(l.hosts)
        .filter(([, n]) => n > 0)
        .map(([host, n]) => ({ job_id: id, host, n, owner: l.owner, lease: c.finishedAt + l.leaseMs, now: c.finishedAt }));
    });
    const out = new Map<string, Delivery[]>();
    if (rows.length === 0) return out;
    for (const row of await this.run<DeliveryRow>('leaseFinishedDeliveries', [JSON.stringify(rows)])) {
      const d = rowToDelivery(row);
      out.set(d.jobId, [...(out.get(d.jobId) ?? []), d]);
    }
    return out;
  }
}
