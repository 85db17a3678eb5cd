/**
 * node:http's `upgrade` event, for both faces: on Node 20, once a server has an `upgrade` listener, every
 * request with an `Upgrade` field goes to it instead of the request listener, whatever the protocol or path.
 * So besides asyncgate's own WebSocket rows (`PrefixRouter.upgrade`), an upgrade request must be answered
 * here: a refused handshake gets its problem as plain HTTP, and one nobody takes is served as a plain request.
 */
import { ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** A response written straight onto an upgrade request's socket (the event gives none); the connection closes after it. */
export function responseOnSocket(req: IncomingMessage, socket: Duplex): ServerResponse {
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as Socket);
  res.once('finish', () => {
    res.detachSocket(socket as Socket);
    socket.end();
  });
  return res;
}

/**
 * Give an upgrade request nobody takes (`Upgrade: h2c`, a WebSocket to a path that is not asyncgate's) back to
 * `server` as a plain request, as if no `upgrade` listener existed: its head is replayed onto the socket
 * without `Upgrade`, `Connection` and the fields `Connection` names (all hop-by-hop, RFC 9110 §7.6.1), and the
 * server's parser reads it, and any body, as a new request on a kept connection.
 */
export function serveAsPlainRequest(server: Server, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const named = String(req.headers.connection ?? '')
    .split(',')
    .map((token) => token.trim().toLowerCase());
  const drop = new Set(['upgrade', 'connection', ...named]);
  // Never the framing of the body that follows.
  drop.delete('content-length');
  drop.delete('transfer-encoding');
  let text = `${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/${req.httpVersion}\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) if (!drop.has(raw[i]!.toLowerCase())) text += `${raw[i]}: ${raw[i + 1]}\r\n`;
  // rawHeaders hold the bytes as latin1, as node's parser read them.
  socket.unshift(Buffer.concat([Buffer.from(`${text}\r\n`, 'latin1'), head]));
  // An https server runs its HTTP side on 'secureConnection' (the TLS handshake is long done).
  server.emit('encrypted' in socket ? 'secureConnection' : 'connection', socket);
}
