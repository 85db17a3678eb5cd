/**
 * The delivery side's bounds, in one place: attempts in flight (overall, and per receiving host), slots
 * promised to completions about to lease their callbacks, and callbacks held here, leased, until their host
 * has a free slot. A leaf: it knows hosts and counts, not deliveries' content.
 *
 * Holding: a job that finishes while its callback's host is at its bound still leases the callback in its
 * completion (one commit, the result in hand) when fewer than 4 × `perHost` are already held for that host
 * and fewer than `concurrency` overall. It starts as soon as a slot at that host frees, before the claim loop
 * looks. Held leases are renewed by the heartbeat like running ones, and handed back on shutdown or rescued
 * after a crash, so holding never loses a callback. A slow host's further callbacks stay due in the store,
 * where any process may take them.
 */
/** How many callbacks a host may have held here, in multiples of its bound in flight. */
const HOLD_PER_HOST = 4;

export class Slots<T> {
  private active = 0;
  private readonly inflight = new Map<string, number>();
  private readonly promised = new Map<string, number>();
  private promisedTotal = 0;
  private readonly held = new Map<string, T[]>();
  private heldTotal = 0;

  constructor(
    private readonly concurrency: number,
    private readonly perHost: number,
  ) {}

  /** Attempts in flight. */
  get running(): number {
    return this.active;
  }

  /** Free slots overall (for the claim loop). */
  get free(): number {
    return this.concurrency - this.active;
  }

  /** Attempts in flight per host (for the store's fair claim). */
  inflightByHost(): Record<string, number> {
    return Object.fromEntries(this.inflight);
  }

  canStart(host: string): boolean {
    return this.active < this.concurrency && (this.inflight.get(host) ?? 0) < this.perHost;
  }

  /** Count an attempt as in flight. */
  take(host: string): void {
    this.active++;
    this.inflight.set(host, (this.inflight.get(host) ?? 0) + 1);
  }

  /** The exchange with the host ended (its slot there is free; the attempt may still be recording). */
  freeHost(host: string): void {
    const n = (this.inflight.get(host) ?? 1) - 1;
    if (n > 0) this.inflight.set(host, n);
    else this.inflight.delete(host);
  }

  /** The attempt ended. */
  done(): void {
    this.active--;
  }

  /** Promise room for one callback to `host`: a slot, or a place among those held. false when neither. */
  promise(host: string): boolean {
    const room = this.canStart(host) || this.canHold(host);
    if (!room) return false;
    this.promised.set(host, (this.promised.get(host) ?? 0) + 1);
    this.promisedTotal++;
    return true;
  }

  /** A promise kept (the callback arrived) or broken (the completion did not lease it). */
  unpromise(host: string, n = 1): void {
    const left = (this.promised.get(host) ?? n) - n;
    if (left > 0) this.promised.set(host, left);
    else this.promised.delete(host);
    this.promisedTotal -= n;
  }

  private canHold(host: string): boolean {
    const waiting = (this.held.get(host)?.length ?? 0) + (this.promised.get(host) ?? 0);
    return waiting < HOLD_PER_HOST * this.perHost && this.heldTotal + this.promisedTotal < this.concurrency;
  }

  /** Keep an item until `host` has a slot. */
  hold(host: string, item: T): void {
    const queue = this.held.get(host);
    if (queue) queue.push(item);
    else this.held.set(host, [item]);
    this.heldTotal++;
  }

  /** Take the next held item that may start now (its slot is counted as taken), if any. */
  nextHeld(): { host: string; item: T } | undefined {
    if (this.active >= this.concurrency) return undefined;
    for (const [host, queue] of this.held) {
      if ((this.inflight.get(host) ?? 0) >= this.perHost) continue;
      const item = queue.shift()!;
      // To the back of the line: under the overall bound, hosts take turns.
      this.held.delete(host);
      if (queue.length) this.held.set(host, queue);
      this.heldTotal--;
      this.take(host);
      return { host, item };
    }
    return undefined;
  }

  /** Forget what is held (shutdown: their leases are handed back by the store). */
  dropHeld(): T[] {
    const all = [...this.held.values()].flat();
    this.held.clear();
    this.heldTotal = 0;
    return all;
  }
}
