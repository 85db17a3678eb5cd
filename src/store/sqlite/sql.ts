/**
 * Every statement the SQLite store runs, by name; `prepareAll` prepares them once per connection. Keeping the
 * SQL here keeps the store itself to what each operation means.
 */
import type Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import { HISTORY_COLUMNS, LOG_PROGRESS, logAttempt } from './history-sql.js';
import { COUNT_QUEUED } from './queued-sql.js';

const SQL = {
  // state 'queued' (until run_at; always, in a group), or 'running' with its first attempt's lease (JobLease: run
  // at once by the accepting process). The columns of both: startColumns (rows.ts).
  insert: `INSERT INTO jobs (id, state, dialect, owner, idempotency_key, request_hash, method, url, req_headers,
      req_body, req_body_size, options, retryable, max_attempts, run_at, created_at, updated_at,
      attempts, lease_owner, lease_token, lease_expires_at, req_text_rowid, attempt_started_at, grp)
    VALUES (@id, @state, @dialect, @owner, @idempotency_key, @request_hash, @method, @url, @req_headers,
      @req_body, @req_body_size, @options, @retryable, @max_attempts, @run_at, @now, @now,
      @attempts, @lease_owner, @lease_token, @lease_expires_at, @req_text_rowid, CASE WHEN @state = 'running' THEN @now END, @grp)`,
  byIdempotencyKey: `SELECT * FROM jobs WHERE coalesce(owner, '') = ? AND idempotency_key = ?`,
  get: `SELECT * FROM jobs WHERE id = ?`,
  tombstone: `SELECT owner FROM tombstones WHERE id = ? AND expires_at > ?`,
  countQueued: COUNT_QUEUED,
  // The claim: group-claim.ts.
  // One job at a time (by primary key): only the attempts still running in the owner's process are renewed.
  renew: `UPDATE jobs SET lease_expires_at = ? WHERE id = ? AND state = 'running' AND lease_owner = ?`,
  expiredLeases: `SELECT id FROM jobs WHERE state = 'running' AND lease_expires_at < ? LIMIT ?`,
  ownedLeases: `SELECT id FROM jobs WHERE state = 'running' AND lease_owner = ?`,
  requeueRescued: `UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL,
      run_at = @now, updated_at = @now, version = version + 1, ${logAttempt('@now', `'requeued'`, 'NULL', `@error ->> '$.code'`)}
    WHERE id = @id AND state = 'running'
      AND (retryable = 1 AND attempts < max_attempts OR json_extract(options, '$.upstreamMonitor') IS NOT NULL)`,
  // An upstream operation being followed (JobOptions.upstreamMonitor): resuming its polling is safe for any method.
  setUpstreamMonitor: `UPDATE jobs SET options = json_set(options, '$.upstreamMonitor', json(@monitor))
    WHERE id = @id AND lease_token = @token AND state = 'running'`,
  failRescued: `UPDATE jobs SET state = 'failed', lease_owner = NULL, lease_expires_at = NULL, error = @error,
      finished_at = @now, updated_at = @now, version = version + 1,
      expires_at = @now + json_extract(options, '$.retentionMs')
    WHERE id = @id AND state = 'running'`,
  holdsLease: `SELECT 1 FROM jobs WHERE id = ? AND lease_token = ? AND state = 'running'`,
  insertChunk: `INSERT OR REPLACE INTO result_chunks (job_id, lease_token, seq, data) VALUES (?, ?, ?, ?)`,
  deleteStaleChunks: `DELETE FROM result_chunks WHERE job_id = ? AND lease_token <> ?`,
  deleteChunksOfToken: `DELETE FROM result_chunks WHERE job_id = ? AND lease_token = ?`,
  deleteChunks: `DELETE FROM result_chunks WHERE job_id = ?`,
  complete: `UPDATE jobs SET state = @state, response = @response, error = @error, result_token = @token,
      lease_owner = NULL, lease_expires_at = NULL, finished_at = @now, updated_at = @now,
      expires_at = @expires, version = version + 1
    WHERE id = @id AND lease_token = @token AND state = 'running' RETURNING *`,
  // The same, returning only what can change after insert: the rest comes from the caller's copy of the job
  // (Completion.job). Reading back the request (headers, body) cost about half of a completion.
  completeReturningState: `UPDATE jobs SET state = @state, response = @response, error = @error, result_token = @token,
      lease_owner = NULL, lease_expires_at = NULL, finished_at = @now, updated_at = @now,
      expires_at = @expires, version = version + 1
    WHERE id = @id AND lease_token = @token AND state = 'running'
    RETURNING state, attempts, lease_owner, lease_token, lease_expires_at, run_at, updated_at, finished_at, expires_at,
      version, progress, response, error`,
  requeue: `UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL, run_at = @runAt,
      updated_at = @now, version = version + 1, ${logAttempt('@now', `'requeued'`, '@status', '@code')}
    WHERE id = @id AND lease_token = @token AND state = 'running'`,
  progress: `UPDATE jobs SET progress = @progress, updated_at = @now, version = version + 1, ${LOG_PROGRESS}
    WHERE id = @id AND state IN ('queued', 'running') RETURNING *`,
  cancel: `UPDATE jobs SET state = 'canceled', error = @error, lease_owner = NULL, lease_expires_at = NULL,
      finished_at = @now, updated_at = @now, expires_at = @expires, version = version + 1
    WHERE id = @id AND state IN ('queued', 'running') RETURNING *`,
  deleteJob: `DELETE FROM jobs WHERE id = ? RETURNING owner, req_text_rowid AS req, res_text_rowid AS res`,
  // The console's search index (migration 7): a row per text, its rowid chosen by FTS5 and kept by the job.
  insertText: `INSERT INTO job_text (text, job_id) VALUES (?, ?)`,
  setResponseText: `UPDATE jobs SET res_text_rowid = ? WHERE id = ?`,
  deleteText: `DELETE FROM job_text WHERE rowid IN (@req, @res)`,
  getMeta: `SELECT value FROM meta WHERE key = ?`,
  setMeta: `INSERT INTO meta (key, value) VALUES (?, ?)`,
  replaceMeta: `INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)`,
  deleteMeta: `DELETE FROM meta WHERE key = ?`,
  insertTombstone: `INSERT OR REPLACE INTO tombstones (id, owner, expires_at) VALUES (?, ?, ?)`,
  resultToken: `SELECT result_token FROM jobs WHERE id = ?`,
  chunks: `SELECT seq, data FROM result_chunks WHERE job_id = ? AND lease_token = ? AND seq >= ?
    ORDER BY seq LIMIT ?`,
  // length() of a BLOB reads its header, not its pages: sizing a range costs no body reads.
  chunkSizes: `SELECT seq, length(data) AS len FROM result_chunks WHERE job_id = ? AND lease_token = ? ORDER BY seq`,
  insertRequestChunk: `INSERT OR REPLACE INTO request_chunks (job_id, seq, data, created_at) VALUES (?, ?, ?, ?)`,
  requestChunks: `SELECT seq, data FROM request_chunks WHERE job_id = ? AND seq >= ? ORDER BY seq LIMIT ?`,
  deleteRequestChunks: `DELETE FROM request_chunks WHERE job_id = ?`,
  purgeOrphanRequestChunks: `DELETE FROM request_chunks WHERE (job_id, seq) IN (
    SELECT job_id, seq FROM request_chunks WHERE created_at < ?
      AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.id = request_chunks.job_id) LIMIT ?)`,
  // Jobs with a callback still to deliver are kept past their expiry: a dead letter needs its result.
  expired: `SELECT id FROM jobs WHERE expires_at IS NOT NULL AND expires_at <= ?
    AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.job_id = jobs.id AND d.state IN ('waiting', 'pending', 'delivering'))
    LIMIT ?`,
  jobState: `SELECT state FROM jobs WHERE id = ?`,
  callbacksOfJob: `SELECT count(*) AS n FROM deliveries WHERE job_id = ?`,
  insertDelivery: `INSERT INTO deliveries (id, job_id, url, host, method, mode, secret, state, next_attempt_at, created_at, updated_at)
    VALUES (@id, @job, @url, @host, @method, @mode, @secret, @state, @next, @now, @now)`,
  // INDEXED BY: without statistics the planner preferred deliveries_state (since dropped) and scanned every
  // waiting delivery on each completion.
  activateDeliveries: `UPDATE deliveries INDEXED BY deliveries_job SET state = 'pending', next_attempt_at = @now,
      updated_at = @now WHERE job_id = @job AND state = 'waiting'`,
  renewDeliveries: `UPDATE deliveries SET lease_expires_at = ? WHERE state = 'delivering' AND lease_owner = ?`,
  rescueDeliveries: `UPDATE deliveries SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL,
      next_attempt_at = @now, updated_at = @now WHERE state = 'delivering' AND lease_expires_at < @now`,
  releaseDeliveries: `UPDATE deliveries SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL,
      next_attempt_at = @now, updated_at = @now WHERE state = 'delivering' AND lease_owner = @owner`,
  recordAttempt: `UPDATE deliveries SET state = @state, attempts = attempts + 1, round = round + 1,
      next_attempt_at = @next, lease_owner = NULL, lease_expires_at = NULL, updated_at = @now,
      last_status = @status, last_error = @error
    WHERE id = @id AND lease_token = @token AND state = 'delivering' RETURNING attempts`,
  insertAttempt: `INSERT INTO delivery_attempts (delivery_id, n, at, status, latency_ms, error, snippet)
    VALUES (@deliveryId, @n, @at, @status, @latency, @error, @snippet)`,
  history: `SELECT ${HISTORY_COLUMNS} FROM jobs WHERE id = ?`,
  getDelivery: `SELECT * FROM deliveries WHERE id = ?`,
  attempts: `SELECT * FROM delivery_attempts WHERE delivery_id = ? ORDER BY n`,
  redeliver: `UPDATE deliveries SET state = 'pending', round = 0, next_attempt_at = @now, updated_at = @now
    WHERE id = @id AND state IN ('delivered', 'failed', 'gone')`,
  deleteDeliveriesOfJob: `DELETE FROM deliveries WHERE job_id = ?`,
  deleteAttemptsOfJob: `DELETE FROM delivery_attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE job_id = ?)`,
  purgeTombstones: `DELETE FROM tombstones WHERE id IN (SELECT id FROM tombstones WHERE expires_at <= ? LIMIT ?)`,
} as const;

export type Statements = { readonly [K in keyof typeof SQL]: Statement };

/** A table of statements by name, each prepared once on `db` (the store's SQL here, and each part's own). */
export type Prepared<T extends Record<string, string>> = { readonly [K in keyof T]: Statement };

export function prepareEach<T extends Record<string, string>>(db: Database.Database, statements: T): Prepared<T> {
  return Object.fromEntries(Object.entries(statements).map(([name, sql]) => [name, db.prepare(sql)])) as Prepared<T>;
}

export function prepareAll(db: Database.Database): Statements {
  return prepareEach(db, SQL);
}
