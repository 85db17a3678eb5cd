import type { IncomingMessage, Server, ServerOptions, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Settings } from '../config/settings.js';

/**
 * node:http's timeouts for the gateway. Only the headers are bounded (`headersTimeout`, against clients that
 * never finish them); a whole request is not (`requestTimeout: 0`), because a body may be a large upload on a
 * slow link, and there is no socket inactivity timeout (`timeout` stays 0), because a long poll, a slow
 * pass-through answer or an event stream between heartbeats is silent for long, legitimately. Between
 * requests, a keep-alive connection is closed after `idleTimeoutMs`.
 */
export function serverOptions(settings: Pick<Settings, 'headersTimeoutMs' | 'idleTimeoutMs'>): ServerOptions {
  return {
    requestTimeout: 0,
    headersTimeout: settings.headersTimeoutMs,
    keepAliveTimeout: settings.idleTimeoutMs,
    // node checks the headers timeout on this interval (30 s by default): check often enough that the bound
    // holds within a quarter of it.
    connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(settings.headersTimeoutMs / 4))),
  };
}

/**
 * The HTTP side of a graceful shutdown. Every request is tracked from arrival until its response is closed.
 * Once the drain starts, the listener stays open (health checks and new requests get their 503 instead of a
 * refused connection), every answer from then on carries `Connection: close`, and idle keep-alive connections
 * are closed, so clients move elsewhere; requests in flight may finish until the deadline, then whatever is
 * left is cut.
 */
export class HttpDrain {
  private readonly sockets = new Set<Socket>();
  /** Responses not yet closed. */
  private readonly open = new Set<ServerResponse>();
  /** How many of them each socket carries (more than one only when a client pipelines). */
  private readonly busy = new Map<Socket, number>();
  /** Sockets an upgrade took out of HTTP (WebSockets): closed by their own protocol, cut only at the end. */
  private readonly taken = new Set<Socket>();
  private draining = false;
  private onSettled: (() => void) | undefined;

  constructor(private readonly server: Server) {
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  /** Call for each request as it arrives, before it is routed. */
  track(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    if (this.draining) res.setHeader('connection', 'close');
    this.open.add(res);
    this.busy.set(socket, (this.busy.get(socket) ?? 0) + 1);
    res.once('close', () => {
      this.open.delete(res);
      const left = (this.busy.get(socket) ?? 1) - 1;
      if (left > 0) this.busy.set(socket, left);
      else this.busy.delete(socket);
      if (!this.draining) return;
      // An answer whose headers went out before the drain said keep-alive: close its connection now.
      if (left === 0) socket.end();
      if (this.open.size === 0) this.onSettled?.();
    });
  }

  /** Start draining: answers not yet begun say `Connection: close`, idle connections are closed. */
  start(): void {
    if (this.draining) return;
    this.draining = true;
    for (const res of this.open) if (!res.headersSent) res.setHeader('connection', 'close');
    // end(), not destroy(): whatever is still being written reaches the client first.
    for (const socket of this.sockets) if (!this.busy.has(socket) && !this.taken.has(socket)) socket.end();
  }

  /** An upgrade request arrived on `socket`: not idle, whatever answers it. */
  takeOver(socket: Socket): void {
    this.taken.add(socket);
    socket.once('close', () => this.taken.delete(socket));
  }

  /** The upgrade was not taken: `socket` is an HTTP connection again. */
  giveBack(socket: Socket): void {
    this.taken.delete(socket);
  }

  /** Resolves once no request is in flight, or at `deadline` (epoch ms), whichever comes first. */
  settled(deadline: number): Promise<void> {
    if (this.open.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, deadline - Date.now()));
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.onSettled = done;
    });
  }

  /** The grace is over: cut every connection still open. */
  cutAll(): void {
    this.server.closeAllConnections();
    for (const socket of this.sockets) socket.destroy();
  }
}
