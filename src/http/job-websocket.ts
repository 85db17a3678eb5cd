import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type ServerOptions, type WebSocket } from 'ws';
import type { JobEvents } from '../engine/events.js';
import { TERMINAL_STATES, type Job } from '../model.js';
import { representation } from '../resource/representation.js';
import type { JobUrls } from '../resource/urls.js';
import { JobFollower } from './job-follower.js';

/** Close codes (RFC 6455 §7.4.1): the job has nothing more to say; the server is going away (shutdown). */
export const CLOSE_NORMAL = 1000;
export const CLOSE_GOING_AWAY = 1001;

const GONE = JSON.stringify({ event: 'gone', data: {} });

/**
 * One job's WebSocket (`GET {prefix}/jobs/{id}/ws`): the event stream's messages, one JSON text frame each,
 * `{"event": "status", "id": <version>, "data": <status representation>}`, then a normal close after the
 * terminal state (or `{"event": "gone", "data": {}}` if the job is deleted). Subscribed before the job is
 * read, so no change between the two is lost; at most one message is being written at a time, and a slow
 * reader is sent only the newest state once the last write went out.
 */
class JobSocket extends JobFollower {
  private ws: WebSocket | undefined;
  private sending = false;
  /** Answered the last ping (or none was sent yet). */
  private alive = true;

  /** The handshake is done: send the state read after subscribing (unless a newer event came). */
  start(ws: WebSocket, current: Job, urls: JobUrls): void {
    this.ws = ws;
    this.urls = urls;
    ws.on('close', () => this.close());
    ws.on('error', () => {}); // the peer broke the protocol: ws closes the socket, and 'close' follows
    ws.on('pong', () => (this.alive = true));
    // Ended (shutdown) while the handshake was under way.
    if (this.done) return void ws.close(CLOSE_GOING_AWAY);
    this.offer(current);
    this.flush();
    // Resumed after the job had already finished: nothing is left to say.
    if (!this.done && !this.holding && !this.sending && TERMINAL_STATES.has(current.state)) this.end(CLOSE_NORMAL);
  }

  /** One keep-alive round: a peer that did not answer the last ping is cut. */
  heartbeat(): void {
    const ws = this.ws;
    if (!ws || this.done) return;
    if (!this.alive) return void ws.terminate();
    this.alive = false;
    ws.ping();
  }

  /** Close the socket with `code` (after what was sent: ws queues the close frame behind it). */
  end(code: number): void {
    if (this.done) return;
    this.ws?.close(code);
    this.close();
  }

  protected flush(): void {
    const ws = this.ws;
    if (!ws || this.done || !this.holding || this.sending) return;
    const job = this.next();
    if (job === undefined) return;
    if (job === null) {
      ws.send(GONE);
      return this.end(CLOSE_NORMAL);
    }
    this.sending = true;
    ws.send(JSON.stringify({ event: 'status', id: job.version, data: representation(job, this.urls!) }), () => {
      this.sending = false;
      this.flush();
    });
    if (TERMINAL_STATES.has(job.state)) this.end(CLOSE_NORMAL);
  }
}

/**
 * The job WebSockets open in this process, sharing one ping timer (every `heartbeatMs`, the event streams'
 * heartbeat): a peer that has not answered the previous ping by the next one is cut.
 */
export class JobWebSockets {
  private readonly server: WebSocketServer;
  private readonly open = new Set<JobSocket>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly events: JobEvents,
    private readonly heartbeatMs: number,
  ) {
    // closeTimeout (ws ≥ 8.19, not in @types/ws yet): how long a close waits for the peer's close frame.
    const options: ServerOptions & { closeTimeout: number } = {
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      // A client has nothing to send but control frames: a data frame past this closes the socket (1009).
      maxPayload: 4096,
      closeTimeout: 5_000,
    };
    this.server = new WebSocketServer(options);
  }

  /**
   * Subscribe to a job's changes now; `upgrade` once the caller is authorised and the job read, or `close` it
   * if not. `after` is the version the client already has (-1 for none).
   */
  attach(id: string, after: number): JobSocket {
    const link: JobSocket = new JobSocket(this.events, id, after, () => this.detach(link));
    this.open.add(link);
    if (!this.timer) {
      this.timer = setInterval(() => {
        for (const s of this.open) s.heartbeat();
      }, this.heartbeatMs);
      this.timer.unref();
    }
    return link;
  }

  /** Complete the handshake on `socket` (ws answers a malformed one with 400) and start `link` with `current`. */
  upgrade(link: JobSocket, req: IncomingMessage, socket: Duplex, head: Buffer, current: Job, urls: JobUrls): void {
    // A client that leaves during the handshake (or one ws refuses) must not leave its subscription behind.
    if (socket.destroyed) return link.close();
    const left = () => link.close();
    socket.once('close', left);
    this.server.handleUpgrade(req, socket, head, (ws) => {
      socket.off('close', left);
      link.start(ws, current, urls);
    });
  }

  /** Close every socket with 1001 going away (graceful shutdown): clients reconnect with `?after=`. */
  closeAll(): void {
    for (const s of [...this.open]) s.end(CLOSE_GOING_AWAY);
  }

  get size(): number {
    return this.open.size;
  }

  private detach(link: JobSocket): void {
    this.open.delete(link);
    if (this.open.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
