/** The longest delay setTimeout takes (2^31 - 1 ms, about 24.8 days): a later time is reached in steps. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `onWake` when each of the times it was given has come, with one unref'd timer for the earliest of
 * them (re-armed for the next). A time already past wakes at once. Times are epoch ms (Date.now()'s clock);
 * a timer that fires a little before its time (timers keep the monotonic clock) is re-armed for the rest.
 */
export class WakeTimer {
  /** The pending times, a binary min-heap. */
  private readonly times: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** The time the timer is armed for. */
  private armedFor = Infinity;

  constructor(private readonly onWake: () => void) {}

  /** Wake at `epochMs` (at once if it has come). */
  at(epochMs: number): void {
    if (epochMs <= Date.now()) {
      this.onWake();
      return;
    }
    push(this.times, epochMs);
    if (epochMs < this.armedFor) this.arm();
  }

  /** Times still to come. */
  get pending(): number {
    return this.times.length;
  }

  /** Forget every pending time. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
    this.times.length = 0;
  }

  private arm(): void {
    clearTimeout(this.timer);
    const next = this.times[0];
    if (next === undefined) {
      this.timer = undefined;
      this.armedFor = Infinity;
      return;
    }
    this.armedFor = next;
    this.timer = setTimeout(() => this.fire(), Math.min(Math.max(next - Date.now(), 1), MAX_TIMER_MS));
    this.timer.unref();
  }

  private fire(): void {
    const now = Date.now();
    let due = false;
    while (this.times.length && this.times[0]! <= now) {
      pop(this.times);
      due = true;
    }
    this.arm();
    if (due) this.onWake();
  }
}

function push(heap: number[], t: number): void {
  heap.push(t);
  for (let i = heap.length - 1; i > 0; ) {
    const parent = (i - 1) >> 1;
    if (heap[parent]! <= t) break;
    heap[i] = heap[parent]!;
    heap[parent] = t;
    i = parent;
  }
}

function pop(heap: number[]): void {
  const last = heap.pop();
  if (last === undefined || heap.length === 0) return;
  heap[0] = last;
  for (let i = 0; ; ) {
    const l = 2 * i + 1;
    const r = l + 1;
    let min = i;
    if (l < heap.length && heap[l]! < heap[min]!) min = l;
    if (r < heap.length && heap[r]! < heap[min]!) min = r;
    if (min === i) break;
    [heap[i], heap[min]] = [heap[min]!, heap[i]!];
    i = min;
  }
}
