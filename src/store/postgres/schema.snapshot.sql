-- PostgreSQL schema at migration 8 (generated: npm run schema:snapshot)

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
tombstones.id text NOT NULL
tombstones.expires_at bigint NOT NULL
tombstones.owner text DEFAULT ''::text

-- constraints
asyncgate_migrations asyncgate_migrations_pkey PRIMARY KEY (version)
deliveries deliveries_job_id_fkey FOREIGN KEY (job_id) REFERENCES jobs(id) ON DELETE CASCADE
deliveries deliveries_pkey PRIMARY KEY (id)
delivery_attempts delivery_attempts_delivery_id_fkey FOREIGN KEY (delivery_id) REFERENCES deliveries(id) ON DELETE CASCADE
delivery_attempts delivery_attempts_pkey PRIMARY KEY (delivery_id, n)
job_search job_search_job_id_fkey FOREIGN KEY (job_id) REFERENCES jobs(id) ON DELETE CASCADE
job_search job_search_pkey PRIMARY KEY (job_id)
jobs jobs_pkey PRIMARY KEY (id)
meta meta_pkey PRIMARY KEY (key)
push_subscriptions push_subscriptions_pkey PRIMARY KEY (id)
request_chunks request_chunks_pkey PRIMARY KEY (job_id, seq)
result_chunks result_chunks_job_id_fkey FOREIGN KEY (job_id) REFERENCES jobs(id) ON DELETE CASCADE
result_chunks result_chunks_pkey PRIMARY KEY (job_id, lease_token, seq)
tombstones tombstones_pkey PRIMARY KEY (id)

-- indexes
CREATE UNIQUE INDEX asyncgate_migrations_pkey ON asyncgate_migrations USING btree (version)
CREATE INDEX deliveries_host_due ON deliveries USING btree (host, round, next_attempt_at) WHERE (state = 'pending'::text)
CREATE INDEX deliveries_job ON deliveries USING btree (job_id)
CREATE INDEX deliveries_leases ON deliveries USING btree (lease_expires_at) WHERE (state = 'delivering'::text)
CREATE UNIQUE INDEX deliveries_pkey ON deliveries USING btree (id)
CREATE INDEX deliveries_state ON deliveries USING btree (state, updated_at)
CREATE UNIQUE INDEX delivery_attempts_pkey ON delivery_attempts USING btree (delivery_id, n)
CREATE UNIQUE INDEX job_search_pkey ON job_search USING btree (job_id)
CREATE INDEX job_search_words ON job_search USING gin (((COALESCE(request, ''::tsvector) || COALESCE(response, ''::tsvector))))
CREATE INDEX jobs_created ON jobs USING btree (created_at)
CREATE INDEX jobs_expiry ON jobs USING btree (expires_at) WHERE (expires_at IS NOT NULL)
CREATE INDEX jobs_finished ON jobs USING btree (finished_at) WHERE (finished_at IS NOT NULL)
CREATE UNIQUE INDEX jobs_idempotency ON jobs USING btree (COALESCE(owner, ''::text), idempotency_key) WHERE (idempotency_key IS NOT NULL)
CREATE INDEX jobs_idempotency_key ON jobs USING btree (idempotency_key) WHERE (idempotency_key IS NOT NULL)
CREATE INDEX jobs_lease_owner ON jobs USING btree (lease_owner) WHERE (state = 'running'::text)
CREATE INDEX jobs_leases ON jobs USING btree (lease_expires_at) WHERE (state = 'running'::text)
CREATE UNIQUE INDEX jobs_pkey ON jobs USING btree (id)
CREATE INDEX jobs_ready ON jobs USING btree (run_at) WHERE (state = 'queued'::text)
CREATE INDEX jobs_state ON jobs USING btree (state, id)
CREATE UNIQUE INDEX meta_pkey ON meta USING btree (key)
CREATE INDEX push_subscriptions_owner ON push_subscriptions USING btree (owner, created_at)
CREATE UNIQUE INDEX push_subscriptions_pkey ON push_subscriptions USING btree (id)
CREATE INDEX request_chunks_age ON request_chunks USING btree (created_at)
CREATE UNIQUE INDEX request_chunks_pkey ON request_chunks USING btree (job_id, seq)
CREATE UNIQUE INDEX result_chunks_pkey ON result_chunks USING btree (job_id, lease_token, seq)
CREATE INDEX tombstones_expiry ON tombstones USING btree (expires_at)
CREATE UNIQUE INDEX tombstones_pkey ON tombstones USING btree (id)

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
