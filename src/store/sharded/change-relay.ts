import type { StoreChange } from '../port.js';
import type { PeerMessage, Peers } from './peers.js';

type JobChange = Extract<StoreChange, { kind: 'job' | 'gone' }>;

/**
 * How the workers of a sharded store hear of each other's changes, at no cost while nobody waits on another
 * worker's job. The worker that owns a job's shard makes almost every change to it (it accepts, runs and
 * finishes its own jobs) and hears them in-process; a worker that waits on a job of another shard (a long
 * poll, an event stream, a WebSocket that landed there) asks the owner to forward that job's changes, and
 * the owner sends them only to those that asked. The rare write to a job of another's shard (a cancel, a
 * delete, a progress report, a retry) is sent to the owner, which passes it on as if it had made it.
 *
 * A watch that begins is answered at once with the job's current state (`reread`): a change made between the
 * watcher's own read and the owner hearing of the watch is not missed.
 */
export class ChangeRelay {
  private readonly listeners = new Set<(change: StoreChange) => void>();
  /** Workers watching a job of a shard this one owns, by job id. */
  private readonly watchers = new Map<string, Set<number>>();
  /** Workers watching every job (the admin event stream). */
  private readonly everything = new Set<number>();

  constructor(
    private readonly peers: Peers,
    /** The worker that owns the shard of this job id. */
    private readonly ownerOf: (id: string) => number,
    private readonly reread: (id: string) => Promise<JobChange | undefined>,
  ) {
    peers.onMessage((message) => this.receive(message));
  }

  get me(): number {
    return this.peers.index;
  }

  listen(fn: (change: StoreChange) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** This process waits on `id` (or `'*'`): ask its owner (or, for `'*'`, every other worker) to forward. */
  watch(id: string): () => void {
    if (this.peers.workers === 1) return () => {};
    const to = id === '*' ? 'others' : this.ownerOf(id);
    if (to === this.me) return () => {};
    this.peers.send(to, { kind: 'watch', id, from: this.me, on: true });
    return () => this.peers.send(to, { kind: 'watch', id, from: this.me, on: false });
  }

  /** This process changed a job: its watchers elsewhere hear of it (through its owner, when that is not us). */
  changed(change: JobChange): void {
    if (this.peers.workers === 1) return;
    const owner = this.ownerOf(change.id);
    if (owner === this.me) this.forward(change, this.me);
    else this.peers.send(owner, { kind: 'change', change, from: this.me, forward: true });
  }

  /** A change every other worker must hear (a cancel or delete: whoever runs the job stops it). */
  broadcast(change: JobChange): void {
    if (this.peers.workers > 1) this.peers.send('others', { kind: 'change', change, from: this.me, forward: false });
  }

  /** Work or deliveries became due in a shard `owner` owns, by a write of this process. */
  tell(owner: number, change: Extract<StoreChange, { kind: 'work' | 'deliveries' }>): void {
    if (owner !== this.me) this.peers.send(owner, { kind: 'change', change, from: this.me, forward: false });
  }

  private forward(change: JobChange, except: number): void {
    if (this.watchers.size === 0 && this.everything.size === 0) return;
    const to = new Set(this.everything);
    for (const w of this.watchers.get(change.id) ?? []) to.add(w);
    to.delete(except);
    to.delete(this.me);
    for (const w of to) this.peers.send(w, { kind: 'change', change, from: this.me, forward: false });
  }

  private deliver(change: StoreChange): void {
    for (const fn of this.listeners) fn(change);
  }

  private receive(message: PeerMessage): void {
    switch (message.kind) {
      case 'watch':
        return this.onWatch(message.id, message.from, message.on);
      case 'change':
        this.deliver(message.change);
        if (message.forward && (message.change.kind === 'job' || message.change.kind === 'gone')) this.forward(message.change, message.from);
        return;
      case 'dead':
        return; // the runtime's (it hands the worker's leases back)
    }
  }

  private onWatch(id: string, from: number, on: boolean): void {
    if (id === '*') {
      if (on) this.everything.add(from);
      else this.everything.delete(from);
      return;
    }
    let set = this.watchers.get(id);
    if (!on) {
      set?.delete(from);
      if (set?.size === 0) this.watchers.delete(id);
      return;
    }
    if (!set) this.watchers.set(id, (set = new Set()));
    set.add(from);
    void this.reread(id).then(
      (change) => {
        if (change) this.peers.send(from, { kind: 'change', change, from: this.me, forward: false });
      },
      () => this.peers.send(from, { kind: 'change', change: { kind: 'resync' }, from: this.me, forward: false }),
    );
  }
}
