/**
 * `GET {prefix}/jobs/{id}/ws`, end to end: real gateways in this process on loopback over real SQLite files, a
 * real upstream that holds each job and reports progress, and a real `ws` client. The messages, their order and
 * the close at a terminal state; `?after=` resume; gone; ping/pong and the cut of a peer that stops answering;
 * the owner check before the upgrade (404, no upgrade); 426 without `Upgrade`; other upgrade requests served as
 * plain requests; 1001 on shutdown; library mode through `asyncgate/node`.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { WebSocket, type RawData } from 'ws';
import { monitorUpgrades, withMonitor } from '../../src/adapters/node.js';
import { resolveSettings } from '../../src/config/settings.js';
import { createGateway, type Gateway } from '../../src/gateway/server.js';
import { createAsyncgate, type Asyncgate } from '../../src/library/asyncgate.js';
import { eventually, tempDir } from '../helpers/gateway-process.js';
import { ProgressUpstream } from '../helpers/progress-upstream.js';
import { TinyServer } from '../helpers/tiny-server.js';

interface Status {
  id: string;
  status: string;
  progress?: { current?: number; total?: number; message?: string };
  links: Record<string, { href: string }>;
}
interface Message {
  event: string;
  id?: number;
  data: Status | Record<string, never>;
}
type Item = { kind: 'message'; message: Message } | { kind: 'close'; code: number };

const ADMIN = 'admin-token-0123456789abcdef';

/** A `ws` client that queues what it receives: messages, then its close code. */
class WsReader {
  private readonly items: Item[] = [];
  private waiter: (() => void) | undefined;
  pings = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: RawData, isBinary: boolean) => {
      assert.equal(isBinary, false, 'a binary frame');
      this.push({ kind: 'message', message: JSON.parse(String(data)) as Message });
    });
    ws.on('ping', () => this.pings++);
    ws.on('close', (code: number) => this.push({ kind: 'close', code }));
  }

  /** Open, resolving once upgraded; rejects with the HTTP answer when the server refuses the upgrade. */
  static open(url: string, options: { headers?: Record<string, string>; autoPong?: boolean } = {}): Promise<WsReader> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers: options.headers, autoPong: options.autoPong ?? true });
      const reader = new WsReader(ws);
      ws.once('open', () => resolve(reader));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d));
        res.on('end', () => reject(Object.assign(new Error(`refused: ${res.statusCode}`), { status: res.statusCode, headers: res.headers, body })));
      });
      ws.once('error', (error) => reject(error));
    });
  }

  async next(): Promise<Item> {
    while (this.items.length === 0) await new Promise<void>((r) => (this.waiter = r));
    return this.items.shift()!;
  }

  async message(): Promise<Message> {
    const item = await this.next();
    assert.equal(item.kind, 'message', `expected a message, got ${JSON.stringify(item)}`);
    return (item as { message: Message }).message;
  }

  async closed(): Promise<number> {
    const item = await this.next();
    assert.equal(item.kind, 'close', `expected the close, got ${JSON.stringify(item)}`);
    return (item as { code: number }).code;
  }

  private push(item: Item): void {
    this.items.push(item);
    this.waiter?.();
    this.waiter = undefined;
  }
}

/** The refusal `WsReader.open` rejected with. */
async function refused(promise: Promise<WsReader>): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { status: number; headers: Record<string, string>; body: string };
  }
  assert.fail('the upgrade was not refused');
}

const wsUrl = (httpUrl: string) => httpUrl.replace(/^http/, 'ws');

const upstream = new ProgressUpstream();
const dir = tempDir('asyncgate-ws-');
let gw: Gateway;

before(async () => {
  await upstream.start();
  const settings = resolveSettings({}, { upstream: upstream.url, db: `sqlite:${join(dir, 'jobs.db')}`, port: 0, eventsHeartbeatMs: 200, adminToken: ADMIN });
  gw = await createGateway(settings, pino({ level: 'silent' }));
  await gw.listen();
});

after(async () => {
  await gw.close(1000);
  await upstream.close();
});

