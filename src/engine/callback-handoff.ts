import type { Delivery, Job } from '../model.js';
import type { DeliveryLease } from '../store/port.js';

/**
 * How a finishing attempt hands its job's callbacks straight to the delivery side, instead of making them due
 * and letting the delivery claim loop find them a commit later. The completion leases them in its own commit
 * (Completion.leaseDeliveries) for the slots reserved here, and the deliveries start with the job and its
 * result in hand. Implemented by the DeliveryWorker; the engine only knows this port.
 */
export interface CallbackHandoff {
  /** Reserve a delivery slot for each callback host (per-host and overall bounds permitting); undefined when
   * none is free. A reservation must be given back through `launch` or `release`. */
  reserve(hosts: readonly string[]): DeliveryLease | undefined;
  /** Start the deliveries the completion leased, and free the reserved slots it did not use. `result` is the
   * stored response body when it is in memory (null: read it from the store). */
  launch(lease: DeliveryLease, job: Job, result: Uint8Array | null, deliveries: readonly Delivery[]): void;
  /** Give a reservation back unused (the completion failed or lost its lease). */
  release(lease: DeliveryLease): void;
  /** Callbacks may have become due (a job finished, was canceled, or failed on rescue): look now. */
  lookForWork(): void;
}

/** The host a callback is delivered to, as the store keys it (`deliveries.host`): the URL's host[:port]. */
export function callbackHost(url: string): string {
  return new URL(url).host;
}
