import type pg from 'pg';
import type { Job, NewJob } from '../../model.js';
import type { Completion, InsertOutcome } from '../port.js';
import { callbackColumns, newJobState, rowToJob, type JobRow } from '../rows.js';
import { Batcher } from './batcher.js';
import type { StatementName } from './sql.js';

/** Run a named statement (with the store's retries on lost connections). */
export type RunStatement = <R extends pg.QueryResultRow>(name: StatementName, values: unknown[]) => Promise<R[]>;

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
  private readonly inserts = new Batcher<NewJob, InsertOutcome>((jobs) => this.insertMany(jobs));
  private readonly completions = new Batcher<CompletionCall, Job | null>((calls) => this.completeMany(calls));

  constructor(private readonly run: RunStatement) {}

  insert(job: NewJob): Promise<InsertOutcome> {
    return this.inserts.run(job);
  }

  complete(call: CompletionCall): Promise<Job | null> {
    return this.completions.run(call);
  }

  private async insertMany(jobs: NewJob[]): Promise<InsertOutcome[]> {
    const rows = jobs.map((job) => ({
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
    }));
    const inserted = new Set((await this.run<{ id: string }>('insertJobs', [JSON.stringify(rows)])).map((r) => r.id));
    return Promise.all(jobs.map((job) => (inserted.has(job.id) ? { job: newJobState(job), created: true } : this.existing(job))));
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

  private async completeMany(calls: CompletionCall[]): Promise<Array<Job | null>> {
    const rows = calls.map(({ id, leaseToken, c, retentionMs }) => ({
      id,
      token: leaseToken,
      state: c.state,
      response: c.response ? JSON.stringify(c.response) : null,
      error: c.error ? JSON.stringify(c.error) : null,
      finished_at: c.finishedAt,
      expires_at: c.finishedAt + retentionMs,
      body: c.body && c.body.byteLength > 0 ? Buffer.from(c.body).toString('base64') : null,
    }));
    const done = new Map((await this.run<JobRow>('completeJobs', [JSON.stringify(rows)])).map((r) => [r.id, rowToJob(r)]));
    return calls.map((call) => done.get(call.id) ?? null);
  }
}
