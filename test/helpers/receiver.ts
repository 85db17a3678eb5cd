import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { closeNow, listenLoopback } from './loopback.js';

export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  at: number;
}

/**
 * A callback receiver on loopback. `plan` decides each answer in turn: a status code, 'hang' (never answer),
 * or a delay. After the plan runs out it answers 200.
 */
export class Receiver {
  readonly received: Received[] = [];
  private readonly server: Server;
  url = '';
  constructor(public plan: Array<number | 'hang' | { status: number; delayMs: number; headers?: Record<string, string> }> = []) {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.received.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks), at: Date.now() });
        const step = this.plan.shift() ?? 200;
        if (step === 'hang') return;
        if (typeof step === 'number') return res.writeHead(step, { 'content-type': 'text/plain' }).end(`answer ${step}`);
        setTimeout(() => res.writeHead(step.status, step.headers).end('slow answer'), step.delayMs);
      });
    });
  }
  async start(): Promise<this> {
    this.url = await listenLoopback(this.server);
    return this;
  }
  close(): Promise<void> {
    return closeNow(this.server);
  }
}
