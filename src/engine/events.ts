import type { Job } from '../model.js';

/** Called with the changed job, or null when the job was deleted. */
type Listener = (job: Job | null) => void;

/**
 * In-process notifications of job changes, keyed by job id: what wakes long polls and `wait=N` races the
 * moment a job changes. Listeners are per id, so thousands of idle waiters cost one Map entry each.
 */
export class JobEvents {
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly everyJob = new Set<(id: string, job: Job | null) => void>();
  /** Ends the store's forwarding of a watched id's changes (`watch`), per id with listeners here. */
  private readonly forwarding = new Map<string, () => void>();

  /**
   * `watch` (a store's, when other processes may change its jobs without telling everyone: JobStore.watch)
   * is told of each id that gets its first listener here, and `'*'` when something listens to every job; the
   * function it returns is called when the last listener leaves.
   */
  constructor(private readonly watch?: (id: string) => () => void) {}

  emit(job: Job): void {
    this.notify(job.id, job);
    for (const fn of this.everyJob) fn(job.id, job);
  }

  /** Be told of every change of every job, and of deletions (null): the admin event stream. */
  onAny(fn: (id: string, job: Job | null) => void): () => void {
    if (this.everyJob.size === 0) this.startForwarding('*');
    this.everyJob.add(fn);
    return () => {
      if (this.everyJob.delete(fn) && this.everyJob.size === 0) this.stopForwarding('*');
    };
  }

  /** The job was deleted: wake its waiters so they answer 410. */
  emitGone(id: string): void {
    this.notify(id, null);
    for (const fn of this.everyJob) fn(id, null);
  }

  private notify(id: string, job: Job | null): void {
    const set = this.listeners.get(id);
    if (!set) return;
    for (const fn of [...set]) fn(job);
  }

  subscribe(id: string, fn: Listener): () => void {
    let set = this.listeners.get(id);
    if (!set) {
      this.listeners.set(id, (set = new Set()));
      this.startForwarding(id);
    }
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0 && this.listeners.get(id) === set) {
        this.listeners.delete(id);
        this.stopForwarding(id);
      }
    };
  }

  private startForwarding(id: string): void {
    if (this.watch) this.forwarding.set(id, this.watch(id));
  }

  private stopForwarding(id: string): void {
    const stop = this.forwarding.get(id);
    this.forwarding.delete(id);
    stop?.();
  }

  /**
   * Resolve with the first change that satisfies `accept` (or null if the job is deleted meanwhile);
   * undefined after `timeoutMs` or on abort.
   */
  waitFor(
    id: string,
    accept: (job: Job) => boolean,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<Job | null | undefined> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve(undefined);
      const done = (job: Job | null | undefined) => {
        clearTimeout(timer);
        unsubscribe();
        signal?.removeEventListener('abort', onAbort);
        resolve(job);
      };
      const onAbort = () => done(undefined);
      const unsubscribe = this.subscribe(id, (job) => {
        if (job === null || accept(job)) done(job);
      });
      const timer = setTimeout(() => done(undefined), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Is anyone here waiting on this job? (A listener to every job waits on all of them.) */
  isWatched(id: string): boolean {
    return this.everyJob.size > 0 || this.listeners.has(id);
  }

  /** Ids with waiters here. */
  watchedIds(): string[] {
    return [...this.listeners.keys()];
  }

  /** Number of ids with waiters (for metrics). */
  get watched(): number {
    return this.listeners.size;
  }
}
