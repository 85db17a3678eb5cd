/**
 * Durability by killing: many concurrent asynchronous submissions, `kill -9` of the gateway mid-load, a
 * restart on the same SQLite file. Every job that got a 202 must reach a terminal state; idempotent ones
 * complete; interrupted non-idempotent ones fail with upstream-interrupted; the upstream never sees a
 * non-idempotent request twice.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventually, GatewayProcess, sleep, tempDir } from '../helpers/gateway-process.js';

type Kind = 'get' | 'keyed-post' | 'post';

test('kill -9 mid-load loses no accepted job and re-sends no unsafe request', { timeout: 120_000 }, async () => {
  const seen = new Map<string, number>();
  const upstream = createServer((req, res) => {
    const id = String(req.headers['asyncgate-job-id']);
    seen.set(id, (seen.get(id) ?? 0) + 1);
    req.resume();
    const t = setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end(`done ${id}`), 100 + Math.random() * 400);
    res.on('close', () => clearTimeout(t));
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const db = `sqlite:${join(tempDir(), 'crash.db')}`;
  const args = ['--upstream', upstreamUrl, '--db', db, '--lease', '2s', '--concurrency', '16'];

  let gw = await new GatewayProcess(args).start();
  const accepted = new Map<string, Kind>();
  const kinds: Kind[] = ['get', 'keyed-post', 'post'];
  let n = 0;
  let stop = false;

  // 24 concurrent submitters until the gateway dies under them.
  const submitter = async () => {
    while (!stop) {
      const i = n++;
      const kind = kinds[i % 3]!;
      const headers: Record<string, string> = { prefer: 'respond-async' };
      if (kind === 'keyed-post') headers['idempotency-key'] = `k-${i}`;
      try {
        const res = await fetch(`${gw.url}/work/${i}`, { method: kind === 'get' ? 'GET' : 'POST', headers, body: kind === 'get' ? undefined : `job ${i}` });
        if (res.status === 202) accepted.set(((await res.json()) as { id: string }).id, kind);
        else await res.body?.cancel();
      } catch {
        return; // the gateway is gone: this request got no 202, so it promises nothing
      }
    }
  };
  const load = Array.from({ length: 24 }, submitter);
  await eventually(async () => accepted.size >= 300 && [...seen.values()].length > 50, 60_000);
  await gw.crash();
  stop = true;
  await Promise.all(load);
  const acceptedBeforeCrash = accepted.size;
  assert.ok(acceptedBeforeCrash >= 300);

  gw = await new GatewayProcess(args).start();
  const results = new Map<string, { status: string; error?: { code: string } }>();
  await eventually(
    async () => {
      for (const id of accepted.keys()) {
        if (results.has(id)) continue;
        const res = await fetch(`${gw.url}/_async/jobs/${id}`);
        assert.equal(res.status, 200, `job ${id} must still exist after the crash`);
        const s = (await res.json()) as { status: string; error?: { code: string } };
        if (['Succeeded', 'Failed', 'Canceled'].includes(s.status)) results.set(id, s);
      }
      return results.size === accepted.size;
    },
    60_000,
    250,
  );

  let interrupted = 0;
  for (const [id, kind] of accepted) {
    const s = results.get(id)!;
    if (kind === 'post') {
      if (s.status === 'Failed') {
        assert.equal(s.error?.code, 'upstream-interrupted', `job ${id}`);
        interrupted++;
      } else {
        assert.equal(s.status, 'Succeeded');
      }
      assert.ok((seen.get(id) ?? 0) <= 1, `non-idempotent job ${id} was sent ${seen.get(id)} times`);
    } else {
      assert.equal(s.status, 'Succeeded', `${kind} job ${id}: ${JSON.stringify(s)}`);
      assert.ok((seen.get(id) ?? 0) >= 1);
    }
  }
  console.log(`crash test: ${acceptedBeforeCrash} accepted before kill -9, ${interrupted} unsafe POSTs failed as interrupted, all others completed`);
  await gw.stop();
  await sleep(10);
  upstream.closeAllConnections();
  await new Promise((r) => upstream.close(r));
});

test('with the default lease, a crashed process’s running job is rescued within 15 s', { timeout: 60_000 }, async () => {
  const arrivals: number[] = [];
  const upstream = createServer((req, res) => {
    arrivals.push(Date.now());
    req.resume();
    if (arrivals.length === 1) return; // the first attempt hangs until the gateway dies
    res.writeHead(200).end('rescued');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const args = ['--upstream', `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, '--db', `sqlite:${join(tempDir(), 'rescue.db')}`];
  let gw = await new GatewayProcess(args).start();
  const res = await fetch(`${gw.url}/report`, { headers: { prefer: 'respond-async' } });
  const { id } = (await res.json()) as { id: string };
  await eventually(async () => arrivals.length === 1);
  await gw.crash();
  const crashedAt = Date.now();
  gw = await new GatewayProcess(args).start();
  await eventually(async () => arrivals.length === 2, 20_000, 100);
  const rescueMs = arrivals[1]! - crashedAt;
  assert.ok(rescueMs <= 15_000, `rescued after ${rescueMs} ms`);
  const done = await eventually(async () => {
    const s = (await (await fetch(`${gw.url}/_async/jobs/${id}`)).json()) as { status: string };
    return s.status === 'Succeeded' ? s : undefined;
  });
  assert.equal(done.status, 'Succeeded');
  console.log(`rescue after kill -9: ${rescueMs} ms`);
  await gw.stop();
  upstream.closeAllConnections();
  await new Promise((r) => upstream.close(r));
});

test('kill -9 mid-delivery: after restart the callback is delivered with the same webhook-id', { timeout: 60_000 }, async () => {
  const { Receiver } = await import('../helpers/receiver.js');
  const { TestUpstream } = await import('../helpers/upstream.js');
  const upstream = await new TestUpstream().start();
  const rx = await new Receiver(['hang']).start(); // the first attempt never gets an answer
  const args = ['--upstream', upstream.url, '--db', `sqlite:${join(tempDir(), 'delivery-crash.db')}`, '--lease', '2s', '--allow-callback-hosts', '127.0.0.1', '--callback-timeout', '60s'];
  let gw = await new GatewayProcess(args).start();
  const res = await fetch(`${gw.url}/ok`, { headers: { pragma: 'redirect', callback: `<${rx.url}/cb>` } });
  assert.equal(res.status, 202);
  await eventually(async () => rx.received.length === 1);
  await gw.crash();
  gw = await new GatewayProcess(args).start();
  await eventually(async () => rx.received.length === 2, 20_000, 100);
  const [first, second] = rx.received;
  assert.equal(second!.headers['webhook-id'], first!.headers['webhook-id']);
  assert.equal(second!.body.toString(), 'Hello world');
  await gw.stop();
  await rx.close();
  await upstream.close();
});

test('kill -9 with callbacks in flight, held for a busy host, and due: after restart each is delivered, same webhook-ids', { timeout: 60_000 }, async () => {
  const { writeFileSync } = await import('node:fs');
  const { Receiver } = await import('../helpers/receiver.js');
  const { TestUpstream } = await import('../helpers/upstream.js');
  const upstream = await new TestUpstream().start();
  const rx = await new Receiver(['hang']).start(); // the first attempt never gets an answer
  const dir = tempDir();
  const config = join(dir, 'one-per-host.json');
  // One attempt at a time per host (and one held: 4 × perHost, capped by concurrency 1): the second job's
  // callback is held here (leased), the third stays due.
  writeFileSync(config, JSON.stringify({ callbacks: { perHost: 1, concurrency: 1, allowHosts: ['127.0.0.1'], timeout: '60s' } }));
  const token = 'admin-token-0123456789abcdef';
  const args = ['--upstream', upstream.url, '--db', `sqlite:${join(dir, 'held.db')}`, '--lease', '2s', '--config', config, '--admin-token', token];
  let gw = await new GatewayProcess(args).start();
  const states = async () => {
    const res = await fetch(`${gw.url}/_async/admin/deliveries`, { headers: { authorization: `Bearer ${token}` } });
    const { items } = (await res.json()) as { items: Array<{ id: string; state: string }> };
    return items.map((d) => d.state).sort().join(',');
  };
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${gw.url}/ok`, { headers: { pragma: 'redirect', callback: `<${rx.url}/cb${i}>` } });
    assert.equal(res.status, 202);
    await eventually(async () => rx.received.length === 1);
  }
  await eventually(async () => (await states()) === 'delivering,delivering,pending');
  await gw.crash();
  gw = await new GatewayProcess(args).start();
  await eventually(async () => new Set(rx.received.map((r) => r.url)).size === 3 && (await states()) === 'delivered,delivered,delivered', 20_000, 100);
  const byUrl = new Map<string, Set<unknown>>();
  for (const r of rx.received) byUrl.set(r.url, (byUrl.get(r.url) ?? new Set()).add(r.headers['webhook-id']));
  assert.deepEqual([...byUrl.values()].map((ids) => ids.size), [1, 1, 1]); // retries keep their webhook-id
  await gw.stop();
  await rx.close();
  await upstream.close();
});
