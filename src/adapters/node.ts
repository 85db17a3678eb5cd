import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { serveAsPlainRequest } from '../http/upgrade.js';
import type { Asyncgate } from '../library/asyncgate.js';

export * from '../library/public.js';

/**
 * A node:http request listener: asyncgate's monitor routes under the prefix, everything else to `app`.
 * Declare routes with `gate.route(name, handler, options)` and call the returned function from `app`.
 */
export function withMonitor(gate: Asyncgate, app: RequestListener): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void gate.handlePrefix(req, res).then((handled) => {
      if (!handled) app(req, res);
    });
  };
}

/**
 * Serve asyncgate's WebSockets (`{prefix}/jobs/{id}/ws`) on `server`'s `upgrade` event. Any other upgrade
 * request goes to `other` when given, else back to `server` as a plain request (without `Upgrade`): on
 * Node 20 a server with an `upgrade` listener sends it every request with an `Upgrade` field.
 */
export function monitorUpgrades(server: Server, gate: Asyncgate, other?: UpgradeListener): void {
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    void gate.handleUpgrade(req, socket, head).then((handled) => {
      if (handled) return;
      if (other) other(req, socket, head);
      else serveAsPlainRequest(server, req, socket, head);
    });
  });
}

/** A node:http `upgrade` listener. */
export type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
