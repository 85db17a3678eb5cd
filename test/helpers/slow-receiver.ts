import { createServer, type Server } from 'node:http';
import { closeNow, listenLoopback } from './loopback.js';

/** A destination that answers after `delayMs`, by plan (status codes; 200 once the plan runs out), and records
 * each arrival's body, time and how many were in flight when it arrived. */
export class SlowReceiver {
  readonly arrivals: Array<{ body: string; at: number; inFlight: number; headers: Record<string, string | string[] | undefined> }> = [];
  private inFlight = 0;
  maxInFlight = 0;
  private readonly server: Server;
  url = '';
  constructor(
    private readonly delayMs: number,
    public plan: number[] = [],
  ) {
    this.server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        this.inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        this.arrivals.push({ body: Buffer.concat(parts).toString(), at: Date.now(), inFlight: this.inFlight, headers: req.headers });
        const status = this.plan.shift() ?? 200;
        setTimeout(() => {
          this.inFlight--;
          res.writeHead(status).end(`answer ${status}`);
        }, this.delayMs);
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
