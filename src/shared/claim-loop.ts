export interface ClaimLoopOptions<T> {
  /** How often to look without being woken: the safety net (delayed work, work from other processes). */
  pollMs: number;
  /** Free slots right now. */
  capacity: () => number;
  /** Take up to `n` items (leases them in the store). */
  claim: (n: number) => Promise<T[]>;
  /** Start working on one claimed item (not awaited). */
  launch: (item: T) => void;
  onError: (error: unknown) => void;
  /** A claim found fewer than it asked for: did it take everything due? Default yes. (A claim bounded per
   * host may find fewer while a host at its bound still has more.) */
  exhausted?: (items: readonly T[], asked: number) => boolean;
}

/**
 * The claim loop both workers (JobWorker, DeliveryWorker) share. `lookForWork()` says work may have arrived and looks now;
 * calls during a loop coalesce into one more pass. Each pass claims while there is capacity and the last claim
 * was full. `backlog` tells whether anything may be waiting in the store: true from a call until a claim
 * that began after it takes everything due. `slotFreed()` looks only then, so a process with no
 * queue does not pay a claim for every finished item. A leaf module: it imports nothing.
 */
export class ClaimLoop<T> {
  private claiming = false;
  private again = false;
  private stopped = true;
  private timer: NodeJS.Timeout | undefined;
  /** lookForWork calls so far, and how many of them the last exhausting claim had seen when it began. */
  private calls = 1;
  private drainedAt = 0;

  constructor(private readonly options: ClaimLoopOptions<T>) {}

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.lookForWork(), this.options.pollMs);
    this.timer.unref();
    this.lookForWork();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  get running(): boolean {
    return !this.stopped;
  }

  /** Work may be waiting to be claimed. */
  get backlog(): boolean {
    return this.calls > this.drainedAt;
  }

  /** Work may have arrived: look now. */
  lookForWork(): void {
    this.calls++;
    this.look();
  }

  /** A slot freed: look if work may be waiting. */
  slotFreed(): void {
    if (this.backlog) this.look();
  }

  private look(): void {
    if (this.stopped) return;
    if (this.claiming) {
      this.again = true;
      return;
    }
    void this.loop();
  }

  private async loop(): Promise<void> {
    this.claiming = true;
    const exhausted = this.options.exhausted ?? (() => true);
    try {
      do {
        this.again = false;
        while (!this.stopped && this.options.capacity() > 0) {
          const asked = this.options.capacity();
          const seen = this.calls;
          const items = await this.options.claim(asked);
          for (const item of items) this.options.launch(item);
          // Fewer than asked: asking again at once would only cost an empty claim. Work that arrives
          // meanwhile calls lookForWork(), which sets `again` (and `backlog`: `seen` is older).
          if (items.length < asked) {
            if (exhausted(items, asked)) this.drainedAt = Math.max(this.drainedAt, seen);
            break;
          }
        }
      } while (this.again && !this.stopped);
    } catch (error) {
      this.options.onError(error);
    } finally {
      this.claiming = false;
    }
  }
}
