import { respelledCodes } from '../respelled-codes.js';

/**
 * Numbered migrations for the PostgreSQL backend. A migration is never edited once released: add a new one.
 * `asyncgate_migrations` records which have been applied; `migrate()` takes an advisory lock so processes
 * starting together apply each one exactly once.
 *
 * Unlike SQLite, PostgreSQL tells other processes what changed: the triggers below `pg_notify` inside the
 * writing transaction, so a notification is sent exactly when (and only if) the change commits.
 */
export const PG_MIGRATIONS: readonly string[] = [
  /* 1 */ `
  CREATE TABLE jobs (
    id               text PRIMARY KEY,
    state            text NOT NULL,
    dialect          text NOT NULL,
    owner            text,
    idempotency_key  text,
    request_hash     text NOT NULL,
    method           text NOT NULL,
    url              text NOT NULL,
    req_headers      text NOT NULL,
    req_body         bytea,
    options          text NOT NULL,
    retryable        boolean NOT NULL,
    max_attempts     integer NOT NULL,
    retention_ms     bigint NOT NULL,
    attempts         integer NOT NULL DEFAULT 0,
    lease_owner      text,
    lease_token      integer NOT NULL DEFAULT 0,
    lease_expires_at bigint,
    run_at           bigint NOT NULL,
    created_at       bigint NOT NULL,
    updated_at       bigint NOT NULL,
    finished_at      bigint,
    expires_at       bigint,
    version          integer NOT NULL DEFAULT 1,
    progress         text,
    response         text,
    result_token     integer,
    error            text
  );
  CREATE UNIQUE INDEX jobs_idempotency ON jobs (coalesce(owner, ''), idempotency_key) WHERE idempotency_key IS NOT NULL;
  CREATE INDEX jobs_ready ON jobs (run_at) WHERE state = 'queued';
  CREATE INDEX jobs_leases ON jobs (lease_expires_at) WHERE state = 'running';
  CREATE INDEX jobs_lease_owner ON jobs (lease_owner) WHERE state = 'running';
  CREATE INDEX jobs_expiry ON jobs (expires_at) WHERE expires_at IS NOT NULL;
  CREATE INDEX jobs_state ON jobs (state, id);

  CREATE TABLE result_chunks (
    job_id      text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    lease_token integer NOT NULL,
    seq         integer NOT NULL,
    data        bytea NOT NULL,
    PRIMARY KEY (job_id, lease_token, seq)
  );

  CREATE TABLE tombstones (
    id         text PRIMARY KEY,
    expires_at bigint NOT NULL
  );
  CREATE INDEX tombstones_expiry ON tombstones (expires_at);

  CREATE TABLE meta (
    key   text PRIMARY KEY,
    value text NOT NULL
  );

  CREATE TABLE deliveries (
    id               text PRIMARY KEY,
    job_id           text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    url              text NOT NULL,
    host             text NOT NULL,
    method           text NOT NULL,
    mode             text NOT NULL,
    secret           text,
    state            text NOT NULL,
    attempts         integer NOT NULL DEFAULT 0,
    round            integer NOT NULL DEFAULT 0,
    next_attempt_at  bigint,
    lease_owner      text,
    lease_token      integer NOT NULL DEFAULT 0,
    lease_expires_at bigint,
    created_at       bigint NOT NULL,
    updated_at       bigint NOT NULL,
    last_status      integer,
    last_error       text
  );
  CREATE INDEX deliveries_job ON deliveries (job_id);
  CREATE INDEX deliveries_host_due ON deliveries (host, round, next_attempt_at) WHERE state = 'pending';
  CREATE INDEX deliveries_leases ON deliveries (lease_expires_at) WHERE state = 'delivering';
  CREATE INDEX deliveries_state ON deliveries (state, updated_at);

  CREATE TABLE delivery_attempts (
    delivery_id text NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    n           integer NOT NULL,
    at          bigint NOT NULL,
    status      integer,
    latency_ms  integer NOT NULL,
    error       text,
    snippet     text,
    PRIMARY KEY (delivery_id, n)
  );

  -- A job reaching a terminal state makes its waiting deliveries due, in the same transaction. A trigger,
  -- not a sibling statement: its query takes a fresh snapshot, so a callback registered concurrently (which
  -- holds the job row FOR SHARE until it commits) is never left waiting.
  CREATE FUNCTION asyncgate_activate_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    UPDATE deliveries SET state = 'pending', next_attempt_at = NEW.updated_at, updated_at = NEW.updated_at
      WHERE job_id = NEW.id AND state = 'waiting';
    RETURN NULL;
  END $$;
  CREATE TRIGGER jobs_activate_deliveries AFTER UPDATE OF state ON jobs FOR EACH ROW
    WHEN (NEW.state IN ('succeeded', 'failed', 'canceled') AND OLD.state IN ('queued', 'running'))
    EXECUTE FUNCTION asyncgate_activate_deliveries();

  -- Wake-ups for other processes. Payloads: 'w' (work may be claimable), 'j <id> <version> <state>' (a job
  -- changed), 'g <id>' (a job was deleted), 'd' (deliveries are due). Identical payloads in one transaction
  -- are folded into one by PostgreSQL, so a batch of inserts costs one 'w'.
  CREATE FUNCTION asyncgate_notify_job() RETURNS trigger LANGUAGE plpgsql AS $$
  DECLARE chan text := 'asyncgate.' || TG_TABLE_SCHEMA;
  BEGIN
    IF TG_OP = 'DELETE' THEN
      PERFORM pg_notify(chan, 'g ' || OLD.id);
      RETURN NULL;
    END IF;
    IF NEW.state = 'queued' AND (TG_OP = 'INSERT' OR OLD.state <> 'queued') THEN
      PERFORM pg_notify(chan, 'w');
    END IF;
    IF TG_OP = 'UPDATE' THEN
      PERFORM pg_notify(chan, 'j ' || NEW.id || ' ' || NEW.version || ' ' || NEW.state);
    END IF;
    RETURN NULL;
  END $$;
  CREATE TRIGGER jobs_notify AFTER INSERT OR UPDATE OF version OR DELETE ON jobs FOR EACH ROW
    EXECUTE FUNCTION asyncgate_notify_job();

  CREATE FUNCTION asyncgate_notify_delivery() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    PERFORM pg_notify('asyncgate.' || TG_TABLE_SCHEMA, 'd');
    RETURN NULL;
  END $$;
  CREATE TRIGGER deliveries_notify AFTER INSERT OR UPDATE OF state ON deliveries FOR EACH ROW
    WHEN (NEW.state = 'pending') EXECUTE FUNCTION asyncgate_notify_delivery();
  `,
  /* 2: large request bodies in pieces (written before their job commits: no foreign key) */ `
  CREATE TABLE request_chunks (
    job_id     text NOT NULL,
    seq        integer NOT NULL,
    data       bytea NOT NULL,
    created_at bigint NOT NULL,
    PRIMARY KEY (job_id, seq)
  );
  CREATE INDEX request_chunks_age ON request_chunks (created_at);
  ALTER TABLE jobs ADD COLUMN req_body_size bigint NOT NULL DEFAULT 0;
  `,
  /* 3: job error codes spelled like every other code (UpstreamTimeout → upstream-timeout); data only */ `
  UPDATE jobs SET error = jsonb_set(error::jsonb, '{code}', to_jsonb(${respelledCodes("error::jsonb->>'code'").newCode}))::text
  WHERE error IS NOT NULL AND error::jsonb->>'code' IN (${respelledCodes("").oldCodes});
  `,
  /* 4: the owner kept with the tombstone, so only the job's owner learns it is gone (410); everyone else gets
     404. Tombstones from before, and any an older process still writes, get '': an owner no caller matches. */ `
  ALTER TABLE tombstones ADD COLUMN owner text DEFAULT '';
  `,
  /* 5: the operator console's search. job_search holds the words of each job's request and response bodies
     (as search-text.ts cuts them) in a table of its own, so the updates of a job's life (claim, progress,
     completion) never rewrite its index entries. An exact Idempotency-Key is found by its own index. */ `
  CREATE TABLE job_search (
    job_id   text PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    request  tsvector,
    response tsvector
  );
  CREATE INDEX job_search_words ON job_search
    USING gin ((coalesce(request, ''::tsvector) || coalesce(response, ''::tsvector)));
  CREATE INDEX jobs_idempotency_key ON jobs (idempotency_key) WHERE idempotency_key IS NOT NULL;
  `,
  /* 6: the console's overview without reading every job: accepted and finished per minute are range scans of
     the last hour (both entries are appended at the right edge: times only grow). */ `
  CREATE INDEX jobs_created ON jobs (created_at);
  CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
  `,
  /* 7: the console's timeline (see history.ts): when the current attempt started (its end is the job's), the
     attempts before it that ended without ending the job (requeued) and the last progress reports, as jsonb
     arrays. Jobs from before have none. */ `
  ALTER TABLE jobs ADD COLUMN attempt_started_at bigint;
  ALTER TABLE jobs ADD COLUMN attempt_log jsonb;
  ALTER TABLE jobs ADD COLUMN progress_log jsonb;
  `,
  /* 8: Web Push subscriptions (docs/push.md), looked up by owner when a job asking for a push finishes. */ `
  CREATE TABLE push_subscriptions (
    id         text PRIMARY KEY,
    owner      text,
    endpoint   text NOT NULL,
    p256dh     text NOT NULL,
    auth       text NOT NULL,
    created_at bigint NOT NULL
  );
  CREATE INDEX push_subscriptions_owner ON push_subscriptions (owner, created_at);
  `,
  /* 9: the QStash-compatible API's URL groups and schedules (docs/qstash.md, messaging.ts). A group is found
     by its owner and name in the unique index (coalesce: the anonymous owner's names are unique too); the due
     schedules, soonest first, in a partial index of the running ones. */ `
  CREATE TABLE url_groups (
    owner      text,
    name       text NOT NULL,
    endpoints  text NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
  );
  CREATE UNIQUE INDEX url_groups_name ON url_groups ((coalesce(owner, '')), name);

  CREATE TABLE schedules (
    id               text PRIMARY KEY,
    owner            text,
    cron             text NOT NULL,
    destination      text NOT NULL,
    headers          text NOT NULL,
    body             bytea,
    paused           boolean NOT NULL,
    created_at       bigint NOT NULL,
    updated_at       bigint NOT NULL,
    next_at          bigint NOT NULL,
    last_at          bigint,
    last_message_ids text NOT NULL
  );
  CREATE INDEX schedules_due ON schedules (next_at) WHERE NOT paused;
  CREATE INDEX schedules_owner ON schedules (owner, created_at);
  `,
  /* 10: job groups (JobGroup in port.ts: QStash queues and flow-control keys), as SQLite's migration 12: grp on
     the job, jobs_ready only the ungrouped queued jobs (the ordinary claim never walks over a group's backlog),
     jobs_group_due a group's queued ones by due time, jobs_group its jobs by state in acceptance order, and
     job_groups the bounds and the rate's window. Written to be applied again over itself.

     The claim becomes a function, so that it stays one round trip and is exact across processes: it takes a
     transaction-level advisory lock per group with a due job (in key order, so two claims never wait on each
     other in a cycle; only claims take them), and each statement after the lock reads a fresh snapshot (READ
     COMMITTED), so it sees what the claim that held the lock before committed. A group's candidates are read
     by index ranges bounded by its parallelism (fifo: the first `parallelism` unfinished jobs by id, its
     running and its queued ones merged; otherwise its due ones by run_at); they and the ungrouped due jobs
     are merged in due order and the first p_limit claimed, each rated group's window counting its claims. */ `
  ALTER TABLE jobs ADD COLUMN IF NOT EXISTS grp text;
  DROP INDEX IF EXISTS jobs_ready;
  CREATE INDEX jobs_ready ON jobs (run_at) WHERE state = 'queued' AND grp IS NULL;
  CREATE INDEX IF NOT EXISTS jobs_group_due ON jobs (grp, run_at) WHERE state = 'queued' AND grp IS NOT NULL;
  CREATE INDEX IF NOT EXISTS jobs_group ON jobs (grp, state, id) WHERE grp IS NOT NULL;
  CREATE TABLE IF NOT EXISTS job_groups (
    key          text PRIMARY KEY,
    parallelism  integer NOT NULL,
    fifo         boolean NOT NULL,
    rate         integer,
    period_ms    bigint,
    paused       boolean NOT NULL,
    created_at   bigint NOT NULL,
    updated_at   bigint NOT NULL,
    window_start bigint,
    window_count integer NOT NULL DEFAULT 0
  );
  CREATE OR REPLACE FUNCTION asyncgate_claim_jobs(p_owner text, p_limit integer, p_now bigint, p_lease bigint)
  RETURNS SETOF jobs LANGUAGE plpgsql AS $$
  DECLARE
    v_grp text;
    v_rec job_groups%ROWTYPE;
    v_bound integer;
    v_fifo boolean;
    v_free integer;
    v_picked text[] := '{}';
  BEGIN
    FOR v_grp IN
      WITH RECURSIVE gs(grp) AS (
        (SELECT j.grp FROM jobs j WHERE j.state = 'queued' AND j.grp IS NOT NULL ORDER BY j.grp LIMIT 1)
        UNION ALL
        SELECT (SELECT j.grp FROM jobs j WHERE j.state = 'queued' AND j.grp IS NOT NULL AND j.grp > gs.grp
          ORDER BY j.grp LIMIT 1) FROM gs WHERE gs.grp IS NOT NULL)
      SELECT gs.grp FROM gs WHERE gs.grp IS NOT NULL
        AND (SELECT min(j.run_at) FROM jobs j WHERE j.state = 'queued' AND j.grp = gs.grp) <= p_now
      ORDER BY gs.grp
    LOOP
      PERFORM pg_advisory_xact_lock(hashtextextended('asyncgate.group.' || current_schema() || '.' || v_grp, 0));
      SELECT * INTO v_rec FROM job_groups WHERE key = v_grp;
      IF NOT FOUND THEN
        v_bound := 1;
        v_fifo := true;
        v_free := p_limit;
      ELSIF v_rec.paused THEN
        CONTINUE;
      ELSE
        v_bound := v_rec.parallelism;
        v_fifo := v_rec.fifo;
        v_free := p_limit;
        IF v_rec.rate IS NOT NULL AND v_rec.period_ms IS NOT NULL THEN
          v_free := least(v_free, v_rec.rate - CASE WHEN v_rec.window_start IS NULL
            OR p_now - v_rec.window_start >= v_rec.period_ms THEN 0 ELSE v_rec.window_count END);
        END IF;
      END IF;
      v_free := least(v_free, v_bound - (SELECT count(*) FROM jobs WHERE grp = v_grp AND state = 'running')::int);
      CONTINUE WHEN v_free <= 0;
      IF v_fifo THEN
        v_picked := v_picked || ARRAY(SELECT u.id FROM (
          SELECT * FROM (SELECT id, state, run_at FROM jobs WHERE grp = v_grp AND state = 'queued' ORDER BY id LIMIT v_bound) q
          UNION ALL
          SELECT * FROM (SELECT id, state, run_at FROM jobs WHERE grp = v_grp AND state = 'running' ORDER BY id LIMIT v_bound) r
          ORDER BY id LIMIT v_bound) u
          WHERE u.state = 'queued' AND u.run_at <= p_now ORDER BY u.id LIMIT v_free);
      ELSE
        v_picked := v_picked || ARRAY(SELECT id FROM jobs WHERE grp = v_grp AND state = 'queued' AND run_at <= p_now
          ORDER BY run_at LIMIT v_free);
      END IF;
    END LOOP;
    RETURN QUERY
    WITH ungrouped AS (
        SELECT id, run_at, NULL::text AS grp FROM jobs WHERE state = 'queued' AND grp IS NULL AND run_at <= p_now
        ORDER BY run_at LIMIT p_limit FOR UPDATE SKIP LOCKED),
      grouped AS (
        SELECT id, run_at, grp FROM jobs WHERE id = ANY (v_picked) AND state = 'queued' FOR UPDATE SKIP LOCKED),
      chosen AS (
        SELECT c.id FROM (SELECT * FROM ungrouped UNION ALL SELECT * FROM grouped) c ORDER BY c.run_at, c.id LIMIT p_limit),
      claimed AS (
        UPDATE jobs SET state = 'running', lease_owner = p_owner, lease_token = jobs.lease_token + 1,
          lease_expires_at = p_lease, attempts = jobs.attempts + 1, updated_at = p_now, version = jobs.version + 1,
          attempt_started_at = p_now
        FROM chosen WHERE jobs.id = chosen.id RETURNING jobs.*),
      counted AS (
        UPDATE job_groups g SET
          window_start = CASE WHEN g.window_start IS NULL OR p_now - g.window_start >= g.period_ms THEN p_now ELSE g.window_start END,
          window_count = CASE WHEN g.window_start IS NULL OR p_now - g.window_start >= g.period_ms THEN 0 ELSE g.window_count END + c.n
        FROM (SELECT claimed.grp, count(*)::int AS n FROM claimed WHERE claimed.grp IS NOT NULL GROUP BY claimed.grp) c
        WHERE g.key = c.grp AND g.rate IS NOT NULL AND g.period_ms IS NOT NULL)
    SELECT * FROM claimed;
  END $$;
  `,
];
