/** Limits and life cycle at the edges: queue full, minimum poll interval, retention, graceful shutdown. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { eventually, GatewayProcess, tempDir } from '../helpers/gateway-process.js';
import { TestUpstream } from '../helpers/upstream.js';

const upstream = new TestUpstream();
const dir = tempDir();
before(() => upstream.start());
after(() => upstream.close());

const submit = async (url: string, path: string) => {
  const res = await fetch(url + path, { headers: { prefer: 'respond-async' } });
  return { res, body: (await res.json()) as { id: string; status: string; type?: string } };
};

test('a full queue answers 503 queue-full with Retry-After, and accepts again once it drains', async () => {
  const gw = await new GatewayProcess(['--upstream', upstream.url, '--db', `sqlite:${join(dir, 'q.db')}`, '--concurrency', '1', '--max-queued', '3']).start();
  try {
    const first = await submit(gw.url, '/hang');
    await eventually(async () => ((await (await fetch(`${gw.url}/_async/jobs/${first.body.id}`)).json()) as { status: string }).status === 'Running');
    const queued = [];
    for (let i = 0; i < 3; i++) queued.push((await submit(gw.url, '/ok')).body.id);
    const full = await submit(gw.url, '/ok');
    assert.equal(full.res.status, 503);
    assert.equal(full.body.type, 'urn:asyncgate:problem:queue-full');
    assert.ok(full.res.headers.get('retry-after'));
    await fetch(`${gw.url}/_async/jobs/${first.body.id}/cancel`, { method: 'POST' });
    await eventually(async () => (await submit(gw.url, '/ok')).res.status === 202, 10_000, 300);
  } finally {
    await gw.stop();
  }
});

test('--min-poll-interval answers too-early polls with 429 + Retry-After', async () => {
  // The last poll of each job is remembered by the worker that answered it (docs/operations/workers.md): one
  // worker, so that this client's two connections meet the same memory.
  const gw = await new GatewayProcess(['--upstream', upstream.url, '--db', `sqlite:${join(dir, 'p.db')}`, '--min-poll-interval', '2s', '--workers', '1']).start();
  try {
    const { body } = await submit(gw.url, '/slow?ms=3000');
    const a = await fetch(`${gw.url}/_async/jobs/${body.id}`);
    assert.equal(a.status, 200);
    await a.json();
    const b = await fetch(`${gw.url}/_async/jobs/${body.id}`);
    assert.equal(b.status, 429);
    assert.equal(b.headers.get('retry-after'), '2');
    assert.equal(((await b.json()) as { type: string }).type, 'urn:asyncgate:problem:poll-too-soon');
  } finally {
    await gw.stop();
  }
});

test('retention: a finished job expires, then answers 410 Gone', async () => {
  const gw = await new GatewayProcess(['--upstream', upstream.url, '--db', `sqlite:${join(dir, 'r.db')}`, '--retention', '1s']).start();
  try {
    const { body } = await submit(gw.url, '/ok');
    const done = await eventually(async () => {
      const s = (await (await fetch(`${gw.url}/_async/jobs/${body.id}`)).json()) as { status: string; expirationDateTime?: string };
      return s.status === 'Succeeded' ? s : undefined;
    });
    assert.ok(done.expirationDateTime);
    await eventually(async () => (await fetch(`${gw.url}/_async/jobs/${body.id}`)).status === 410, 5_000, 200);
    // The sweeper purges it and the tombstone keeps answering 410.
    await eventually(async () => gw.logs.some((l) => l.msg === 'purged expired jobs'), 5_000, 200);
    assert.equal((await fetch(`${gw.url}/_async/jobs/${body.id}/result`)).status, 410);
  } finally {
    await gw.stop();
  }
});

test('SIGTERM lets running jobs finish, then exits 0; the result survives the restart', async () => {
  const db = `sqlite:${join(dir, 's.db')}`;
  const gw = await new GatewayProcess(['--upstream', upstream.url, '--db', db]).start();
  const { body } = await submit(gw.url, '/slow?ms=1500');
  await eventually(async () => upstream.requestsFor(body.id).length === 1);
  const code = await gw.stop();
  assert.equal(code, 0);
  assert.ok(gw.logs.some((l) => l.msg === 'shutting down'));
  const again = await new GatewayProcess(['--upstream', upstream.url, '--db', db]).start();
  try {
    const s = (await (await fetch(`${again.url}/_async/jobs/${body.id}`)).json()) as { status: string };
    assert.equal(s.status, 'Succeeded');
    assert.equal(upstream.requestsFor(body.id).length, 1);
  } finally {
    await again.stop();
  }
});
