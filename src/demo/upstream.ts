import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PUSH_PAGE, PUSH_WORKER } from './push-page.js';

export interface DemoUpstream {
  url: string;
  close(): Promise<void>;
}

const ENDPOINTS = {
  'GET /hello': 'fast plain-text answer',
  'GET /reports/:year?seconds=3': 'a JSON report that takes a few seconds (progress: 102 Processing + Progress)',
  'POST /cart/checkout': 'a checkout that takes 2 s (JSON body, e.g. {"cart_id":1234})',
  'POST /exports?seconds=5': 'a CSV export (progress: POSTed to the gateway)',
  'GET /fail': 'always answers 500',
  'ANY /echo': 'echoes method, path, headers and body',
  'ANY /inbox/*': 'a callback receiver: keeps the last 20 callbacks it gets',
  'GET /inbox': 'what the callback receiver got (headers and body)',
  'GET /push': 'a page that subscribes the browser to Web Push and starts a job that notifies it (open it through the gateway)',
};

interface Inboxed {
  at: string;
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/**
 * Work for `total` ms in steps, reporting progress after each the way asyncgate asks upstreams to: `102
 * Processing` + `Progress` when `interim` (node's res.writeProcessing() sends no header fields, so the line
 * goes on the socket), else a POST to the progress URL the gateway sent. Only for requests the gateway runs
 * as jobs (they carry asyncgate-job-id).
 */
async function workWithProgress(req: IncomingMessage, res: ServerResponse, totalMs: number, interim: boolean, signal: AbortSignal): Promise<void> {
  const steps = Math.max(1, Math.min(20, Math.round(totalMs / 1000)));
  const url = req.headers['asyncgate-progress-url'];
  const token = req.headers['asyncgate-progress-token'];
  for (let i = 1; i <= steps && !signal.aborted; i++) {
    await sleep(totalMs / steps, signal);
    if (!req.headers['asyncgate-job-id'] || i === steps) continue;
    if (interim) {
      if (!res.headersSent && res.socket?.writable) res.socket.write(`HTTP/1.1 102 Processing\r\nProgress: ${i}/${steps} "step ${i} of ${steps}"\r\n\r\n`);
    } else if (typeof url === 'string' && typeof token === 'string') {
      const body = JSON.stringify({ percentComplete: Math.round((100 * i) / steps), message: `exported ${i} of ${steps} parts` });
      await fetch(url, { method: 'POST', body, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, signal }).catch(() => undefined);
    }
  }
}

function seconds(url: URL, fallback: number): number {
  const n = Number(url.searchParams.get('seconds') ?? fallback);
  return Number.isFinite(n) ? Math.min(Math.max(n, 0), 600) : fallback;
}

async function readText(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return text;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2) + '\n';
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The demo API asyncgate fronts in `asyncgate demo`: slow endpoints, so there is something to wait for. */
export async function startDemoUpstream(port = 3001, host = '127.0.0.1'): Promise<DemoUpstream> {
  const inbox: Inboxed[] = [];
  const server = createServer((req, res) => {
    const closed = new AbortController();
    res.once('close', () => closed.abort());
    let url: URL;
    try {
      url = new URL(`http://demo${req.url ?? '/'}`); // not `new URL(path, base)`: "//x" would be a host
    } catch {
      return json(res, 400, { error: 'malformed path' });
    }
    const route = `${req.method} ${url.pathname}`;
    void (async () => {
      if (route === 'GET /') return json(res, 200, { service: 'asyncgate demo upstream', endpoints: ENDPOINTS });
      if (route === 'GET /hello') {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 11 });
        return res.end('Hello world');
      }
      const report = /^GET \/reports\/(\w+)$/.exec(route);
      if (report) {
        await workWithProgress(req, res, seconds(url, 3) * 1000, true, closed.signal);
        return json(res, 200, { report: report[1], rows: 1234, generatedAt: new Date().toISOString() });
      }
      if (route === 'POST /cart/checkout') {
        const body = await readText(req);
        await sleep(2000, closed.signal);
        let cart: unknown = null;
        try {
          cart = (JSON.parse(body) as { cart_id?: unknown }).cart_id ?? null;
        } catch {
          return json(res, 400, { error: 'body must be JSON like {"cart_id":1234}' });
        }
        return json(res, 201, { order: `ord_${Date.now().toString(36)}`, cart_id: cart, status: 'paid' });
      }
      if (route === 'POST /exports') {
        await readText(req);
        await workWithProgress(req, res, seconds(url, 5) * 1000, false, closed.signal);
        res.writeHead(200, { 'content-type': 'text/csv' });
        return res.end('id,name\n1,alpha\n2,beta\n');
      }
      if (route === 'GET /push' || route === 'GET /push/sw.js') {
        const [text, type] = route === 'GET /push' ? [PUSH_PAGE, 'text/html; charset=utf-8'] : [PUSH_WORKER, 'text/javascript'];
        res.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-cache' });
        return res.end(text);
      }
      if (route === 'GET /fail') return json(res, 500, { error: 'this endpoint always fails' });
      if (route === 'GET /inbox') return json(res, 200, { received: inbox });
      if (url.pathname.startsWith('/inbox/')) {
        const body = await readText(req);
        inbox.unshift({ at: new Date().toISOString(), method: req.method ?? '', path: url.pathname, headers: req.headers, body });
        inbox.length = Math.min(inbox.length, 20);
        res.writeHead(204).end();
        return;
      }
      if (url.pathname === '/echo') {
        const body = await readText(req);
        return json(res, 200, { method: req.method, path: req.url, headers: req.headers, body });
      }
      json(res, 404, { error: `no demo endpoint ${route}`, endpoints: ENDPOINTS });
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const { port: actual } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${actual}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
