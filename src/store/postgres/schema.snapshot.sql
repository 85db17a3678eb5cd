-- PostgreSQL schema at migration 10 (generated: npm run schema:snapshot)

-- columns
asyncgate_migrations.version integer NOT NULL
asyncgate_migrations.applied_at timestamp with time zone NOT NULL DEFAULT now()
deliveries.id text NOT NULL
deliveries.job_id text NOT NULL
deliveries.url text NOT NULL
deliveries.host text NOT NULL
deliveries.method text NOT NULL
deliveries.mode text NOT NULL
deliveries.secret text
deliveries.state text NOT NULL
deliveries.attempts integer NOT NULL DEFAULT 0
deliveries.round integer NOT NULL DEFAULT 0
deliveries.next_attempt_at bigint
deliveries.lease_owner text
deliveries.lease_token integer NOT NULL DEFAULT 0
deliveries.lease_expires_at bigint
deliveries.created_at bigint NOT NULL
deliveries.updated_at bigint NOT NULL
deliveries.last_status integer
deliveries.last_error text
delivery_attempts.delivery_id text NOT NULL
delivery_attempts.n integer NOT NULL
delivery_attempts.at bigint NOT NULL
delivery_attempts.status integer
delivery_attempts.latency_ms integer NOT NULL
delivery_attempts.error text
delivery_attempts.snippet text
job_groups.key text NOT NULL
job_groups.parallelism integer NOT NULL
job_groups.fifo boolean NOT NULL
job_groups.rate integer
job_groups.period_ms bigint
job_groups.paused boolean NOT NULL
job_groups.created_at bigint NOT NULL
job_groups.updated_at bigint NOT NULL
job_groups.window_start bigint
job_groups.window_count integer NOT NULL DEFAULT 0
job_search.job_id text NOT NULL
job_search.request tsvector
job_search.response tsvector
jobs.id text NOT NULL
jobs.state text NOT NULL
jobs.dialect text NOT NULL
jobs.owner text
jobs.idempotency_key text
jobs.request_hash text NOT NULL
jobs.method text NOT NULL
jobs.url text NOT NULL
jobs.req_headers text NOT NULL
jobs.req_body bytea
jobs.options text NOT NULL
jobs.retryable boolean NOT NULL
jobs.max_attempts integer NOT NULL
jobs.retention_ms bigint NOT NULL
jobs.attempts integer NOT NULL DEFAULT 0
jobs.lease_owner text
jobs.lease_token integer NOT NULL DEFAULT 0
jobs.lease_expires_at bigint
jobs.run_at bigint NOT NULL
jobs.created_at bigint NOT NULL
jobs.updated_at bigint NOT NULL
jobs.finished_at bigint
jobs.expires_at bigint
jobs.version integer NOT NULL DEFAULT 1
jobs.progress text
jobs.response text
jobs.result_token integer
jobs.error text
jobs.req_body_size bigint NOT NULL DEFAULT 0
jobs.attempt_started_at bigint
jobs.attempt_log jsonb
jobs.progress_log jsonb
jobs.grp text
meta.key text NOT NULL
meta.value text NOT NULL
push_subscriptions.id text NOT NULL
push_subscriptions.owner text
push_subscriptions.endpoint text NOT NULL
push_subscriptions.p256dh text NOT NULL
push_subscriptions.auth text NOT NULL
push_subscriptions.created_at bigint NOT NULL
request_chunks.job_id text NOT NULL
request_chunks.seq integer NOT NULL
request_chunks.data bytea NOT NULL
request_chunks.created_at bigint NOT NULL
result_chunks.job_id text NOT NULL
result_chunks.lease_token integer NOT NULL
result_chunks.seq integer NOT NULL
result_chunks.data bytea NOT NULL
schedules.id text NOT NULL
schedules.owner text
schedules.cron text NOT NULL
schedules.destination text NOT NULL
schedules.headers text NOT NULL
schedules.body bytea
schedules.paused boolean NOT NULL
schedules.created_at bigint NOT NULL
schedules.updated_at bigint NOT NULL
schedules.next_at bigint NOT NULL
schedules.last_at bigint
schedules.last_message_ids text NOT NULL
tombstones.id text NOT NULL
tombstones.expires_at bigint NOT NULL
tombstones.owner text DEFAULT ''::text
url_groups.owner text
url_groups.name text NOT NULL
url_groups.endpoints text NOT NULL
url_groups.created_at bigint NOT NULL
url_groups.updated_at bigint NOT NULL

-- constraints
asyncgate_migrations asyncgate_migrations_pkey PRIMARY KEY (version)
deliveries deliveries_job_id_fkey FOREIGN KEY (job_id) REFERENCES jobs(id) ON DELETE CASCADE
deliveries deliveries_pkey PRIMARY KEY (id)
delivery_attempts delivery_attempts_delivery_id_fkey FOREIGN KEY (delivery_id) REFERENCES deliveries(id) ON DELETE CASCADE
delivery_attempts delivery_attempts_pkey PRIMARY KEY (delivery_id, n)
job_groups job_groups_pkey PRIMARY KEY (key)
job_search job_search_job_id_fkey FOREIGN KEY (job_id) REFERENCES jobs(id) ON DELETE CASCADE
job_search job_search_pkey PRIMARY KEY (job_id)
jobs jobs_pkey PRIMARY KEY (id)
meta meta_pkey PRIMARY KEY (key)
push_subscriptions push_subscriptions_pkey PRIMARY KEY (id)
request_chunks request_chunks_pkey PRIMARY KEY (job_id, seq)
result_chunks result_chunks_job_id_fkey FOREIGN KEY (job_id) REFERENCES jobs(id) ON DELETE CASCADE
result_chunks result_chunks_pkey PRIMARY KEY (job_id, lease_token, seq)
schedules schedules_pkey PRIMARY KEY (id)
tombstones tombstones_pkey PRIMARY KEY (id)

