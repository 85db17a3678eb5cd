import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  jobId: string | undefined;
  aborted: boolean;
}

/**
 * A real upstream on loopback for end-to-end tests. Paths:
 * /ok, /slow?ms=N, /status/CODE, /echo, /flaky/KEY?fail=N (503 N times then 200), /hang (never answers),
 * /drop (reads the request, then destroys the socket), /big?bytes=N, /headers (sets odd headers).
 */
export class TestUpstream {
  readonly seen: SeenRequest[] = [];
  private readonly server: Server;
  private readonly flaky = new Map<string, number>();
  url = '';

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let u: URL;
        try {
          u = new URL(`http://x${req.url ?? '/'}`);
        } catch {
          return res.writeHead(400).end('bad path');
        }
        const record: SeenRequest = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
          jobId: req.headers['asyncgate-job-id'] as string | undefined,
          aborted: false,
        };
        this.seen.push(record);
        res.on('close', () => {
          if (!res.writableFinished) record.aborted = true;
        });
        const p = u.pathname;
        if (p === '/ok') return res.writeHead(200, { 'content-type': 'text/plain' }).end('Hello world');
        if (p === '/slow') {
          const t = setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ slept: Number(u.searchParams.get('ms')) })), Number(u.searchParams.get('ms') ?? 1000));
          res.on('close', () => clearTimeout(t));
          return;
        }
        const status = /^\/status\/(\d{3})$/.exec(p);
        if (status) return res.writeHead(Number(status[1]), { 'content-type': 'application/json' }).end(JSON.stringify({ status: Number(status[1]) }));
        if (p === '/echo') {
          return res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'yes' }).end(JSON.stringify(record));
        }
        const flaky = /^\/flaky\/(\w+)$/.exec(p);
        if (flaky) {
          const n = (this.flaky.get(flaky[1]!) ?? 0) + 1;
          this.flaky.set(flaky[1]!, n);
          if (n <= Number(u.searchParams.get('fail') ?? 1)) return res.writeHead(503, { 'retry-after': '0' }).end('busy');
          return res.writeHead(200, { 'content-type': 'text/plain' }).end(`ok after ${n}`);
        }
        if (p === '/cart/checkout') {
          const cart = (JSON.parse(record.body || '{}') as { cart_id?: number }).cart_id;
          return res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ order: 'ord_1', cart_id: cart }));
        }
        if (p === '/hang') return;
        if (p === '/drop') return req.socket.destroy();
        if (p === '/big') {
          const size = Number(u.searchParams.get('bytes') ?? 1_000_000);
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          let sent = 0;
          const block = Buffer.alloc(64 * 1024, 'x');
          const pump = () => {
            while (sent < size) {
              const n = Math.min(block.length, size - sent);
              sent += n;
              if (!res.write(block.subarray(0, n))) return void res.once('drain', pump);
            }
            res.end();
          };
          return pump();
        }
        if (p === '/headers') {
          return res
            .writeHead(200, { 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'], 'x-custom': 'v', connection: 'close' })
            .end('h');
        }
        res.writeHead(404).end('no such test path');
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  requestsFor(jobId: string): SeenRequest[] {
    return this.seen.filter((r) => r.jobId === jobId);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
