import type { ServerResponse } from 'node:http';
import type { JobEvents } from '../engine/events.js';
import { TERMINAL_STATES, type Job } from '../model.js';
import { representation } from '../resource/representation.js';
import type { JobUrls } from '../resource/urls.js';
import { JobFollower } from './job-follower.js';

const HEARTBEAT = ': keep-alive\n\n';

/**
 * One job's event stream (`GET {prefix}/jobs/{id}/events`, text/event-stream): every change of the job is an
 * event whose id is `job.version`, so a client resuming with `Last-Event-ID` on any process gets exactly the
 * states it missed (see JobFollower). A slow reader is sent only the newest state once its socket drains:
 * what is buffered per stream stays bounded.
 */
class JobStream extends JobFollower {
  private res: ServerResponse | undefined;
  private waitingForDrain = false;

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
    if (!this.done && !this.holding && TERMINAL_STATES.has(current.state)) this.end();
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

  protected flush(): void {
    const res = this.res;
    if (!res || this.done || !this.holding || this.waitingForDrain) return;
    if (res.writableNeedDrain) {
      this.waitingForDrain = true;
      res.once('drain', () => {
        this.waitingForDrain = false;
        this.flush();
      });
      return;
    }
    const job = this.next();
    if (job === null) {
      res.write('event: gone\ndata: {}\n\n');
      return this.end();
    }
    if (!job) return;
    res.write(`id: ${job.version}\nevent: status\ndata: ${JSON.stringify(representation(job, this.urls!))}\n\n`);
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
    const stream: JobStream = new JobStream(this.events, id, lastEventId, () => this.detach(stream));
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
