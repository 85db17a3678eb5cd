import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { PeerMessage } from '../store/sharded/peers.js';
import { CLUSTER_ENV, type ToPrimary, type ToWorker } from './cluster-messages.js';

export interface ClusterOptions {
  workers: number;
  /** Shards of a SQLite store (prepareShards); 0 on PostgreSQL. */
  shards: number;
  log: Logger;
  /** More environment for the workers (the demo's upstream URL). */
  env?: Record<string, string>;
}

export interface ClusterPrimary {
  /** Where the workers listen (they share one port). */
  url: string;
  /** Stop every worker gracefully (SIGTERM: each drains as one process would), resolving when all exited. */
  stop(): Promise<number>;
}

/** A worker exited before it was ready (a port taken, a store it could not open): it said why on stderr. */
export class WorkerStartError extends Error {
  override readonly name = 'WorkerStartError';
  readonly code = 'worker-start-failed';
  constructor(
    readonly worker: number,
    /** The worker's exit code (2 for a usage error, as the command's own). */
    readonly exitCode: number,
  ) {
    super(`worker ${worker} exited with ${exitCode} before it was ready`);
  }
}

/** How long a scrape waits for every worker's metrics before answering with those that came. */
const METRICS_WAIT_MS = 2_000;
/** A worker that dies sooner than this after it started is restarted after a growing pause (up to 5 s). */
const HEALTHY_AFTER_MS = 10_000;

/**
 * `--workers N`: this process becomes the cluster's primary. It forks N workers (node:cluster: they share
 * the listening port, the primary hands each new connection to the next worker in turn), relays what the
 * workers tell each other (PeerMessage: job watches and changes across shards), answers a scrape of
 * /metrics with every worker's metrics added up, restarts a worker that dies (after telling the others, who
 * hand its leases back at once), and on SIGTERM / SIGINT stops them all gracefully. It runs no jobs itself.
 */
export async function startCluster(options: ClusterOptions): Promise<ClusterPrimary> {
  const { workers, shards, log } = options;
  const byIndex = new Map<number, Worker>();
  const workerIds = new Map<number, string>();
  const startedAt = new Map<number, number>();
  const failures = new Map<number, number>();
  const scrapes = new Map<number, { parts: MetricObjectWithValues<MetricValue<string>>[][]; waiting: number; done: () => void }>();
  let scrapeSeq = 0;
  let stopping = false;
  let everReady = false;
  let onFirstReady: ((url: string) => void) | undefined;
  let onStartFailed: ((error: Error) => void) | undefined;
  const ready = new Set<number>();
  let url = '';

  /** Workers done draining, holding their listeners open until every one is (see drainedWaitForRelease). */
  const drained = new Set<number>();
  function releaseWhenAllDrained(index?: number): void {
    if (!stopping) {
      // Only this worker is stopping (a signal to it alone): the others serve on.
      if (index !== undefined) send(byIndex.get(index), { asyncgate: 'release' });
      return;
    }
    const live = [...byIndex.keys()];
    if (live.every((i) => drained.has(i))) for (const i of live) send(byIndex.get(i), { asyncgate: 'release' });
  }

  // A worker may be exiting as a message goes out (a release, a relayed change): a channel that closed
  // meanwhile is no error worth stopping the primary for. The callback takes the error instead of an
  // 'error' event, which, unhandled, would end this process.
  const send = (w: Worker | undefined, message: ToWorker) => {
    if (w?.isConnected()) w.send(message, undefined, () => {});
  };

  function relay(from: number, to: number | 'others', message: PeerMessage): void {
    if (to === 'others') {
      for (const [i, w] of byIndex) if (i !== from) send(w, { asyncgate: 'peer', message });
    } else send(byIndex.get(to), { asyncgate: 'peer', message });
  }

  function scrape(requester: Worker, id: number): void {
    const seq = ++scrapeSeq;
    const live = [...byIndex.values()].filter((w) => w.isConnected());
    const entry = {
      parts: [] as MetricObjectWithValues<MetricValue<string>>[][],
      waiting: live.length,
      done: () => {
        clearTimeout(timer);
        scrapes.delete(seq);
        AggregatorRegistry.aggregate(entry.parts)
          .metrics()
          .then((text) => send(requester, { asyncgate: 'metrics', id, text }), (error: unknown) => send(requester, { asyncgate: 'metrics', id, error: String(error) }));
      },
    };
    const timer = setTimeout(entry.done, METRICS_WAIT_MS);
    scrapes.set(seq, entry);
    for (const w of live) send(w, { asyncgate: 'collect', seq });
  }

  function fork(index: number): void {
    const w = cluster.fork({ ...options.env, [CLUSTER_ENV.index]: String(index), [CLUSTER_ENV.workers]: String(workers), [CLUSTER_ENV.shards]: String(shards) });
    byIndex.set(index, w);
    w.on('error', (error) => log.debug({ err: error, worker: index }, 'worker channel error'));
    startedAt.set(index, Date.now());
    w.on('message', (m: ToPrimary) => {
      switch (m?.asyncgate) {
        case 'ready':
          workerIds.set(index, m.workerId);
          ready.add(index);
          url = m.url;
          if (!everReady && ready.size === workers) {
            everReady = true;
            onFirstReady?.(url);
          } else if (everReady) log.info({ worker: index, workerPid: w.process.pid }, 'worker restarted');
          return;
        case 'peer':
          return relay(index, m.to, m.message);
        case 'scrape':
          return scrape(w, m.id);
        case 'drained':
          drained.add(index);
          return releaseWhenAllDrained(index);
        case 'collected': {
          const entry = scrapes.get(m.seq);
          if (!entry) return;
          entry.parts.push(m.metrics);
          if (--entry.waiting <= 0) entry.done();
          return;
        }
      }
    });
    w.on('exit', (code, signal) => {
      if (byIndex.get(index) === w) byIndex.delete(index);
      ready.delete(index);
      const workerId = workerIds.get(index);
      workerIds.delete(index);
      drained.delete(index);
      if (stopping) return releaseWhenAllDrained();
      if (!everReady) {
        onStartFailed?.(new WorkerStartError(index, code ?? 1));
        return;
      }
      log.error({ worker: index, workerPid: w.process.pid, code, signal }, 'worker exited; restarting it');
      // The others hand its leases back now (its jobs requeued or failed as interrupted, its callbacks due).
      if (workerId) relay(index, 'others', { kind: 'dead', workerId });
      const quick = Date.now() - (startedAt.get(index) ?? 0) < HEALTHY_AFTER_MS;
      const n = quick ? (failures.get(index) ?? 0) + 1 : 0;
      failures.set(index, n);
      setTimeout(() => !stopping && fork(index), Math.min(5_000, n === 0 ? 0 : 100 * 2 ** n));
    });
  }

  const stop = (): Promise<number> =>
    new Promise((resolve) => {
      stopping = true;
      let code = 0;
      const left = new Set([...byIndex.values()].filter((w) => !w.isDead()));
      if (left.size === 0) return resolve(0);
      for (const w of left) {
        w.once('exit', (c) => {
          if (c) code = c;
          left.delete(w);
          if (left.size === 0) resolve(code);
        });
        w.process.kill('SIGTERM');
      }
    });

  url = await new Promise<string>((resolve, reject) => {
    onFirstReady = resolve;
    onStartFailed = (error) => {
      void stop().then(() => reject(error));
    };
    for (let i = 0; i < workers; i++) fork(i);
  });
  onStartFailed = undefined;
  return { url, stop };
}
