import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually } from './gateway-process.js';

interface Held {
  headers: IncomingHttpHeaders;
  res: ServerResponse;
}

/**
 * A real upstream on loopback that holds each request until the test says, so it can report progress
 * meanwhile — by POSTing to the progress URL it was given, or with `102 Processing` interim responses.
 */
export class ProgressUpstream {
  private readonly server: Server;
  private readonly held = new Map<string, Held>();
  url = '';

  constructor() {
    this.server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const id = req.headers['asyncgate-job-id'];
        if (typeof id === 'string') this.held.set(id, { headers: req.headers, res });
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** The forwarded request of a job, once it has arrived. */
  async request(jobId: string): Promise<Held> {
    return eventually(async () => this.held.get(jobId));
  }

  /**
   * A `102 Processing` interim response with a Progress header. node's `res.writeProcessing()` sends no
   * header fields, so the status line goes onto the socket by hand (before any final response).
   */
  async processing(jobId: string, progress: string): Promise<void> {
    const { res } = await this.request(jobId);
    res.socket!.write(`HTTP/1.1 102 Processing\r\nProgress: ${progress}\r\n\r\n`);
  }

  async finish(jobId: string, status = 200, body = 'done'): Promise<void> {
    const { res } = await this.request(jobId);
    res.writeHead(status, { 'content-type': 'text/plain' }).end(body);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
