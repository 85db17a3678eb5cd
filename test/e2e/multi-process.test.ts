/**
 * Scale-out on PostgreSQL: three real gateway processes share one job space. A client submits
 * through one, polls through another, long-polls through a third and is woken the moment the job finishes
 * wherever it ran; callbacks go out once; one process killed mid-load loses nothing; every database
 * connection cut mid-load is survived; a database that is down at start-up is waited for.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { eventually, GatewayProcess, sleep } from '../helpers/gateway-process.js';
import { adminQuery, dropSchemas, postgresAvailable, schemaUrl, uniqueSchema } from '../helpers/postgres.js';
import { Receiver } from '../helpers/receiver.js';
import { SseReader } from '../helpers/sse.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { closeNow, listenLoopback } from '../helpers/loopback.js';

const available = await postgresAvailable();
const TOKEN = 'admin-token-0123456789abcdef';
const schemas: string[] = [];

/** An upstream that counts how often it saw each job, answering after `?ms=` (default 300 ms). */
class CountingUpstream {
  readonly seen = new Map<string, number>();
  /** Jobs whose request the gateway abandoned before the answer (canceled, timed out). */
  readonly aborted = new Set<string>();
  private readonly server: Server;
  url = '';
  constructor() {
    this.server = createServer((req, res) => {
      const id = String(req.headers['asyncgate-job-id']);
      this.seen.set(id, (this.seen.get(id) ?? 0) + 1);
      req.resume();
      const ms = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('ms') ?? 300);
      const t = setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end(`done ${req.url}`), ms);
      res.on('close', () => {
        clearTimeout(t);
        if (!res.writableFinished) this.aborted.add(id);
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

async function startCluster(db: string, upstream: string, extra: string[] = [], n = 3): Promise<GatewayProcess[]> {
  const args = ['--upstream', upstream, '--db', db, '--admin-token', TOKEN, '--lease', '3s', '--allow-callback-hosts', '127.0.0.1', ...extra];
  return Promise.all(Array.from({ length: n }, () => new GatewayProcess(args).start(30_000)));
}

async function stopAll(...gws: GatewayProcess[]): Promise<void> {
  await Promise.all(gws.map((g) => g.stop()));
}

const terminal = (s: string) => s === 'Succeeded' || s === 'Failed' || s === 'Canceled';

describe('multi-process on PostgreSQL', { skip: !available && 'PostgreSQL not reachable', concurrency: false }, () => {
  let upstream: CountingUpstream;
  const gateways: GatewayProcess[] = [];
  before(async () => {
    upstream = await new CountingUpstream().start();
  });
  after(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    await upstream.close();
    await dropSchemas(schemas);
  });

  test('submit on A, poll and stream on B, long-poll on C: woken when the job finishes wherever it ran', async () => {
    const schema = uniqueSchema('mp_space');
    schemas.push(schema);
    const [a, b, c] = await startCluster(schemaUrl(schema), upstream.url);
    gateways.push(a!, b!, c!);

    const accepted = await fetch(`${a!.url}/report?ms=1500`, { method: 'POST', headers: { prefer: 'respond-async' }, body: 'x' });
    assert.equal(accepted.status, 202);
    const { id } = (await accepted.json()) as { id: string };

    // An event stream on B: it must see the job through to the end, whichever process runs it.
    const stream = await SseReader.open(`${b!.url}/_async/jobs/${id}/events`);
    assert.equal(stream.status, 200);
    const streamed: string[] = [];
    const streamDone = (async () => {
      for (;;) {
        const event = await stream.nextEvent(20_000);
        if (event === 'end') return;
        streamed.push((JSON.parse(event.data) as { status: string }).status);
      }
    })();

    const polled = await fetch(`${b!.url}/_async/jobs/${id}`);
    assert.equal(polled.status, 200);
    assert.ok(['NotStarted', 'Running'].includes(((await polled.json()) as { status: string }).status));

    // Long poll on C until terminal: each answer comes on a change (a wake-up from another process), never
    // by running out the 30 s wait.
    let status = '';
    let etag = polled.headers.get('etag') ?? '';
    const started = Date.now();
    while (!terminal(status)) {
      const res = await fetch(`${c!.url}/_async/jobs/${id}`, { headers: { prefer: 'wait=30', 'if-none-match': etag } });
      assert.ok(Date.now() - started < 15_000, 'the long poll was woken, not timed out');
      if (res.status === 304) continue;
      etag = res.headers.get('etag') ?? '';
      status = ((await res.json()) as { status: string }).status;
    }
    assert.equal(status, 'Succeeded');
    await streamDone;
    assert.equal(streamed.at(-1), 'Succeeded', `the stream on B saw ${streamed.join(' → ')} and ended`);

    const result = await fetch(`${c!.url}/_async/jobs/${id}/result`);
    assert.equal(result.status, 200);
    assert.equal(await result.text(), 'done /report?ms=1500');

    const listed = (await (await fetch(`${b!.url}/_async/admin/jobs?limit=100`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as {
      items: Array<{ id: string }>;
    };
    assert.ok(listed.items.some((j) => j.id === id), 'the admin API of another process sees the job');
    assert.equal(upstream.seen.get(id), 1);
    await stopAll(a!, b!, c!);
  });

  test('a job canceled through one process has its upstream request aborted by the process running it', async () => {
    const schema = uniqueSchema('mp_cancel');
    schemas.push(schema);
    const [a, b] = await startCluster(schemaUrl(schema), upstream.url, [], 2);
    gateways.push(a!, b!);
    const res = await fetch(`${a!.url}/long?ms=20000`, { method: 'POST', headers: { prefer: 'respond-async' }, body: 'x' });
    const { id } = (await res.json()) as { id: string };
    await eventually(async () => upstream.seen.has(id));
    // Submitted (and so most likely run) on A, canceled through B: A learns of it from B's NOTIFY.
    const canceled = (await (await fetch(`${b!.url}/_async/jobs/${id}/cancel`, { method: 'POST' })).json()) as { status: string };
    assert.equal(canceled.status, 'Canceled');
    await eventually(async () => upstream.aborted.has(id), 5_000);
    await stopAll(a!, b!);
  });

  test('work spreads over the processes; each callback is delivered once', async () => {
    const schema = uniqueSchema('mp_cb');
    schemas.push(schema);
    const cluster = await startCluster(schemaUrl(schema), upstream.url);
    gateways.push(...cluster);
    const receiver = await new Receiver().start();
    const ids: string[] = [];
    await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const gw = cluster[i % 3]!;
        const res = await fetch(`${gw.url}/job/${i}?ms=100`, {
          method: 'POST',
          headers: { prefer: 'respond-async', callback: `<${receiver.url}/hook/${i}>; rel="redirect"` },
          body: `job ${i}`,
        });
        assert.equal(res.status, 202);
        ids.push(((await res.json()) as { id: string }).id);
      }),
    );
    await eventually(async () => receiver.received.length >= 60, 30_000);
    await sleep(1_000); // room for a duplicate to show up
    const webhookIds = receiver.received.map((r) => String(r.headers['webhook-id']));
    assert.equal(webhookIds.length, 60);
    assert.equal(new Set(webhookIds).size, 60, 'no callback delivered twice');
    for (const id of ids) assert.equal(upstream.seen.get(id), 1, `job ${id} ran once`);
    await receiver.close();
    await stopAll(...cluster);
  });

  test('kill -9 of one process mid-load: the others take over within the lease, nothing lost or run twice', async () => {
    const schema = uniqueSchema('mp_kill');
    schemas.push(schema);
    const cluster = await startCluster(schemaUrl(schema), upstream.url, ['--concurrency', '8']);
    gateways.push(...cluster);
    const receiver = await new Receiver().start();
    const accepted = new Map<string, 'get' | 'post'>();
    let stop = false;
    let n = 0;
    const submitter = async (gw: GatewayProcess) => {
      while (!stop) {
        const i = n++;
        const post = i % 2 === 1;
        try {
          const res = await fetch(`${gw.url}/load/${i}?ms=${200 + (i % 5) * 100}`, {
            method: post ? 'POST' : 'GET',
            headers: { prefer: 'respond-async', callback: `<${receiver.url}/hook/${i}>; rel="redirect"` },
            body: post ? `job ${i}` : undefined,
          });
          if (res.status === 202) accepted.set(((await res.json()) as { id: string }).id, post ? 'post' : 'get');
          else await res.body?.cancel();
        } catch {
          return; // that process is gone: no 202, no promise
        }
      }
    };
    const load = cluster.flatMap((gw) => [submitter(gw), submitter(gw), submitter(gw)]);
    await eventually(async () => accepted.size >= 150, 60_000);
    await cluster[1]!.crash();
    await sleep(500);
    stop = true;
    await Promise.all(load);

    const survivor = cluster[0]!;
    const states = new Map<string, { status: string; error?: { code: string } }>();
    await eventually(
      async () => {
        for (const id of accepted.keys()) {
          if (states.has(id)) continue;
          const body = (await (await fetch(`${survivor.url}/_async/jobs/${id}`)).json()) as {
            status: string;
            error?: { code: string };
          };
          if (terminal(body.status)) states.set(id, body);
        }
        return states.size === accepted.size;
      },
      40_000,
      250,
    );
    for (const [id, kind] of accepted) {
      const s = states.get(id)!;
      const runs = upstream.seen.get(id) ?? 0;
      if (kind === 'get') assert.equal(s.status, 'Succeeded', `GET job ${id} completes`);
      else {
        assert.ok(runs <= 1, `POST job ${id} was sent ${runs} times`);
        assert.ok(s.status === 'Succeeded' || s.error?.code === 'upstream-interrupted', `POST job ${id}: ${JSON.stringify(s)}`);
      }
    }
    await eventually(async () => new Set(receiver.received.map((r) => r.headers['webhook-id'])).size >= accepted.size, 30_000);
    await receiver.close();
    await stopAll(...cluster);
  });

  test('every database connection terminated mid-load: the processes recover and lose nothing', async () => {
    const schema = uniqueSchema('mp_term');
    schemas.push(schema);
    const cluster = await startCluster(schemaUrl(schema), upstream.url);
    gateways.push(...cluster);
    const accepted: Array<{ id: string; gw: GatewayProcess }> = [];
    let failedSubmissions = 0;
    let stop = false;
    let n = 0;
    const submitter = async (gw: GatewayProcess) => {
      while (!stop) {
        const i = n++;
        const res = await fetch(`${gw.url}/t/${i}?ms=50`, { headers: { prefer: 'respond-async' } }).catch(() => null);
        if (!res) continue;
        if (res.status === 202) accepted.push({ id: ((await res.json()) as { id: string }).id, gw });
        else {
          failedSubmissions++; // refused is allowed (no promise made); a 202 is the promise
          await res.body?.cancel();
        }
      }
    };
    const load = cluster.flatMap((gw) => [submitter(gw), submitter(gw)]);
    await eventually(async () => accepted.length >= 100, 30_000);
    const kill = () =>
      adminQuery<{ pid: number }>(`SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`, [
        `asyncgate:${schema}`,
      ]);
    const killed = await kill();
    assert.ok(killed.length >= 6, `terminated ${killed.length} connections`);
    await sleep(300);
    await kill();
    const before = accepted.length;
    await eventually(async () => accepted.length >= before + 100, 30_000);
    stop = true;
    await Promise.all(load);
    for (const gw of cluster) assert.equal((await fetch(`${gw.url}/_async/health`)).status, 200, 'still serving');
    await eventually(
      async () => {
        for (const { id, gw } of accepted) {
          const body = (await (await fetch(`${gw.url}/_async/jobs/${id}`)).json()) as { status: string };
          if (body.status !== 'Succeeded') return false;
        }
        return true;
      },
      30_000,
      500,
    );
    assert.ok(failedSubmissions < accepted.length, `${failedSubmissions} submissions refused during the outage`);
    await stopAll(...cluster);
  });

  test('PostgreSQL down at start-up: a clear message and retries, then it serves once the database is back', async () => {
    const schema = uniqueSchema('mp_down');
    schemas.push(schema);
    const proxy = new TcpProxy(await TcpProxy.freePort(), '127.0.0.1', 5432);
    const gw = new GatewayProcess(['--upstream', upstream.url, '--db', `postgres://postgres@127.0.0.1:${proxy.port}/test?schema=${schema}`]);
    gateways.push(gw);
    const started = gw.start(40_000);
    await eventually(async () => gw.logs.filter((l) => /refused the connection/.test(String(l.msg))).length >= 2, 20_000);
    assert.match(String(gw.logs.find((l) => /refused/.test(String(l.msg)))!.msg), /PostgreSQL at 127\.0\.0\.1:\d+\/test refused the connection \(is it running\?\); retrying in/);
    await proxy.up();
    await started;
    const res = await fetch(`${gw.url}/up?ms=10`, { headers: { prefer: 'respond-async, wait=5' } });
    assert.equal(res.status, 200);
    await gw.stop();
    await proxy.down();
  });
});
