import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DIALECTS, type Dialect, type Job } from '../model.js';
import type { CommitObserver, StoreGauges } from '../store/port.js';

/** How a callback attempt ended, for `asyncgate_delivery_attempts_total{outcome}`. */
export const DELIVERY_OUTCOMES = ['delivered', 'failed', 'gone', 'timeout', 'refused'] as const;
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];

/** Open watchers, for `asyncgate_open_watchers{kind}`. */
export const WATCHER_KINDS = ['event_stream', 'admin_stream', 'long_poll', 'websocket'] as const;
export type WatcherKind = (typeof WATCHER_KINDS)[number];

/** Where the per-scrape values come from: the shared store (cached for `gaugeCacheMs`) and this process. */
export interface MetricSources {
  store: () => Promise<StoreGauges>;
  watchers: () => Record<WatcherKind, number>;
}

export interface MetricsOptions {
  /** Record nothing and answer /metrics with 404 (`--no-metrics`): for measuring what metrics cost. */
  enabled: boolean;
  /** How long one read of the store's gauges serves every scrape. */
  gaugeCacheMs?: number;
  /** Node's process metrics (CPU, memory, event loop lag, GC) too. */
  processMetrics?: boolean;
}

// Latency buckets, seconds: from a millisecond (a commit, a quick upstream) to an hour (a job's life).
const FAST = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const SLOW = [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
const BATCH = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000];

/**
 * Every metric asyncgate reports, on a registry of its own (two gateways in one process report separately).
 * Each process counts what it did; the gauges of the shared store (queue depth, oldest age, deliveries by
 * state) are read from the store once per scrape, at most every `gaugeCacheMs`. No label takes an unbounded
 * value: dialects, states, error codes and outcomes are closed sets, and HTTP routes are the route templates.
 * Methods are cheap enough for the hot path (labelled children are bound once); with `enabled: false` they
 * return at once.
 */
export class Metrics {
  readonly enabled: boolean;
  readonly registry = new Registry();
  private sources: MetricSources | undefined;
  private storeRead: { at: number; value: Promise<StoreGauges> } | undefined;
  private readonly gaugeCacheMs: number;

  private readonly acceptedTotal: Tally<'dialect'>;
  private readonly finishedTotal: Tally<'status' | 'code'>;
  private readonly queueWait: Histogram;
  private readonly jobDuration: Histogram;
  private readonly upstreamTotal: Tally<'outcome'>;
  private readonly upstreamDuration: Histogram;
  private readonly deliveryTotal: Tally<'mode' | 'outcome'>;
  private readonly deliveryLatency: Histogram;
  private readonly httpTotal: Tally<'route' | 'status'>;
  private readonly httpDuration: Histogram<'route'>;
  private readonly commits: Tally<never>;
  private readonly commitDuration: Histogram;
  private readonly batchSize: Histogram;

