import { respelledCodes } from '../respelled-codes.js';

/**
 * Numbered migrations for the SQLite backend. A migration is never edited once released: add a new one.
 * `PRAGMA user_version` records how many have been applied.
 */
export const SQLITE_MIGRATIONS: readonly string[] = [
  /* 1 */ `
  CREATE TABLE jobs (
    id               TEXT PRIMARY KEY,
    state            TEXT NOT NULL,
    dialect          TEXT NOT NULL,
    owner            TEXT,
    idempotency_key  TEXT,
    request_hash     TEXT NOT NULL,
    method           TEXT NOT NULL,
    url              TEXT NOT NULL,
    req_headers      TEXT NOT NULL,
    req_body         BLOB,
    options          TEXT NOT NULL,
    retryable        INTEGER NOT NULL,
    max_attempts     INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_token      INTEGER NOT NULL DEFAULT 0,
    lease_expires_at INTEGER,
    run_at           INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    finished_at      INTEGER,
    expires_at       INTEGER,
    version          INTEGER NOT NULL DEFAULT 1,
    progress         TEXT,
    response         TEXT,
    result_token     INTEGER,
    error            TEXT
  ) STRICT;
  CREATE UNIQUE INDEX jobs_idempotency ON jobs (coalesce(owner, ''), idempotency_key) WHERE idempotency_key IS NOT NULL;
  CREATE INDEX jobs_ready ON jobs (run_at) WHERE state = 'queued';
  CREATE INDEX jobs_leases ON jobs (lease_expires_at) WHERE state = 'running';
  CREATE INDEX jobs_lease_owner ON jobs (lease_owner) WHERE state = 'running';
  CREATE INDEX jobs_expiry ON jobs (expires_at) WHERE expires_at IS NOT NULL;

  CREATE TABLE result_chunks (
    job_id      TEXT NOT NULL,
    lease_token INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    data        BLOB NOT NULL,
    PRIMARY KEY (job_id, lease_token, seq)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE tombstones (
    id         TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX tombstones_expiry ON tombstones (expires_at);

  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) STRICT;
  `,
  /* 2: callbacks */ `
  CREATE TABLE deliveries (
    id               TEXT PRIMARY KEY,
    job_id           TEXT NOT NULL,
    url              TEXT NOT NULL,
    host             TEXT NOT NULL,
    method           TEXT NOT NULL,
    mode             TEXT NOT NULL,
    secret           TEXT,
    state            TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    round            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER,
    lease_owner      TEXT,
    lease_token      INTEGER NOT NULL DEFAULT 0,
    lease_expires_at INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    last_status      INTEGER,
    last_error       TEXT
  ) STRICT;
  CREATE INDEX deliveries_job ON deliveries (job_id);
  CREATE INDEX deliveries_due ON deliveries (round, next_attempt_at) WHERE state = 'pending';
  CREATE INDEX deliveries_leases ON deliveries (lease_expires_at) WHERE state = 'delivering';
  CREATE INDEX deliveries_state ON deliveries (state, updated_at);

  CREATE TABLE delivery_attempts (
    delivery_id TEXT NOT NULL,
    n           INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    status      INTEGER,
    latency_ms  INTEGER NOT NULL,
    error       TEXT,
    snippet     TEXT,
    PRIMARY KEY (delivery_id, n)
  ) STRICT, WITHOUT ROWID;
  `,
  /* 3: delivery claims that do not scan the backlog (see delivery-claim.ts); fewer index writes per job */ `
  CREATE INDEX deliveries_host_due ON deliveries (host, round > 0, next_attempt_at) WHERE state = 'pending';
  DROP INDEX deliveries_due;
  -- Every state change rewrote these entries. Dead letters are the only rows looked up by state and time;
  -- leases are found through the lease-expiry indexes (a scan of the running/delivering rows only).
  DROP INDEX deliveries_state;
  CREATE INDEX deliveries_failed ON deliveries (updated_at) WHERE state = 'failed';
  DROP INDEX jobs_lease_owner;
  `,
  /* 4: large request bodies in pieces */ `
  CREATE TABLE request_chunks (
    job_id     TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    data       BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (job_id, seq)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX request_chunks_age ON request_chunks (created_at);
  ALTER TABLE jobs ADD COLUMN req_body_size INTEGER NOT NULL DEFAULT 0;
  `,
  /* 5: job error codes spelled like every other code (UpstreamTimeout → upstream-timeout); data only */ `
  UPDATE jobs SET error = json_set(error, '$.code', ${respelledCodes("json_extract(error, '$.code')").newCode})
  WHERE error IS NOT NULL AND json_extract(error, '$.code') IN (${respelledCodes("").oldCodes});
  `,
  /* 6: the owner kept with the tombstone, so only the job's owner learns it is gone (410); everyone else gets
     404. Tombstones from before, and any an older process still writes, get '': an owner no caller matches. */ `
  ALTER TABLE tombstones ADD COLUMN owner TEXT DEFAULT '';
  `,
  /* 7: the operator console's search. job_text holds the words of each job's request body and response body
     (one row each), as search-text.ts cuts them: contentless (the text is not stored twice), so an insert
     costs the index entries and the job's id. The id (UNINDEXED, kept by contentless_unindexed) is what a
     search joins on, and the job keeps the rowids of its two rows (req_text_rowid, res_text_rowid) to delete
     them: nothing depends on the jobs table's implicit rowid, which a VACUUM may renumber. An exact
     Idempotency-Key is found by its own index. The list filters (state, method, path, time, error) need no
     index: newest first walks the primary key, and even a filter that matches nothing reads 100,000 jobs in
     under 100 ms. */ `
  CREATE VIRTUAL TABLE job_text USING fts5(text, job_id UNINDEXED,
    tokenize = "unicode61 remove_diacritics 0 categories 'L* N* Co M*'",
    content = '', contentless_delete = 1, contentless_unindexed = 1, detail = none);
  ALTER TABLE jobs ADD COLUMN req_text_rowid INTEGER;
  ALTER TABLE jobs ADD COLUMN res_text_rowid INTEGER;
  CREATE INDEX jobs_idempotency_key ON jobs (idempotency_key) WHERE idempotency_key IS NOT NULL;
  `,
  /* 8: the console's overview without reading every job: accepted and finished per minute are range scans of
     the last hour, and the count of finished jobs by state reads this small index instead of the table
     (queued and running are counted in their partial indexes, jobs_ready and jobs_leases). Both entries are
     appended at the right edge (times only grow), so an accept or a completion adds one cheap index write. */ `
  CREATE INDEX jobs_created ON jobs (created_at);
  CREATE INDEX jobs_finished ON jobs (state, finished_at) WHERE finished_at IS NOT NULL;
  `,
  /* 9: the console's timeline (see history.ts): when the current attempt started (its end is the job's), the
     attempts before it that ended without ending the job (requeued) and the last progress reports, as JSON
     arrays in SQLite's binary form (JSONB). Jobs from before have none: their timeline shows what the job
     row alone tells. */ `
  ALTER TABLE jobs ADD COLUMN attempt_started_at INTEGER;
  ALTER TABLE jobs ADD COLUMN attempt_log BLOB;
  ALTER TABLE jobs ADD COLUMN progress_log BLOB;
  `,
  /* 10: Web Push subscriptions (docs/push.md), looked up by owner when a job asking for a push finishes. */ `
  CREATE TABLE push_subscriptions (
    id         TEXT PRIMARY KEY,
    owner      TEXT,
    endpoint   TEXT NOT NULL,
    p256dh     TEXT NOT NULL,
    auth       TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX push_subscriptions_owner ON push_subscriptions (owner, created_at);
  `,
  /* 11: the QStash-compatible API's URL groups and schedules (docs/qstash.md, messaging.ts). A group is found
     by its owner and name in the unique index (coalesce: the anonymous owner's names are unique too); the due
     schedules, soonest first, in a partial index of the running ones. */ `
  CREATE TABLE url_groups (
    owner      TEXT,
    name       TEXT NOT NULL,
    endpoints  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT;
  CREATE UNIQUE INDEX url_groups_name ON url_groups (coalesce(owner, ''), name);

  CREATE TABLE schedules (
    id               TEXT PRIMARY KEY,
    owner            TEXT,
    cron             TEXT NOT NULL,
    destination      TEXT NOT NULL,
    headers          TEXT NOT NULL,
    body             BLOB,
    paused           INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    next_at          INTEGER NOT NULL,
    last_at          INTEGER,
    last_message_ids TEXT NOT NULL
  ) STRICT;
  CREATE INDEX schedules_due ON schedules (next_at) WHERE NOT paused;
  CREATE INDEX schedules_owner ON schedules (owner, created_at);
  `,
  /* 12: job groups (JobGroup in port.ts: QStash queues and flow-control keys). A grouped job keeps its group's
     key in grp, and the queue is split in two: jobs_ready holds only the ungrouped queued jobs, so the ordinary
     claim never walks over a group's backlog, and a group's queued jobs are found by (grp, run_at) in
     jobs_group_due (its due ones, and the distinct groups by a skip scan); jobs_group finds a group's running
     jobs and its queued ones in acceptance order (grp, state, id; finished ones stay, in their own states). Counting the queued jobs reads both
     (queued-sql.ts). job_groups holds a group's bounds and the window of its rate (window_start, and the
     claims made in it); a group without a record runs as { parallelism: 1, fifo: true }. */ `
  ALTER TABLE jobs ADD COLUMN grp TEXT;
  DROP INDEX IF EXISTS jobs_ready;
  CREATE INDEX jobs_ready ON jobs (run_at) WHERE state = 'queued' AND grp IS NULL;
  CREATE INDEX jobs_group_due ON jobs (grp, run_at) WHERE state = 'queued' AND grp IS NOT NULL;
  CREATE INDEX jobs_group ON jobs (grp, state, id) WHERE grp IS NOT NULL;
  CREATE TABLE job_groups (
    key          TEXT PRIMARY KEY,
    parallelism  INTEGER NOT NULL,
    fifo         INTEGER NOT NULL,
    rate         INTEGER,
    period_ms    INTEGER,
    paused       INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    window_start INTEGER,
    window_count INTEGER NOT NULL DEFAULT 0
  ) STRICT, WITHOUT ROWID;
  `,
];
