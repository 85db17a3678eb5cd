/**
 * Graceful shutdown of the real `asyncgate serve` process (SIGTERM): every request in flight gets the same
 * grace (--shutdown-grace), the listener stays open during the drain so health checks and new requests get a
 * 503 rather than a refused connection, long polls and event streams end at once, and what is left when the
 * grace runs out is cut (requests) or handed back (jobs).
 */
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { eventually, GatewayProcess, tempDir } from '../helpers/gateway-process.js';
import { closed, httpRequest } from '../helpers/http-request.js';
import { SseReader } from '../helpers/sse.js';
import { TestUpstream } from '../helpers/upstream.js';

const dir = tempDir();
let upstream: TestUpstream;
before(async () => {
  upstream = await new TestUpstream().start();
});
after(() => upstream.close());

let n = 0;
const gateway = (...args: string[]) => new GatewayProcess(['--upstream', upstream.url, '--db', `sqlite:${join(dir, `g${++n}.db`)}`, ...args]).start();
const upstreamSaw = (url: string) => eventually(async () => upstream.seen.some((r) => r.url === url));
const drainStarted = (gw: GatewayProcess) => eventually(async () => gw.logs.some((l) => l.msg === 'shutting down'));

async function submit(base: string, path: string): Promise<{ id: string; monitor: string }> {
  const res = await fetch(base + path, { headers: { prefer: 'respond-async' } });
  assert.equal(res.status, 202);
  const body = (await res.json()) as { id: string };
  return { id: body.id, monitor: `${base}/_async/jobs/${body.id}` };
}

test('SIGTERM lets an in-flight pass-through request finish (not cut after a second), then exits 0', async () => {
  const gw = await gateway();
  const url = '/slow?ms=3000&t=passthrough';
  const pending = httpRequest(gw.url + url);
  await upstreamSaw(url);
  const exited = gw.stop();
  const res = await pending;
  assert.equal(res.status, 200);
  assert.equal(res.body, '{"slept":3000}');
  assert.equal(res.headers.connection, 'close', 'an answer written during the drain closes its connection');
  assert.equal(await exited, 0);
});

test('during the drain the listener stays open: new connections get 503 (health too) with Connection: close; idle keep-alive connections are closed', async () => {
  const gw = await gateway();
  // A keep-alive connection that is idle when the drain starts.
  const agent = new Agent({ keepAlive: true });
  let idle: Socket | undefined;
  assert.equal((await httpRequest(`${gw.url}/ok`, { agent, onSocket: (s) => (idle = s) })).status, 200);
  // A request in flight holds the drain open.
  const url = '/slow?ms=4000&t=held';
  let settled = false;
  const held = httpRequest(gw.url + url).finally(() => (settled = true));
  await upstreamSaw(url);
  const exited = gw.stop();
  await drainStarted(gw);

  await closed(idle!);
  assert.equal(settled, false, 'the idle connection was closed at the start of the drain, not at its end');

  const health = await httpRequest(`${gw.url}/_async/health`);
  assert.equal(health.status, 503);
  assert.equal((JSON.parse(health.body) as { status: string }).status, 'stopping');
  assert.equal(health.headers.connection, 'close');
  assert.ok(health.headers['retry-after']);

  const refused = await httpRequest(`${gw.url}/ok`);
  assert.equal(refused.status, 503);
  assert.equal((JSON.parse(refused.body) as { type: string }).type, 'urn:asyncgate:problem:shutting-down');
  assert.equal(refused.headers['retry-after'], '5');
  assert.equal(refused.headers.connection, 'close');
  assert.equal(settled, false, 'the drain was still on while those were answered');

  assert.equal((await held).status, 200);
  assert.equal(await exited, 0);
  agent.destroy();
});

test('long polls and event streams end at once when the drain starts; a long poll during the drain answers at once', async () => {
  // One worker: /health's `watched` counts the waiters of the process that answers it.
  const gw = await gateway('--shutdown-grace', '5s', '--workers', '1');
  // Jobs that never finish: whatever the long poll and the stream say, no completion woke them.
  const polled = await submit(gw.url, '/hang?t=poll');
  const streamed = await submit(gw.url, '/hang?t=stream');
  await eventually(async () => upstream.seen.filter((r) => r.url.startsWith('/hang?t=')).length === 2);
  const stream = await SseReader.open(`${streamed.monitor}/events`);
  assert.equal(stream.status, 200);
  assert.notEqual(await stream.nextEvent(), 'end');
  const poll = httpRequest(polled.monitor, { headers: { prefer: 'wait=50' } });
  const watched = async () => ((await (await fetch(`${gw.url}/_async/health`)).json()) as { watched: number }).watched;
  await eventually(async () => (await watched()) === 2);

  const exited = gw.stop();
  const answer = await poll;
  assert.equal(answer.status, 200);
  assert.equal((JSON.parse(answer.body) as { status: string }).status, 'Running', 'answered at drain start, not at hand-back');
  while ((await stream.next()) !== 'end');
  // Still draining (the listener answers): the stream was ended at the start, not cut at the end.

  const during = await httpRequest(polled.monitor, { headers: { prefer: 'wait=50' } });
  assert.equal(during.status, 200);
  assert.equal((JSON.parse(during.body) as { status: string }).status, 'Running');
  assert.equal(during.headers.connection, 'close');
  assert.equal(await exited, 0);
});

test('--shutdown-grace bounds the drain: a request still in flight is cut, a running job is handed back, exit 0', async () => {
  const gw = await gateway('--shutdown-grace', '1s');
  const job = await submit(gw.url, '/hang?t=job');
  const url = '/hang?t=passthrough';
  const pending = httpRequest(gw.url + url).then(
    () => 'answered',
    () => 'cut',
  );
  await upstreamSaw(url);
  await eventually(async () => upstream.seen.some((r) => r.jobId === job.id));
  const started = Date.now();
  assert.equal(await gw.stop(), 0);
  assert.ok(Date.now() - started < 20_000, 'gone well before any default grace');
  assert.equal(await pending, 'cut');
  const handedBack = gw.logs.find((l) => l.msg === 'handed back leases') as { requeued?: number } | undefined;
  assert.equal(handedBack?.requeued, 1, 'the GET job is requeued for the next process');
});
