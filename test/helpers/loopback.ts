import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Listen on a free loopback port; resolves with the server's base URL. */
export async function listenLoopback(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Close a server now, cutting its keep-alive connections. */
export async function closeNow(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
}
