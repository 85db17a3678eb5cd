/**
 * The gateway's connection timeouts, against the real `asyncgate serve` process: a client that never finishes
 * its headers (slowloris) is cut after --headers-timeout, an idle keep-alive connection after --idle-timeout,
 * while long polls, event streams and slow pass-through answers that last longer than both keep working.
 */
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { GatewayProcess, tempDir } from '../helpers/gateway-process.js';
import { httpRequest } from '../helpers/http-request.js';
import { SseReader } from '../helpers/sse.js';
import { TestUpstream } from '../helpers/upstream.js';

let upstream: TestUpstream;
let gw: GatewayProcess;
before(async () => {
  upstream = await new TestUpstream().start();
  gw = await new GatewayProcess([
    '--upstream',
    upstream.url,
    '--db',
    `sqlite:${join(tempDir(), 't.db')}`,
    '--headers-timeout',
    '1s',
    '--idle-timeout',
    '1s',
    '--max-wait',
    '10s',
  ]).start();
});
after(async () => {
  await gw.stop();
  await upstream.close();
});

/** Resolves with what the socket received once it is closed; rejects if it is still open after `ms`. */
function closedWithin(socket: Socket, ms: number): Promise<string> {
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString()));
  socket.on('error', () => {});
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still open after ${ms} ms`)), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
  });
}

test('slowloris: connections that never finish their headers are closed after --headers-timeout', async () => {
  const { port } = new URL(gw.url);
  const sockets = await Promise.all(
    Array.from({ length: 20 }, () => new Promise<Socket>((resolve) => {
      const s = connect(Number(port), '127.0.0.1', () => resolve(s));
    })),
  );
  for (const s of sockets) s.write('GET /ok HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
  // 1 s timeout, checked every 250 ms: 15 s is a generous bound on a loaded machine, and far below "never".
  const answers = await Promise.all(sockets.map((s) => closedWithin(s, 15_000)));
  for (const a of answers) assert.match(a, /^(HTTP\/1\.1 408 |$)/, a);
  // The gateway still serves the well-behaved.
  assert.equal((await httpRequest(`${gw.url}/ok`)).status, 200);
});

test('an idle keep-alive connection is closed after --idle-timeout', async () => {
  const agent = new Agent({ keepAlive: true });
  let socket: Socket | undefined;
  assert.equal((await httpRequest(`${gw.url}/ok`, { agent, onSocket: (s) => (socket = s) })).status, 200);
  await closedWithin(socket!, 15_000);
  agent.destroy();
});

test('a long poll, an event stream and a pass-through answer longer than both timeouts still work', async () => {
  const submit = async (path: string) => {
    const res = await fetch(gw.url + path, { headers: { prefer: 'respond-async' } });
    assert.equal(res.status, 202);
    return `${gw.url}/_async/jobs/${((await res.json()) as { id: string }).id}`;
  };
  const [polled, streamed] = await Promise.all([submit('/slow?ms=3000&t=poll'), submit('/slow?ms=3000&t=stream')]);
  const stream = await SseReader.open(`${streamed}/events`);
  /** Long polls until the job is done (a poll may also be woken by an earlier change). */
  const longPoll = async () => {
    for (;;) {
      const poll = await httpRequest(polled, { headers: { prefer: 'wait=10' } });
      assert.equal(poll.status, 200);
      const { status } = JSON.parse(poll.body) as { status: string };
      if (status !== 'Running' && status !== 'NotStarted') return status;
    }
  };
  const [polledStatus, passThrough] = await Promise.all([longPoll(), httpRequest(`${gw.url}/slow?ms=2500&t=sync`)]);
  assert.equal(polledStatus, 'Succeeded');
  assert.equal(passThrough.status, 200);
  assert.equal(passThrough.body, '{"slept":2500}');
  let last = '';
  for (let item = await stream.nextEvent(); item !== 'end'; item = await stream.nextEvent()) last = (JSON.parse(item.data) as { status: string }).status;
  assert.equal(last, 'Succeeded', 'the stream lasted until the job finished');
});
