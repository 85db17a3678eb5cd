/**
 * Every statement the PostgreSQL store runs, by name: each is prepared once per connection (pg's named
 * statements). Each store operation is one statement, so it is its own transaction and costs one round trip;
 * deliveries due on a terminal transition and wake-ups are done by the triggers in schema.ts.
 */
import { logAttempt, logProgress } from './history-sql.js';
import { MESSAGING_SQL } from './messaging-sql.js';

export const SQL = {
  // The inserts made in one event-loop turn, as one statement (see batcher.ts; a lone insert is a batch of one).
  // Bodies travel as base64.
  insertJobs: `WITH input AS (
      SELECT * FROM json_to_recordset($1::json) AS x(id text, dialect text, owner text, idempotency_key text,
        request_hash text, method text, url text, req_headers text, req_body text, options text, retryable boolean,
        max_attempts integer, retention_ms bigint, run_at bigint, created_at bigint, req_body_size bigint, callbacks json,
        state text, attempts integer, lease_owner text, lease_token integer, lease_expires_at bigint, search_words text,
        grp text)),
    j AS (
      INSERT INTO jobs (id, state, dialect, owner, idempotency_key, request_hash, method, url, req_headers, req_body,
        options, retryable, max_attempts, retention_ms, run_at, created_at, updated_at, req_body_size,
        attempts, lease_owner, lease_token, lease_expires_at, attempt_started_at, grp)
      SELECT id, state, dialect, owner, idempotency_key, request_hash, method, url, req_headers,
        decode(req_body, 'base64'), options, retryable, max_attempts, retention_ms, run_at, created_at, created_at,
        req_body_size, attempts, lease_owner, lease_token, lease_expires_at, CASE WHEN state = 'running' THEN created_at END, grp
      FROM input ON CONFLICT DO NOTHING RETURNING id, created_at),
    d AS (
      INSERT INTO deliveries (id, job_id, url, host, method, mode, secret, state, created_at, updated_at)
      SELECT c.id, j.id, c.url, c.host, c.method, c.mode, c.secret, 'waiting', j.created_at, j.created_at
      FROM j JOIN input ON input.id = j.id,
        json_to_recordset(input.callbacks) AS c(id text, url text, host text, method text, mode text, secret text)),
    words AS (
      INSERT INTO job_search (job_id, request)
      SELECT j.id, to_tsvector('simple', input.search_words) FROM j JOIN input ON input.id = j.id
      WHERE input.search_words IS NOT NULL)
    SELECT id FROM j`,
  byIdempotencyKey: `SELECT * FROM jobs WHERE coalesce(owner, '') = $1 AND idempotency_key = $2`,
  getJob: `SELECT * FROM jobs WHERE id = $1`,
  history: `SELECT attempt_log, progress_log, attempt_started_at, lease_token, state, finished_at, response, error
    FROM jobs WHERE id = $1`,
  tombstone: `SELECT owner FROM tombstones WHERE id = $1 AND expires_at > $2`,
  countQueued: `SELECT count(*)::int AS n FROM jobs WHERE state = 'queued'`,
  // Ungrouped due jobs, and grouped ones within their group's bounds: a function (migration 10), one round trip.
  claimJobs: `SELECT * FROM asyncgate_claim_jobs($1, $2, $3, $4)`,
  // Only the attempts still running in the owner's process ($3): one that ended unrecorded must lapse.
  renewJobs: `UPDATE jobs SET lease_expires_at = $1 WHERE id = ANY($3::text[]) AND state = 'running' AND lease_owner = $2`,
  renewDeliveries: `UPDATE deliveries SET lease_expires_at = $1 WHERE state = 'delivering' AND lease_owner = $2`,
  // Hand back leases ($3 = 'expired' rescues lapsed leases, else releases those $2 holds): requeue what may be
  // retried, fail the rest as interrupted (the trigger makes their deliveries due).
  handBack: `WITH held AS (
      SELECT id, (retryable AND attempts < max_attempts) OR (options::jsonb ? 'upstreamMonitor') AS again FROM jobs
      WHERE state = 'running' AND CASE WHEN $3 = 'expired' THEN lease_expires_at < $1 ELSE lease_owner = $2 END
      ORDER BY lease_expires_at LIMIT $4 FOR UPDATE SKIP LOCKED),
    requeued AS (
      UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL, run_at = $1, updated_at = $1,
        version = version + 1, ${logAttempt('$1::bigint', `'requeued'`, 'NULL::int', `($5::text)::jsonb ->> 'code'`)}
      FROM held WHERE jobs.id = held.id AND held.again RETURNING jobs.id),
    failed AS (
      UPDATE jobs SET state = 'failed', lease_owner = NULL, lease_expires_at = NULL, error = $5, finished_at = $1,
        updated_at = $1, version = version + 1, expires_at = $1 + retention_ms
      FROM held WHERE jobs.id = held.id AND NOT held.again RETURNING jobs.id)
    SELECT 'requeued' AS outcome, id FROM requeued UNION ALL SELECT 'failed', id FROM failed`,
  rescueDeliveries: `UPDATE deliveries SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL,
      next_attempt_at = $1, updated_at = $1 WHERE state = 'delivering' AND lease_expires_at < $1`,
  releaseDeliveries: `UPDATE deliveries SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL,
      next_attempt_at = $2, updated_at = $2 WHERE state = 'delivering' AND lease_owner = $1`,
  appendChunk: `INSERT INTO result_chunks (job_id, lease_token, seq, data)
      SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM jobs WHERE id = $1 AND lease_token = $2 AND state = 'running')
      ON CONFLICT (job_id, lease_token, seq) DO UPDATE SET data = excluded.data
      RETURNING 1`,
  // The completions made in one event-loop turn, as one statement, each fenced by its lease token.
  completeJobs: `WITH input AS (
      SELECT * FROM json_to_recordset($1::json) AS x(id text, token integer, state text, response text, error text,
        finished_at bigint, expires_at bigint, body text, search_words text)),
    c AS (
      UPDATE jobs SET state = input.state, response = input.response, error = input.error, result_token = input.token,
        lease_owner = NULL, lease_expires_at = NULL, finished_at = input.finished_at, updated_at = input.finished_at,
        expires_at = input.expires_at, version = jobs.version + 1
      FROM input WHERE jobs.id = input.id AND jobs.lease_token = input.token AND jobs.state = 'running'
      RETURNING jobs.*),
    body AS (
      INSERT INTO result_chunks (job_id, lease_token, seq, data)
      SELECT c.id, c.lease_token, 0, decode(input.body, 'base64') FROM c JOIN input ON input.id = c.id
      WHERE input.body IS NOT NULL
      ON CONFLICT (job_id, lease_token, seq) DO UPDATE SET data = excluded.data),
    stale AS (DELETE FROM result_chunks r USING c WHERE r.job_id = c.id AND r.lease_token <> c.lease_token),
    words AS (
      INSERT INTO job_search (job_id, response)
      SELECT c.id, to_tsvector('simple', input.search_words) FROM c JOIN input ON input.id = c.id
      WHERE input.search_words IS NOT NULL
      ON CONFLICT (job_id) DO UPDATE SET response = excluded.response)
    SELECT * FROM c`,
  // The callbacks of jobs just finished (the trigger made them due), taken by the finishing process: at most n
  // per (job, host), the slots it has free there (DeliveryLease).
  leaseFinishedDeliveries: `WITH input AS (
      SELECT * FROM json_to_recordset($1::json) AS x(job_id text, host text, n integer, owner text, lease bigint, now bigint)),
    picked AS (
      SELECT d.id, input.owner, input.lease, input.now FROM input CROSS JOIN LATERAL (
        SELECT id FROM deliveries WHERE job_id = input.job_id AND host = input.host AND state = 'pending'
        ORDER BY id LIMIT input.n FOR UPDATE SKIP LOCKED) d)
    UPDATE deliveries SET state = 'delivering', lease_owner = picked.owner, lease_token = deliveries.lease_token + 1,
      lease_expires_at = picked.lease, next_attempt_at = picked.now, updated_at = picked.now
    FROM picked WHERE deliveries.id = picked.id RETURNING deliveries.*`,
  requeueJob: `WITH r AS (
      UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL, run_at = $3, updated_at = $4,
        version = version + 1, ${logAttempt('$4::bigint', `'requeued'`, '$5::int', '$6::text')}
      WHERE id = $1 AND lease_token = $2 AND state = 'running' RETURNING id),
    gone AS (DELETE FROM result_chunks WHERE job_id = (SELECT id FROM r) AND lease_token = $2)
    SELECT id FROM r`,
  progress: `UPDATE jobs SET progress = $1, updated_at = $2, version = version + 1, ${logProgress('$1::text', '$2::bigint')}
      WHERE id = $3 AND state IN ('queued', 'running') RETURNING *`,
  cancel: `UPDATE jobs SET state = 'canceled', error = $3, lease_owner = NULL, lease_expires_at = NULL,
      finished_at = $2, updated_at = $2, expires_at = $2 + $4::bigint, version = version + 1
    WHERE id = $1 AND state IN ('queued', 'running') RETURNING *`,
  deleteJob: `WITH d AS (DELETE FROM jobs WHERE id = $1 RETURNING id, owner),
    body AS (DELETE FROM request_chunks WHERE job_id IN (SELECT id FROM d)),
    t AS (INSERT INTO tombstones (id, owner, expires_at) SELECT id, owner, $2 FROM d
      ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at)
    SELECT count(*)::int AS n FROM d`,
  getMeta: `SELECT value FROM meta WHERE key = $1`,
  setMeta: `INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`,
  replaceMeta: `INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
  deleteMeta: `DELETE FROM meta WHERE key = $1`,
  // An upstream operation being followed (JobOptions.upstreamMonitor): resuming its polling is safe for any method.
  setUpstreamMonitor: `UPDATE jobs SET options = (options::jsonb || jsonb_build_object('upstreamMonitor', $3::jsonb))::text
    WHERE id = $1 AND lease_token = $2 AND state = 'running'`,
  // Web Push subscriptions (migration 8, push-subscriptions.ts): the same owner's subscription of an endpoint
  // replaces the one before; IS NOT DISTINCT FROM matches the anonymous owner (null) too.
  addPushSubscription: `WITH old AS (
      DELETE FROM push_subscriptions WHERE owner IS NOT DISTINCT FROM $2 AND endpoint = $3)
    INSERT INTO push_subscriptions (id, owner, endpoint, p256dh, auth, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
  pushSubscriptionsOf: `SELECT * FROM push_subscriptions WHERE owner IS NOT DISTINCT FROM $1 ORDER BY created_at, id`,
  deletePushSubscription: `DELETE FROM push_subscriptions WHERE id = $1 AND owner IS NOT DISTINCT FROM $2 RETURNING id`,
  resultToken: `SELECT result_token FROM jobs WHERE id = $1`,
  chunks: `SELECT seq, data FROM result_chunks WHERE job_id = $1 AND lease_token = $2 AND seq >= $3 ORDER BY seq LIMIT $4`,
  // octet_length of a TOASTed bytea reads its header, not the value: sizing a range costs no body reads.
  chunkSizes: `SELECT seq, octet_length(data) AS len FROM result_chunks WHERE job_id = $1 AND lease_token = $2 ORDER BY seq`,
  insertRequestChunk: `INSERT INTO request_chunks (job_id, seq, data, created_at) VALUES ($1, $2, $3, $4)
      ON CONFLICT (job_id, seq) DO UPDATE SET data = excluded.data`,
  requestChunks: `SELECT seq, data FROM request_chunks WHERE job_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3`,
  // Jobs with a callback still owed are kept past their expiry: a dead letter needs its result. Chunks,
  // deliveries and attempts go with the job (ON DELETE CASCADE).
  sweep: `WITH expired AS (
      SELECT id FROM jobs WHERE expires_at IS NOT NULL AND expires_at <= $1
        AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.job_id = jobs.id AND d.state IN ('waiting', 'pending', 'delivering'))
      LIMIT $2 FOR UPDATE SKIP LOCKED),
    gone AS (DELETE FROM jobs USING expired WHERE jobs.id = expired.id RETURNING jobs.id, jobs.owner),
    stones AS (INSERT INTO tombstones (id, owner, expires_at) SELECT id, owner, $3 FROM gone
      ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at),
    purged AS (DELETE FROM tombstones WHERE id IN (SELECT id FROM tombstones WHERE expires_at <= $1 LIMIT $2)),
    bodies AS (DELETE FROM request_chunks WHERE job_id IN (SELECT id FROM gone)),
    orphans AS (DELETE FROM request_chunks WHERE (job_id, seq) IN (
      SELECT job_id, seq FROM request_chunks r WHERE created_at < $4
        AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.id = r.job_id) LIMIT $2))
    SELECT count(*)::int AS n FROM gone`,
  // FOR SHARE: a completion committing meanwhile is waited for, so the callback is made due or left waiting
  // for the trigger — never stranded.
  addCallback: `WITH j AS (SELECT id, state FROM jobs WHERE id = $2 FOR SHARE)
    INSERT INTO deliveries (id, job_id, url, host, method, mode, secret, state, next_attempt_at, created_at, updated_at)
    SELECT $1, j.id, $3, $4, $5, $6, $7,
      CASE WHEN j.state IN ('queued', 'running') THEN 'waiting' ELSE 'pending' END,
      CASE WHEN j.state IN ('queued', 'running') THEN NULL ELSE $8::bigint END, $8, $8
    FROM j RETURNING *`,
  // Fair claim: walk the distinct hosts with due work (a skip scan over deliveries_host_due), take at most
  // what each host may still run here, first attempts before retries, then the best `limit` overall.
  claimDeliveries: `WITH RECURSIVE hosts(host) AS (
      (SELECT host FROM deliveries WHERE state = 'pending' ORDER BY host LIMIT 1)
      UNION ALL
      SELECT (SELECT d.host FROM deliveries d WHERE d.state = 'pending' AND d.host > hosts.host ORDER BY d.host LIMIT 1)
      FROM hosts WHERE hosts.host IS NOT NULL),
    due AS (
      SELECT c.id, c.round, c.next_attempt_at FROM hosts CROSS JOIN LATERAL (
        SELECT id, round, next_attempt_at FROM deliveries d
        WHERE d.state = 'pending' AND d.host = hosts.host AND d.next_attempt_at <= $3
        ORDER BY round, next_attempt_at
        LIMIT greatest(0, $5::int - coalesce(($6::jsonb ->> hosts.host)::int, 0))
        FOR UPDATE SKIP LOCKED) c
      WHERE hosts.host IS NOT NULL),
    picked AS (SELECT id FROM due ORDER BY round, next_attempt_at LIMIT $2)
    UPDATE deliveries SET state = 'delivering', lease_owner = $1, lease_token = lease_token + 1, lease_expires_at = $4,
      updated_at = $3
    FROM picked WHERE deliveries.id = picked.id RETURNING deliveries.*`,
  recordAttempt: `WITH r AS (
      UPDATE deliveries SET state = $3, attempts = attempts + 1, round = round + 1, next_attempt_at = $4,
        lease_owner = NULL, lease_expires_at = NULL, updated_at = $5, last_status = $6, last_error = $7
      WHERE id = $1 AND lease_token = $2 AND state = 'delivering' RETURNING id, attempts)
    INSERT INTO delivery_attempts (delivery_id, n, at, status, latency_ms, error, snippet)
    SELECT id, attempts, $5, $6, $8, $7, $9 FROM r RETURNING n`,
  getDelivery: `SELECT * FROM deliveries WHERE id = $1`,
  attempts: `SELECT * FROM delivery_attempts WHERE delivery_id = $1 ORDER BY n`,
  redeliver: `UPDATE deliveries SET state = 'pending', round = 0, next_attempt_at = $2, updated_at = $2
      WHERE id = $1 AND state IN ('delivered', 'failed', 'gone')`,
  redeliverFailed: `UPDATE deliveries SET state = 'pending', round = 0, next_attempt_at = $2, updated_at = $2
      WHERE id IN (SELECT id FROM deliveries WHERE state = 'failed' AND updated_at >= $1
        AND ($3::text IS NULL OR host = $3) ORDER BY updated_at LIMIT $4 FOR UPDATE SKIP LOCKED)`,
  // URL groups and schedules (messaging.ts).
  ...MESSAGING_SQL,
} as const;

export type StatementName = keyof typeof SQL;
