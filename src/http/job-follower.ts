import type { JobEvents } from '../engine/events.js';
import type { Job } from '../model.js';
import type { JobUrls } from '../resource/urls.js';

/**
 * What a job's event stream and its WebSocket share: subscribed to the job's changes before the job is read,
 * so no change between the two is lost; only the newest state not yet sent is held (a slow reader gets the
 * newest once it can take more, never a backlog), and since events may arrive out of order (several writers,
 * several processes) it only ever moves forward by version; `null` once the job is deleted. A subclass sends
 * on its transport in `flush()`, taking the next state with `next()`.
 */
export abstract class JobFollower {
  protected urls: JobUrls | undefined;
  protected done = false;
  /** Newest state not yet sent; null when the job was deleted. */
  private pending: Job | null | undefined;
  private readonly unsubscribe: () => void;

  constructor(
    events: JobEvents,
    id: string,
    /** The version last sent (or that the client resumed after). */
    protected sent: number,
    private readonly onClose: () => void,
  ) {
    this.unsubscribe = events.subscribe(id, (job) => this.offer(job));
  }

  /** Stop listening; safe to call before start (the caller failed its checks, or left meanwhile). */
  close(): void {
    if (this.done) return;
    this.done = true;
    this.unsubscribe();
    this.onClose();
  }

  /** Is a state waiting to be sent? */
  protected get holding(): boolean {
    return this.pending !== undefined;
  }

  /** Take the state to send next (null: the job was deleted); undefined when none waits. */
  protected next(): Job | null | undefined {
    const job = this.pending;
    this.pending = undefined;
    if (job) this.sent = job.version;
    return job;
  }

  protected offer(job: Job | null): void {
    if (this.done) return;
    if (job !== null) {
      if (this.pending === null) return; // deleted already
      if (job.version <= Math.max(this.sent, this.pending?.version ?? -1)) return;
    }
    this.pending = job;
    this.flush();
  }

  protected abstract flush(): void;
}
