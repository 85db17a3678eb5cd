import type { StoreChange } from '../port.js';

/**
 * What the workers of one sharded store tell each other. Each worker owns some shards (shard s belongs to
 * worker s mod workers) and hears every change made to their jobs in-process; the others hear only what they
 * ask for:
 * - `watch`: worker `from` waits on job `id` (`'*'`: on every job) of a shard the receiver owns, or stopped.
 * - `change`: a change to a job, or work made due. `forward` asks the receiver, the owner of the job's shard,
 *   to pass it on to the workers watching that job (the sender wrote to a shard it does not own).
 * - `dead`: the worker whose leases are `workerId` is gone (the cluster's primary saw it exit): hand its
 *   leases back now rather than when they lapse.
 */
export type PeerMessage =
  | { kind: 'watch'; id: string; from: number; on: boolean }
  | { kind: 'change'; change: StoreChange; from: number; forward: boolean }
  | { kind: 'dead'; workerId: string };

/** How a worker reaches the others (the cluster primary relays; tests may connect stores directly). */
export interface Peers {
  /** This worker's number, 0 … workers − 1. */
  readonly index: number;
  readonly workers: number;
  /** To one worker, or to every other one. */
  send(to: number | 'others', message: PeerMessage): void;
  /** Messages from the other workers, to every receiver added. */
  onMessage(fn: (message: PeerMessage) => void): void;
}

/** Peers for a store that is alone (one worker owning every shard): nothing to tell anyone. */
export const NO_PEERS: Peers = { index: 0, workers: 1, send: () => {}, onMessage: () => {} };
