import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  /** Reuse this agent's connections; by default each request gets a fresh keep-alive agent (a new connection
   * that asks to be kept alive, so a `Connection: close` in the answer is the server's own decision). */
  agent?: Agent;
  /** Told the socket the request went out on. */
  onSocket?: (socket: Socket) => void;
  /** Give up (reject) when no answer has come after this long. */
  timeoutMs?: number;
}

/** One request with node:http rather than fetch: the connection is visible, and the whole body is read. */
export function httpRequest(url: string, options: RequestOptions = {}): Promise<Answer> {
  const agent = options.agent ?? new Agent({ keepAlive: true });
  return new Promise<Answer>((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('socket', (socket) => options.onSocket?.(socket));
    req.on('error', reject);
    if (options.timeoutMs !== undefined) req.setTimeout(options.timeoutMs, () => req.destroy(new Error(`no answer in ${options.timeoutMs} ms`)));
    req.end();
  }).finally(() => {
    if (!options.agent) agent.destroy();
  });
}

/** Resolves once `socket` is closed (by either side). */
export function closed(socket: Socket): Promise<void> {
  return socket.destroyed ? Promise.resolve() : new Promise((resolve) => socket.once('close', () => resolve()));
}