-- indexes
CREATE UNIQUE INDEX asyncgate_migrations_pkey ON asyncgate_migrations USING btree (version)
CREATE INDEX deliveries_host_due ON deliveries USING btree (host, round, next_attempt_at) WHERE (state = 'pending'::text)
CREATE INDEX deliveries_job ON deliveries USING btree (job_id)
CREATE INDEX deliveries_leases ON deliveries USING btree (lease_expires_at) WHERE (state = 'delivering'::text)
CREATE UNIQUE INDEX deliveries_pkey ON deliveries USING btree (id)
CREATE INDEX deliveries_state ON deliveries USING btree (state, updated_at)
CREATE UNIQUE INDEX delivery_attempts_pkey ON delivery_attempts USING btree (delivery_id, n)
CREATE UNIQUE INDEX job_groups_pkey ON job_groups USING btree (key)
CREATE UNIQUE INDEX job_search_pkey ON job_search USING btree (job_id)
CREATE INDEX job_search_words ON job_search USING gin (((COALESCE(request, ''::tsvector) || COALESCE(response, ''::tsvector))))
CREATE INDEX jobs_created ON jobs USING btree (created_at)
CREATE INDEX jobs_expiry ON jobs USING btree (expires_at) WHERE (expires_at IS NOT NULL)
CREATE INDEX jobs_finished ON jobs USING btree (finished_at) WHERE (finished_at IS NOT NULL)
CREATE INDEX jobs_group ON jobs USING btree (grp, state, id) WHERE (grp IS NOT NULL)
CREATE INDEX jobs_group_due ON jobs USING btree (grp, run_at) WHERE ((state = 'queued'::text) AND (grp IS NOT NULL))
CREATE UNIQUE INDEX jobs_idempotency ON jobs USING btree (COALESCE(owner, ''::text), idempotency_key) WHERE (idempotency_key IS NOT NULL)
CREATE INDEX jobs_idempotency_key ON jobs USING btree (idempotency_key) WHERE (idempotency_key IS NOT NULL)
CREATE INDEX jobs_lease_owner ON jobs USING btree (lease_owner) WHERE (state = 'running'::text)
CREATE INDEX jobs_leases ON jobs USING btree (lease_expires_at) WHERE (state = 'running'::text)
CREATE UNIQUE INDEX jobs_pkey ON jobs USING btree (id)
CREATE INDEX jobs_ready ON jobs USING btree (run_at) WHERE ((state = 'queued'::text) AND (grp IS NULL))
CREATE INDEX jobs_state ON jobs USING btree (state, id)
CREATE UNIQUE INDEX meta_pkey ON meta USING btree (key)
CREATE INDEX push_subscriptions_owner ON push_subscriptions USING btree (owner, created_at)
CREATE UNIQUE INDEX push_subscriptions_pkey ON push_subscriptions USING btree (id)
CREATE INDEX request_chunks_age ON request_chunks USING btree (created_at)
CREATE UNIQUE INDEX request_chunks_pkey ON request_chunks USING btree (job_id, seq)
CREATE UNIQUE INDEX result_chunks_pkey ON result_chunks USING btree (job_id, lease_token, seq)
CREATE INDEX schedules_due ON schedules USING btree (next_at) WHERE (NOT paused)
CREATE INDEX schedules_owner ON schedules USING btree (owner, created_at)
CREATE UNIQUE INDEX schedules_pkey ON schedules USING btree (id)
CREATE INDEX tombstones_expiry ON tombstones USING btree (expires_at)
CREATE UNIQUE INDEX tombstones_pkey ON tombstones USING btree (id)
CREATE UNIQUE INDEX url_groups_name ON url_groups USING btree (COALESCE(owner, ''::text), name)

-- triggers
CREATE TRIGGER deliveries_notify AFTER INSERT OR UPDATE OF state ON deliveries FOR EACH ROW WHEN ((new.state = 'pending'::text)) EXECUTE FUNCTION asyncgate_notify_delivery()
CREATE TRIGGER jobs_activate_deliveries AFTER UPDATE OF state ON jobs FOR EACH ROW WHEN (((new.state = ANY (ARRAY['succeeded'::text, 'failed'::text, 'canceled'::text])) AND (old.state = ANY (ARRAY['queued'::text, 'running'::text])))) EXECUTE FUNCTION asyncgate_activate_deliveries()
CREATE TRIGGER jobs_notify AFTER INSERT OR DELETE OR UPDATE OF version ON jobs FOR EACH ROW EXECUTE FUNCTION asyncgate_notify_job()

-- functions
CREATE OR REPLACE FUNCTION asyncgate_activate_deliveries()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
  BEGIN
    UPDATE deliveries SET state = 'pending', next_attempt_at = NEW.updated_at, updated_at = NEW.updated_at
      WHERE job_id = NEW.id AND state = 'waiting';
    RETURN NULL;
  END $function$
CREATE OR REPLACE FUNCTION asyncgate_claim_jobs(p_owner text, p_limit integer, p_now bigint, p_lease bigint)
 RETURNS SETOF jobs
 LANGUAGE plpgsql
AS $function$
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
  END $function$
CREATE OR REPLACE FUNCTION asyncgate_notify_delivery()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
  BEGIN
    PERFORM pg_notify('asyncgate.' || TG_TABLE_SCHEMA, 'd');
    RETURN NULL;
  END $function$
CREATE OR REPLACE FUNCTION asyncgate_notify_job()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
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
  END $function$
