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
}

/**
 * The claim loop both dispatchers (jobs, callbacks) share. `wake()` is cheap to call often: wakes during a
 * loop coalesce into one more pass. Each pass claims while there is capacity and the last claim was full.
 * A leaf module: it imports nothing.
 */
export class ClaimLoop<T> {
  private claiming = false;
  private again = false;
  private stopped = true;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: ClaimLoopOptions<T>) {}

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.wake(), this.o.pollMs);
    this.timer.unref();
    this.wake();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  get running(): boolean {
    return !this.stopped;
  }

  wake(): void {
    if (this.stopped) return;
    if (this.claiming) {
      this.again = true;
      return;
    }
    void this.loop();
  }

  private async loop(): Promise<void> {
    this.claiming = true;
    try {
      do {
        this.again = false;
        while (!this.stopped && this.o.capacity() > 0) {
          const asked = this.o.capacity();
          const items = await this.o.claim(asked);
          for (const item of items) this.o.launch(item);
          // Fewer than asked: nothing else was due. Asking again at once would only cost an empty claim;
          // work that arrives meanwhile calls wake(), which sets `again`.
          if (items.length < asked) break;
        }
      } while (this.again && !this.stopped);
    } catch (error) {
      this.o.onError(error);
    } finally {
      this.claiming = false;
    }
  }
}