async function startJob(headers: Record<string, string> = {}) {
  const res = await fetch(`${gw.url}/work`, { method: 'POST', body: 'x', headers: { prefer: 'respond-async', ...headers } });
  assert.equal(res.status, 202);
  const body = (await res.json()) as Status;
  const forwarded = await upstream.request(body.id);
  const monitor = `${gw.url}/_async/jobs/${body.id}`;
  const report = (progress: unknown) =>
    fetch(String(forwarded.headers['asyncgate-progress-url']), {
      method: 'POST',
      body: JSON.stringify(progress),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${String(forwarded.headers['asyncgate-progress-token'])}` },
    });
  return { id: body.id, body, monitor, ws: `${wsUrl(monitor)}/ws`, report };
}

describe('GET /_async/jobs/{id}/ws', () => {
  test('discovery: links.websocket is the ws:// URL of the job', async () => {
    const a = await startJob();
    assert.equal(a.body.links.websocket?.href, a.ws);
    const monitor = (await (await fetch(a.monitor)).json()) as Status;
    assert.equal(monitor.links.websocket?.href, a.ws);
    await upstream.finish(a.id);
  });

  test('the current state at once, every change in order, pings, then close 1000 after the terminal state', async () => {
    const a = await startJob();
    const client = await WsReader.open(a.ws);
    const first = await client.message();
    assert.equal(first.event, 'status');
    const current = await fetch(a.monitor);
    // The data is exactly the monitor's body, and the id its version (the ETag).
    assert.deepEqual(first.data, await current.json());
    assert.equal(`"${first.id}"`, current.headers.get('etag'));
    assert.equal((first.data as Status).status, 'Running');

    assert.equal((await a.report({ current: 1, total: 2, message: 'half' })).status, 204);
    const second = await client.message();
    assert.ok(second.id! > first.id!);
    assert.deepEqual((second.data as Status).progress, { current: 1, total: 2, message: 'half' });

    await upstream.processing(a.id, '2/2 "nearly"');
    const third = await client.message();
    assert.ok(third.id! > second.id!);
    assert.equal((third.data as Status).progress?.message, 'nearly');

    // Keep-alive pings (every 200 ms here), answered by the client's automatic pong: the socket stays open.
    await eventually(async () => client.pings >= 2);

    await upstream.finish(a.id);
    const last = await client.message();
    assert.equal((last.data as Status).status, 'Succeeded');
    assert.ok(last.id! > third.id!);
    assert.equal(await client.closed(), 1000);
  });

  test('?after=VERSION: versions the client has are not sent again; resuming a finished job closes at once', async () => {
    const a = await startJob();
    await a.report({ current: 1, total: 3 });
    const v1 = Number(JSON.parse((await fetch(a.monitor)).headers.get('etag')!));
    await a.report({ current: 2, total: 3 });

    const resumed = await WsReader.open(`${a.ws}?after=${v1}`);
    const m = await resumed.message();
    assert.ok(m.id! > v1);
    assert.equal((m.data as Status).progress?.current, 2);

    // Already up to date: nothing until the next change.
    const upToDate = await WsReader.open(`${a.ws}?after=${m.id}`);
    await a.report({ current: 3, total: 3 });
    const next = await upToDate.message();
    assert.equal((next.data as Status).progress?.current, 3);
    assert.equal(((await resumed.message()).data as Status).progress?.current, 3);

    await upstream.finish(a.id);
    const final = await upToDate.message();
    assert.equal((final.data as Status).status, 'Succeeded');
    assert.equal(await upToDate.closed(), 1000);
    const late = await WsReader.open(`${a.ws}?after=${final.id}`);
    assert.equal(await late.closed(), 1000);
    // A value that is not a version counts as none: the terminal state, then the close.
    const fresh = await WsReader.open(`${a.ws}?after=banana`);
    assert.equal(((await fresh.message()).data as Status).status, 'Succeeded');
    assert.equal(await fresh.closed(), 1000);
  });

  test('deleted meanwhile: a gone message, then close 1000; afterwards 410 and no upgrade', async () => {
    const a = await startJob();
    const client = await WsReader.open(a.ws);
    assert.equal((await client.message()).event, 'status');
    assert.equal((await fetch(a.monitor, { method: 'DELETE' })).status, 204);
    assert.deepEqual(await client.message(), { event: 'gone', data: {} });
    assert.equal(await client.closed(), 1000);
    const after = await refused(WsReader.open(a.ws));
    assert.equal(after.status, 410);
    assert.equal(after.headers['content-type'], 'application/problem+json');
  });

  test('the owner check comes before the upgrade: other credentials, none, or no such job get 404 and no upgrade', async () => {
    const a = await startJob({ authorization: 'Bearer alice' });
    for (const headers of [{ authorization: 'Bearer mallory' }, {}] as Array<Record<string, string>>) {
      const r = await refused(WsReader.open(a.ws, { headers }));
      assert.equal(r.status, 404);
      assert.equal(r.headers['content-type'], 'application/problem+json');
      assert.equal((JSON.parse(r.body) as { type: string }).type, 'urn:asyncgate:problem:job-not-found');
    }
    assert.equal((await refused(WsReader.open(`${wsUrl(gw.url)}/_async/jobs/${'A'.repeat(30)}/ws`))).status, 404);
    const ok = await WsReader.open(a.ws, { headers: { authorization: 'Bearer alice' } });
    assert.equal(((await ok.message()).data as Status).id, a.id);
    // A browser's cross-site handshake carrying cookies is refused (cookies could be what identifies the owner).
    const crossSite = await refused(WsReader.open(a.ws, { headers: { authorization: 'Bearer alice', cookie: 'session=1', origin: 'https://evil.example' } }));
    assert.equal(crossSite.status, 403);
    ok.ws.close();
    await upstream.finish(a.id);
  });

  test('without Upgrade: websocket, the path answers 426 with Upgrade (after the owner check)', async () => {
    const a = await startJob({ authorization: 'Bearer alice' });
    const res = await fetch(a.ws.replace(/^ws/, 'http'), { headers: { authorization: 'Bearer alice' } });
    assert.equal(res.status, 426);
    assert.equal(res.headers.get('upgrade'), 'websocket');
    assert.equal(((await res.json()) as { type: string }).type, 'urn:asyncgate:problem:upgrade-required');
    assert.equal((await fetch(a.ws.replace(/^ws/, 'http'), { headers: { authorization: 'Bearer mallory' } })).status, 404);
    assert.equal((await fetch(a.ws.replace(/^ws/, 'http'), { method: 'POST', headers: { authorization: 'Bearer alice' } })).status, 405);
    await upstream.finish(a.id);
  });

  test('a peer that stops answering pings is cut; the watcher count follows the open sockets', async () => {
    const watchers = async () => {
      const text = await (await fetch(`${gw.url}/_async/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
      return Number(/^asyncgate_open_watchers\{kind="websocket"\} (\d+)$/m.exec(text)?.[1]);
    };
    await eventually(async () => (await watchers()) === 0);
    const a = await startJob();
    const silent = await WsReader.open(a.ws, { autoPong: false });
    assert.equal((await silent.message()).event, 'status');
    assert.equal(await watchers(), 1);
    // No pong: terminated at the next heartbeat, with no close frame (1006 on the client's side).
    assert.equal(await silent.closed(), 1006);
    assert.ok(silent.pings >= 1);
    await eventually(async () => (await watchers()) === 0);
    await upstream.finish(a.id);
  });
});

