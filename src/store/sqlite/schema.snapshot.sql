-- SQLite schema at migration 9 (generated: npm run schema:snapshot)

CREATE TABLE deliveries ( id TEXT PRIMARY KEY, job_id TEXT NOT NULL, url TEXT NOT NULL, host TEXT NOT NULL, method TEXT NOT NULL, mode TEXT NOT NULL, secret TEXT, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, round INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER, lease_owner TEXT, lease_token INTEGER NOT NULL DEFAULT 0, lease_expires_at INTEGER, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, last_status INTEGER, last_error TEXT ) STRICT;
CREATE TABLE delivery_attempts ( delivery_id TEXT NOT NULL, n INTEGER NOT NULL, at INTEGER NOT NULL, status INTEGER, latency_ms INTEGER NOT NULL, error TEXT, snippet TEXT, PRIMARY KEY (delivery_id, n) ) STRICT, WITHOUT ROWID;
CREATE VIRTUAL TABLE job_text USING fts5(text, job_id UNINDEXED, tokenize = "unicode61 remove_diacritics 0 categories 'L* N* Co M*'", content = '', contentless_delete = 1, contentless_unindexed = 1, detail = none);
CREATE TABLE 'job_text_config'(k PRIMARY KEY, v) WITHOUT ROWID;
CREATE TABLE 'job_text_content'(id INTEGER PRIMARY KEY, c1);
CREATE TABLE 'job_text_data'(id INTEGER PRIMARY KEY, block BLOB);
CREATE TABLE 'job_text_docsize'(id INTEGER PRIMARY KEY, sz BLOB, origin INTEGER);
CREATE TABLE 'job_text_idx'(segid, term, pgno, PRIMARY KEY(segid, term)) WITHOUT ROWID;
CREATE TABLE jobs ( id TEXT PRIMARY KEY, state TEXT NOT NULL, dialect TEXT NOT NULL, owner TEXT, idempotency_key TEXT, request_hash TEXT NOT NULL, method TEXT NOT NULL, url TEXT NOT NULL, req_headers TEXT NOT NULL, req_body BLOB, options TEXT NOT NULL, retryable INTEGER NOT NULL, max_attempts INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, lease_owner TEXT, lease_token INTEGER NOT NULL DEFAULT 0, lease_expires_at INTEGER, run_at INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, finished_at INTEGER, expires_at INTEGER, version INTEGER NOT NULL DEFAULT 1, progress TEXT, response TEXT, result_token INTEGER, error TEXT , req_body_size INTEGER NOT NULL DEFAULT 0, req_text_rowid INTEGER, res_text_rowid INTEGER, attempt_started_at INTEGER, attempt_log BLOB, progress_log BLOB) STRICT;
CREATE TABLE meta ( key TEXT PRIMARY KEY, value TEXT NOT NULL ) STRICT;
CREATE TABLE request_chunks ( job_id TEXT NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (job_id, seq) ) STRICT, WITHOUT ROWID;
CREATE TABLE result_chunks ( job_id TEXT NOT NULL, lease_token INTEGER NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (job_id, lease_token, seq) ) STRICT, WITHOUT ROWID;
CREATE TABLE tombstones ( id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL , owner TEXT DEFAULT '') STRICT, WITHOUT ROWID;
CREATE INDEX deliveries_failed ON deliveries (updated_at) WHERE state = 'failed';
CREATE INDEX deliveries_host_due ON deliveries (host, round > 0, next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_job ON deliveries (job_id);
CREATE INDEX deliveries_leases ON deliveries (lease_expires_at) WHERE state = 'delivering';
CREATE INDEX jobs_created ON jobs (created_at);
CREATE INDEX jobs_expiry ON jobs (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX jobs_finished ON jobs (state, finished_at) WHERE finished_at IS NOT NULL;
CREATE UNIQUE INDEX jobs_idempotency ON jobs (coalesce(owner, ''), idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_idempotency_key ON jobs (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_leases ON jobs (lease_expires_at) WHERE state = 'running';
CREATE INDEX jobs_ready ON jobs (run_at) WHERE state = 'queued';
CREATE INDEX request_chunks_age ON request_chunks (created_at);
CREATE INDEX tombstones_expiry ON tombstones (expires_at);
