import type { ServerResponse } from 'node:http';
import type { JobEvents } from '../engine/events.js';
import type { Job } from '../model.js';
import { representation } from '../resource/representation.js';
import type { JobUrls } from '../resource/urls.js';
import { RETRY_AFTER } from './openapi-components.js';
import type { PrefixRoute } from './route-table.js';
import type { UrlBuilder } from '../resource/urls.js';

const HEARTBEAT = ': keep-alive\n\n';
/** Changes are gathered this long and sent together, newest state per job: a busy gateway costs a stream a
 * few writes a second, not one per change. */
const FLUSH_MS = 200;
/** Jobs one stream holds an unsent change for, and sends at most per flush: the most recently changed. Past
 * it (a gateway busier than a page can show, or a reader too slow for it) the older changes are dropped and
 * the reader is told to `resync` (fetch what it shows again). So a stream costs at most this many
 * representations a flush, whatever the load: a page shows 50 jobs, and following every change of thousands
 * of jobs a second would cost the gateway more than the page could use. */
export const MAX_PENDING = 100;

/**
 * One admin event stream: every change of every job (`event: job`, the status representation), deletions
 * (`event: gone`, `{id}`) and, when changes were dropped, `event: resync` before the newest ones. Memory and
 * work per stream are bounded by MAX_PENDING jobs a flush, whatever the load and the reader's pace: while
 * its socket is full, changes only replace each other.
 */
class AdminStream {
  private readonly pending = new Map<string, Job | null>();
  private overflowed = false;
  private timer: NodeJS.Timeout | undefined;
  private waitingForDrain = false;
  private done = false;
  private readonly unsubscribe: () => void;

  constructor(
    events: JobEvents,
    private readonly res: ServerResponse,
    private readonly urls: (id: string) => JobUrls,
    private readonly onClose: (s: AdminStream) => void,
  ) {
    this.unsubscribe = events.onAny((id, job) => this.offer(id, job));
    res.once('close', () => this.close());
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    // Tells the reader the stream is live (EventSource 'open' fires on headers; this is for other clients).
    res.write('event: ready\ndata: {}\n\n');
  }

  heartbeat(): void {
    if (!this.done && !this.res.writableNeedDrain) this.res.write(HEARTBEAT);
  }

  end(): void {
    if (this.done) return;
    this.res.end();
    this.close();
  }

  close(): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.pending.clear();
    this.unsubscribe();
    this.onClose(this);
  }

  private offer(id: string, job: Job | null): void {
    if (this.done) return;
    const held = this.pending.get(id);
    // Several writers (and processes) may announce out of order: keep the newest version.
    if (job && held && held.version >= job.version) return;
    this.pending.delete(id); // re-inserted at the end: the map stays in order of last change
    if (this.pending.size >= MAX_PENDING) {
      // Drop the least recently changed: the newest changes are what a live page shows.
      this.overflowed = true;
      this.pending.delete(this.pending.keys().next().value!);
    }
    this.pending.set(id, job);
    this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  private flush(): void {
    this.timer = undefined;
    if (this.done) return;
    if (this.res.writableNeedDrain) {
      if (this.waitingForDrain) return;
      this.waitingForDrain = true;
      this.res.once('drain', () => {
        this.waitingForDrain = false;
        this.flush();
      });
      return;
    }
    let text = '';
    if (this.overflowed) {
      text += 'event: resync\ndata: {}\n\n';
      this.overflowed = false;
    }
    for (const [id, job] of this.pending) {
      text += job ? `event: job\ndata: ${JSON.stringify(representation(job, this.urls(id)))}\n\n` : `event: gone\ndata: ${JSON.stringify({ id })}\n\n`;
    }
    this.pending.clear();
    if (text) this.res.write(text);
  }
}

/** The admin event streams open in this process, with one heartbeat timer; ended all at once on drain. */
export class AdminEventStreams {
  private readonly open = new Set<AdminStream>();
  private heartbeatTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly events: JobEvents,
    private readonly heartbeatMs: number,
  ) {}

  /** The `GET /admin/events` row (viewer access). */
  route(urls: UrlBuilder, draining: AbortSignal): PrefixRoute {
    return {
      methods: ['GET'],
      path: '/admin/events',
      access: 'viewer',
      summary: 'Every job change, as it happens (text/event-stream)',
      responses: {
        200: {
          description: 'Server-sent events until the process drains',
          content: { 'text/event-stream': { type: 'string', description: '`event: job` (the status representation), `event: gone` (`{"id"}`), `event: resync` (changes were dropped: fetch again)' } },
        },
        503: { description: 'The process is draining: connect again (elsewhere)', headers: { 'Retry-After': RETRY_AFTER } },
      },
      handle: async ({ req, res }) => {
        if (draining.aborted) {
          res.writeHead(503, { 'retry-after': '1', 'content-length': 0, 'cache-control': 'no-store' }).end();
          return;
        }
        const origin = urls.origin(req);
        this.attach(res, (id) => urls.forOrigin(origin, id));
      },
    };
  }

  attach(res: ServerResponse, jobUrls: (id: string) => JobUrls): void {
    if (res.destroyed || !res.socket || res.socket.destroyed) return;
    const stream = new AdminStream(this.events, res, jobUrls, (s) => this.detach(s));
    this.open.add(stream);
    if (!this.heartbeatTimer) {
      this.heartbeatTimer = setInterval(() => {
        for (const s of this.open) s.heartbeat();
      }, this.heartbeatMs);
      this.heartbeatTimer.unref();
    }
  }

  closeAll(): void {
    for (const s of [...this.open]) s.end();
  }

  get size(): number {
    return this.open.size;
  }

  private detach(stream: AdminStream): void {
    this.open.delete(stream);
    if (this.open.size === 0 && this.heartbeatTimer) {
      clearInterval(this.heartbeatTimer);
      this.heartbeatTimer = undefined;
    }
  }
}