describe('other upgrade requests, and shutdown', () => {
  const echo = new TinyServer((req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(`${req.method} ${req.path} ${req.body} upgrade=${String(req.headers.upgrade)}`));
  let second: Gateway;

  before(async () => {
    await echo.start();
    const settings = resolveSettings({}, { upstream: upstream.url, db: `sqlite:${join(dir, 'second.db')}`, port: 0 });
    second = await createGateway(settings, pino({ level: 'silent' }));
    await second.listen();
  });

  after(async () => {
    await second.close(1000);
    await echo.close();
  });

  test('an upgrade to another protocol or path is served as a plain request, body and all', async () => {
    const third = await createGateway(resolveSettings({}, { upstream: echo.url, db: `sqlite:${join(dir, 'third.db')}`, port: 0 }), pino({ level: 'silent' }));
    const base = new URL(await third.listen());
    try {
      const answer = await new Promise<string>((resolve, reject) => {
        const s = net.connect(Number(base.port), base.hostname, () => {
          s.write('POST /h2c HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nContent-Length: 5\r\n\r\nhel');
          setTimeout(() => s.write('lo'), 50);
        });
        let text = '';
        s.on('data', (d: Buffer) => {
          text += d;
          if (/upgrade=\w+/.test(text)) s.destroy();
        });
        s.on('close', () => resolve(text));
        s.on('error', reject);
      });
      assert.match(answer, /^HTTP\/1\.1 200 /);
      assert.match(answer, /POST \/h2c hello upgrade=undefined/);
      assert.equal(echo.requests('/h2c')[0]?.headers['http2-settings'], undefined);
      // A WebSocket to the upstream's own path: the upstream sees a plain GET (asyncgate proxies no WebSockets).
      const r = await refused(WsReader.open(`${wsUrl(base.origin)}/chat`));
      assert.equal(r.status, 200);
      assert.match(r.body, /^GET \/chat {2}upgrade=undefined$/);
    } finally {
      await third.close(1000);
    }
  });

  test('shutdown closes every socket with 1001 going away; the client resumes elsewhere with ?after=', async () => {
    const res = await fetch(`${second.url}/work`, { method: 'POST', body: 'x', headers: { prefer: 'respond-async' } });
    const { id } = (await res.json()) as Status;
    await upstream.request(id);
    const url = `${wsUrl(second.url)}/_async/jobs/${id}/ws`;
    const clients = await Promise.all([1, 2, 3].map(() => WsReader.open(url)));
    for (const c of clients) assert.equal((await c.message()).event, 'status');
    const closing = second.close(5000);
    for (const c of clients) assert.equal(await c.closed(), 1001);
    await upstream.finish(id);
    await closing;
  });
});

describe('library mode (asyncgate/node)', () => {
  let gate: Asyncgate;
  let server: Server;
  let base = '';
  const release = new Map<string, () => void>();
  const started = new Map<string, (report: (n: number) => Promise<void>) => void>();

  before(async () => {
    gate = await createAsyncgate({ db: `sqlite:${join(dir, 'lib.db')}`, eventsHeartbeat: 200, logger: pino({ level: 'silent' }) });
    const work = gate.route('work', async ({ jobId, progress }) => {
      started.get('next')?.((n) => progress(n, 3));
      await new Promise<void>((r) => release.set(jobId ?? 'inline', r));
      return { done: jobId };
    });
    server = createServer(withMonitor(gate, (req, res) => void work(req, res)));
    monitorUpgrades(server, gate);
    await gate.start();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    for (const r of release.values()) r();
    await gate.close(1000);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  test('the same messages, owner check and close as the gateway', async () => {
    const reporter = new Promise<(n: number) => Promise<void>>((r) => started.set('next', r));
    const res = await fetch(`${base}/work`, { method: 'POST', body: '{}', headers: { prefer: 'respond-async', authorization: 'Bearer lib', 'content-type': 'application/json' } });
    assert.equal(res.status, 202);
    const body = (await res.json()) as Status;
    const report = await reporter;
    assert.equal(body.links.websocket?.href, `${wsUrl(base)}/_async/jobs/${body.id}/ws`);
    assert.equal((await refused(WsReader.open(body.links.websocket!.href, { headers: { authorization: 'Bearer other' } }))).status, 404);
    const client = await WsReader.open(body.links.websocket!.href, { headers: { authorization: 'Bearer lib' } });
    assert.equal(((await client.message()).data as Status).status, 'Running');
    await report(2);
    assert.equal(((await client.message()).data as Status).progress?.current, 2);
    await eventually(async () => client.pings >= 1);
    release.get(body.id)!();
    assert.equal(((await client.message()).data as Status).status, 'Succeeded');
    assert.equal(await client.closed(), 1000);
    // A plain GET of the same path: 426, through handlePrefix.
    const plain = await fetch(`${base}/_async/jobs/${body.id}/ws`, { headers: { authorization: 'Bearer lib' } });
    assert.equal(plain.status, 426);
  });
});
