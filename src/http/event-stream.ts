import type { ServerResponse } from 'node:http';
import type { JobEvents } from '../engine/events.js';
import { TERMINAL_STATES, type Job } from '../model.js';
import { representation } from '../resource/representation.js';
import type { JobUrls } from '../resource/urls.js';

const HEARTBEAT = ': keep-alive\n\n';

/**
 * One job's event stream (`GET {prefix}/jobs/{id}/events`, text/event-stream): every change of the job is an
 * event whose id is `job.version`, so a client resuming with `Last-Event-ID` on any process gets exactly the
 * states it missed. Subscribed before the job is read, so no change between the two is lost. A slow reader
 * is sent only the newest state once its socket drains: what is buffered per stream stays bounded.
 */
class JobStream {
  private res: ServerResponse | undefined;
  private urls: JobUrls | undefined;
  /** Newest state not yet written; null when the job was deleted. */
  private pending: Job | null | undefined;
  private waitingForDrain = false;
  private done = false;
  private readonly unsubscribe: () => void;

  constructor(
    events: JobEvents,
    id: string,
    private sent: number,
    private readonly onClose: (s: JobStream) => void,
  ) {
    this.unsubscribe = events.subscribe(id, (job) => this.offer(job));
  }

  /** Start answering with the state read after subscribing (the current one, unless a newer event came). */
  start(res: ServerResponse, current: Job, urls: JobUrls): void {
    // The client may have gone while the job was being read: its 'close' has fired already.
    if (res.destroyed || !res.socket || res.socket.destroyed) return this.close();
    this.res = res;
    this.urls = urls;
    res.once('close', () => this.close());
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      // Reverse proxies such as nginx would otherwise buffer the stream.
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    this.offer(current);
    this.flush(); // an event that came while the job was being read is newer than `current`
    // Resumed after the job had already finished: nothing is left to say.
    if (!this.done && this.pending === undefined && TERMINAL_STATES.has(current.state)) this.end();
  }

  heartbeat(): void {
    if (this.res && !this.done && !this.res.writableNeedDrain) this.res.write(HEARTBEAT);
  }

  /** End the stream (shutdown, or the job's last event was sent). */
  end(): void {
    if (this.done) return;
    this.res?.end();
    this.close();
  }

  /** Stop listening; safe to call before start (the request failed its checks). */
  close(): void {
    if (this.done) return;
    this.done = true;
    this.unsubscribe();
    this.onClose(this);
  }

  private offer(job: Job | null): void {
    if (this.done) return;
    if (job !== null) {
      if (this.pending === null) return; // deleted already
      // Events may arrive out of order (several writers, several processes): only ever move forward.
      if (job.version <= Math.max(this.sent, this.pending?.version ?? -1)) return;
    }
    this.pending = job;
    this.flush();
  }

  private flush(): void {
    const res = this.res;
    if (!res || this.done || this.pending === undefined || this.waitingForDrain) return;
    if (res.writableNeedDrain) {
      this.waitingForDrain = true;
      res.once('drain', () => {
        this.waitingForDrain = false;
        this.flush();
      });
      return;
    }
    const job = this.pending;
    this.pending = undefined;
    if (job === null) {
      res.write('event: gone\ndata: {}\n\n');
      return this.end();
    }
    res.write(`id: ${job.version}\nevent: status\ndata: ${JSON.stringify(representation(job, this.urls!))}\n\n`);
    this.sent = job.version;
    if (TERMINAL_STATES.has(job.state)) this.end();
  }
}

/** The event streams open in this process, sharing one heartbeat timer (cheap with thousands open). */
export class EventStreams {
  private readonly open = new Set<JobStream>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly events: JobEvents,
    private readonly heartbeatMs: number,
  ) {}

  /**
   * Subscribe to a job's changes now; `start` the stream once the caller is authorised and the job read, or
   * `close` it if not. `lastEventId` is the version the client already has (-1 for none).
   */
  attach(id: string, lastEventId: number): JobStream {
    const stream = new JobStream(this.events, id, lastEventId, (s) => this.detach(s));
    this.open.add(stream);
    if (!this.timer) {
      this.timer = setInterval(() => {
        for (const s of this.open) s.heartbeat();
      }, this.heartbeatMs);
      this.timer.unref();
    }
    return stream;
  }

  /** End every stream (graceful shutdown): clients reconnect with Last-Event-ID, to this or another process. */
  closeAll(): void {
    for (const s of [...this.open]) s.end();
  }

  get size(): number {
    return this.open.size;
  }

  private detach(stream: JobStream): void {
    this.open.delete(stream);
    if (this.open.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}

/** `Last-Event-ID` as a job version; anything else (absent, not a version we issued) means "from the start". */
export function lastEventId(field: string | string[] | undefined): number {
  const value = Array.isArray(field) ? field[0] : field;
  return value !== undefined && /^\d{1,15}$/.test(value.trim()) ? Number(value.trim()) : -1;
}