  constructor(options: MetricsOptions) {
    this.enabled = options.enabled;
    this.gaugeCacheMs = options.gaugeCacheMs ?? 1_000;
    const registers = [this.registry];
    this.acceptedTotal = new Tally({ name: 'asyncgate_jobs_accepted_total', help: 'Jobs accepted (202) by this process, by the dialect that made the request asynchronous', labelNames: ['dialect'], registers });
    for (const dialect of DIALECTS) this.acceptedTotal.add(dialect, () => ({ dialect }), 0);
    this.finishedTotal = new Tally({ name: 'asyncgate_jobs_finished_total', help: 'Jobs finished by this process: status succeeded, failed or canceled; code the job error code (empty when it succeeded)', labelNames: ['status', 'code'], registers });
    this.queueWait = new Histogram({ name: 'asyncgate_queue_wait_seconds', help: 'From acceptance to the start of the first attempt', buckets: SLOW, registers });
    this.jobDuration = new Histogram({ name: 'asyncgate_job_duration_seconds', help: 'From acceptance to the end (succeeded, failed or canceled)', buckets: SLOW, registers });
    this.upstreamTotal = new Tally({ name: 'asyncgate_upstream_requests_total', help: 'Attempts sent to the upstream (or run by a handler): outcome the status class (2xx…5xx) of the answer, or the job error code', labelNames: ['outcome'], registers });
    this.upstreamDuration = new Histogram({ name: 'asyncgate_upstream_request_duration_seconds', help: 'From sending an attempt until its answer began (or it failed)', buckets: FAST.concat(30, 60, 300), registers });
    this.deliveryTotal = new Tally({ name: 'asyncgate_delivery_attempts_total', help: 'Callback attempts by this process', labelNames: ['mode', 'outcome'], registers });
    this.deliveryLatency = new Histogram({ name: 'asyncgate_delivery_latency_seconds', help: 'From the job finishing to its callback being acknowledged (2xx)', buckets: SLOW, registers });
    this.httpTotal = new Tally({ name: 'asyncgate_http_requests_total', help: 'Requests answered, by route template and status', labelNames: ['route', 'status'], registers });
    this.httpDuration = new Histogram({ name: 'asyncgate_http_request_duration_seconds', help: 'From a request arriving until its answer was sent, by route template', labelNames: ['route'], buckets: FAST, registers });
    this.commits = new Tally({ name: 'asyncgate_store_commits_total', help: 'Group commits of the store (SQLite write transactions; PostgreSQL grouped inserts and completions)', labelNames: [], registers });
    this.commitDuration = new Histogram({ name: 'asyncgate_store_commit_duration_seconds', help: 'From a group commit starting until it was durable', buckets: FAST, registers });
    this.batchSize = new Histogram({ name: 'asyncgate_store_batch_size', help: 'Writes in one group commit', buckets: BATCH, registers });

    // Every worker of a cluster reads the whole store: summed over workers, each job would count once per worker.
    const WHOLE_STORE = 'first' as const;
    // collect() runs with the gauge as `this`: these reach the metrics object.
    const storeGauges = () => this.storeGauges();
    const watchers = () => this.sources?.watchers();
    new Gauge({
      name: 'asyncgate_jobs',
      aggregator: WHOLE_STORE,
      help: 'Jobs in the store (all processes) by state: queued, running',
      labelNames: ['state'],
      registers,
      async collect() {
        const g = await storeGauges();
        if (!g) return;
        this.set({ state: 'queued' }, g.jobs.queued);
        this.set({ state: 'running' }, g.jobs.running);
      },
    });
    new Gauge({
      name: 'asyncgate_queue_oldest_age_seconds',
      aggregator: WHOLE_STORE,
      help: 'How long the queued job due the longest has been due (0 when none waits)',
      registers,
      async collect() {
        const g = await storeGauges();
        if (g) this.set(ageSeconds(g.oldestQueuedAt));
      },
    });
    new Gauge({
      name: 'asyncgate_deliveries',
      aggregator: WHOLE_STORE,
      help: 'Deliveries in the store (all processes) by state: waiting (for their job), pending (due), delivering, failed (dead letters)',
      labelNames: ['state'],
      registers,
      async collect() {
        const g = await storeGauges();
        if (!g) return;
        for (const [state, n] of Object.entries(g.deliveries)) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'asyncgate_delivery_backlog_age_seconds',
      aggregator: WHOLE_STORE,
      help: 'How long the pending delivery due the longest has been due (0 when none is)',
      registers,
      async collect() {
        const g = await storeGauges();
        if (g) this.set(ageSeconds(g.oldestPendingDeliveryAt));
      },
    });
    new Gauge({
      name: 'asyncgate_open_watchers',
      help: 'Open watchers in this process: event streams, admin event streams, long polls, WebSockets',
      labelNames: ['kind'],
      registers,
      collect() {
        const w = watchers();
        if (!w) return;
        for (const kind of WATCHER_KINDS) this.set({ kind }, w[kind]);
      },
    });
    if (this.enabled && options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** Where the gauges read from, once the parts exist (the runtime wires it). */
  useSources(sources: MetricSources): void {
    this.sources = sources;
  }

  /** The commit observer to give the store. */
  readonly commit: CommitObserver = (seconds, writes) => {
    if (!this.enabled) return;
    this.commits.add('', NO_LABELS);
    this.commitDuration.observe(seconds);
    this.batchSize.observe(writes);
  };

  accepted(dialect: Dialect): void {
    if (this.enabled) this.acceptedTotal.add(dialect, () => ({ dialect }));
  }

  /** A job this process finished: counted, and its life observed when its times are known. */
  finished(job: Pick<Job, 'state' | 'error' | 'createdAt' | 'finishedAt'>): void {
    if (!this.enabled) return;
    const code = job.error?.code ?? '';
    this.finishedTotal.add(`${job.state} ${code}`, () => ({ status: job.state, code }));
    if (job.finishedAt !== null) this.jobDuration.observe(Math.max(0, job.finishedAt - job.createdAt) / 1000);
  }

  /** Jobs this process failed without having them in hand (rescued from lapsed leases, handed back). */
  failedUnseen(code: string, n: number): void {
    if (this.enabled && n > 0) this.finishedTotal.add(`failed ${code}`, () => ({ status: 'failed', code }), n);
  }

  /** An attempt starts: the first one's wait in the queue is observed. */
  attemptStarted(job: Pick<Job, 'attempts' | 'createdAt'>, now: number): void {
    if (this.enabled && job.attempts <= 1) this.queueWait.observe(Math.max(0, now - job.createdAt) / 1000);
  }

  /** An attempt's answer began (`outcome` a status class) or it failed (`outcome` the job error code). */
  upstream(outcome: string, seconds: number): void {
    if (!this.enabled) return;
    this.upstreamTotal.add(outcome, () => ({ outcome }));
    this.upstreamDuration.observe(seconds);
  }

  /** A callback attempt ended; `finishedAt` is the job's (for the latency of a delivered one). */
  delivery(mode: string, outcome: DeliveryOutcome, finishedAt: number | null, now: number): void {
    if (!this.enabled) return;
    this.deliveryTotal.add(`${mode} ${outcome}`, () => ({ mode, outcome }));
    if (outcome === 'delivered' && finishedAt !== null) this.deliveryLatency.observe(Math.max(0, now - finishedAt) / 1000);
  }

  /** A request was answered. `route` is a template (`/_async/jobs/:id`) or a fixed name, never a raw path. */
  http(route: string, status: number, seconds: number): void {
    if (!this.enabled) return;
    this.httpTotal.add(`${status} ${route}`, () => ({ route, status: String(status) }));
    this.httpDuration.observe({ route }, seconds);
  }

  /** The Prometheus text exposition: this process's, or with `--workers N` every worker's, added up
   * (`aggregate`, which the cluster's primary answers). */
  async render(): Promise<string> {
    return this.aggregate ? this.aggregate() : this.registry.metrics();
  }

  /** Set in a worker of a cluster: asks the primary for the metrics of every worker, merged. */
  aggregate: (() => Promise<string>) | undefined;

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The store's gauges, one read shared by the scrapes of `gaugeCacheMs`; undefined when it failed. */
  private async storeGauges(): Promise<StoreGauges | undefined> {
    if (!this.sources) return undefined;
    const now = Date.now();
    if (!this.storeRead || now - this.storeRead.at >= this.gaugeCacheMs) this.storeRead = { at: now, value: this.sources.store() };
    const read = this.storeRead;
    return read.value.catch(() => {
      if (this.storeRead === read) this.storeRead = undefined;
      return undefined;
    });
  }
}

const NO_LABELS = () => ({});

/**
 * A counter kept as plain numbers by label set, handed to prom-client only when scraped: on the hot path one
 * Map lookup by a key the caller builds from the label values, no label hashing or checks, no allocation once
 * a label set exists. (A label set is never forgotten: the sets are closed, see the labels' definitions.)
 */
class Tally<L extends string> {
  private readonly counts = new Map<string, { labels: Partial<Record<L, string>>; n: number }>();

  constructor(config: { name: string; help: string; labelNames: readonly L[]; registers: Registry[] }) {
    const counts = this.counts;
    new Counter<L>({
      ...config,
      collect() {
        this.reset();
        for (const c of counts.values()) this.inc(c.labels, c.n);
      },
    });
  }

  /** Add `n` to the label set `key` names; `labels` makes its labels the first time. */
  add(key: string, labels: () => Partial<Record<L, string>>, n = 1): void {
    const c = this.counts.get(key);
    if (c) c.n += n;
    else this.counts.set(key, { labels: labels(), n });
  }
}

function ageSeconds(since: number | null): number {
  return since === null ? 0 : Math.max(0, Date.now() - since) / 1000;
}
