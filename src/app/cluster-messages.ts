import cluster from 'node:cluster';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { Registry } from 'prom-client';
import type { PeerMessage, Peers } from '../store/sharded/peers.js';
import type { WorkerRole } from './runtime.js';

/** What a worker is told of its place in the cluster, in its environment. */
export const CLUSTER_ENV = { index: 'ASYNCGATE_WORKER_INDEX', workers: 'ASYNCGATE_WORKER_COUNT', shards: 'ASYNCGATE_SHARD_COUNT' } as const;

type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** Messages from a worker to the primary (node:cluster's IPC channel). */
export type ToPrimary =
  | { asyncgate: 'ready'; workerId: string; url: string }
  | { asyncgate: 'peer'; to: number | 'others'; message: PeerMessage }
  | { asyncgate: 'scrape'; id: number }
  | { asyncgate: 'collected'; seq: number; metrics: MetricsJson }
  | { asyncgate: 'drained' };

/** Messages from the primary to a worker. */
export type ToWorker =
  | { asyncgate: 'peer'; message: PeerMessage }
  | { asyncgate: 'collect'; seq: number }
  | { asyncgate: 'metrics'; id: number; text?: string; error?: string }
  | { asyncgate: 'release' };

/** This process's place in a cluster, when it is a worker of one; undefined otherwise. */
export function workerPlace(): { index: number; workers: number; shards: number } | undefined {
  if (!cluster.isWorker) return undefined;
  const n = (name: string) => Number(process.env[name]);
  return { index: n(CLUSTER_ENV.index), workers: n(CLUSTER_ENV.workers), shards: n(CLUSTER_ENV.shards) };
}

/**
 * A worker's side of the cluster: Peers over the IPC channel to the primary (which relays to the others),
 * and a scrape of /metrics answered by the primary with every worker's metrics merged. `registry` is this
 * worker's, which the primary collects from when any worker is scraped.
 */
export function workerRole(place: { index: number; workers: number; shards: number }, registry: () => Registry | undefined): WorkerRole {
  const receivers: Array<(m: PeerMessage) => void> = [];
  const scrapes = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void }>();
  let scrapeId = 0;
  // The callback takes a channel closed meanwhile (the primary exiting): no 'error' event, which would end us.
  const post = (m: ToPrimary) => {
    if (process.connected) process.send!(m, undefined, undefined, () => {});
  };
  process.on('message', (m: ToWorker) => {
    switch (m?.asyncgate) {
      case 'peer':
        for (const fn of receivers) fn(m.message);
        return;
      case 'collect': {
        const r = registry();
        if (!r) return post({ asyncgate: 'collected', seq: m.seq, metrics: [] });
        void r.getMetricsAsJSON().then((metrics) => post({ asyncgate: 'collected', seq: m.seq, metrics: metrics as MetricsJson }));
        return;
      }
      case 'metrics': {
        const waiter = scrapes.get(m.id);
        scrapes.delete(m.id);
        if (m.text !== undefined) waiter?.resolve(m.text);
        else waiter?.reject(new Error(m.error ?? 'no metrics'));
        return;
      }
    }
  });
  const peers: Peers = {
    index: place.index,
    workers: place.workers,
    send: (to, message) => post({ asyncgate: 'peer', to, message }),
    onMessage: (fn) => void receivers.push(fn),
  };
  return {
    peers,
    shards: place.shards,
    clusterMetrics: () =>
      new Promise((resolve, reject) => {
        const id = ++scrapeId;
        scrapes.set(id, { resolve, reject });
        post({ asyncgate: 'scrape', id });
      }),
  };
}

/** Tell the primary this worker serves (its lease owner id, for handing its leases back if it dies). */
export function announceReady(workerId: string, url: string): void {
  if (process.connected) process.send!({ asyncgate: 'ready', workerId, url } satisfies ToPrimary, undefined, undefined, () => {});
}

/**
 * A draining worker is done (no request in flight, jobs handed back) but keeps its listener open, answering
 * 503, until the primary says every worker is done: a worker that stopped listening early would be handed
 * connections it can no longer answer. Resolves when the primary releases it (at once, if it is the only
 * one stopping), or if the primary is gone.
 */
export function drainedWaitForRelease(): Promise<void> {
  if (!process.connected) return Promise.resolve();
  return new Promise((resolve) => {
    const onMessage = (m: ToWorker) => {
      if (m?.asyncgate !== 'release') return;
      process.off('message', onMessage);
      process.off('disconnect', done);
      resolve();
    };
    const done = () => {
      process.off('message', onMessage);
      resolve();
    };
    process.on('message', onMessage);
    process.once('disconnect', done);
    process.send!({ asyncgate: 'drained' } satisfies ToPrimary, undefined, undefined, () => {});
  });
}
