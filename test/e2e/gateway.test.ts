/**
 * End to end over real sockets: the real CLI process (`asyncgate serve`), a real upstream on loopback,
 * a real SQLite file.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventually, GatewayProcess, sleep, tempDir } from '../helpers/gateway-process.js';
import { TestUpstream } from '../helpers/upstream.js';

const upstream = new TestUpstream();
let gw: GatewayProcess;
const dir = tempDir();

interface Status {
  id: string;
  status: string;
  resourceLocation?: string;
  error?: { code: string; message: string };
  response?: { status: number; contentType: string | null; size: number };
  links: Record<string, { href: string }>;
  request: { method: string; url: string };
  percentComplete?: number;
  createdDateTime: string;
}

async function submit(path: string, init: RequestInit & { headers?: Record<string, string> } = {}) {
  const res = await fetch(gw.url + path, { ...init, headers: { prefer: 'respond-async', ...init.headers } });
  return { res, body: (await res.json()) as Status };
}

async function until(id: string, done: (s: Status) => boolean, headers: Record<string, string> = {}): Promise<Status> {
  return eventually(async () => {
    const s = (await (await fetch(`${gw.url}/_async/jobs/${id}`, { headers })).json()) as Status;
    return done(s) ? s : undefined;
  });
}
const terminal = (s: Status) => ['Succeeded', 'Failed', 'Canceled'].includes(s.status);

before(async () => {
  await upstream.start();
  const config = join(dir, 'asyncgate.config.json');
  writeFileSync(
    config,
    JSON.stringify({
      routes: [
        { match: 'GET /status/418', async: 'never' },
        { match: '/always/*rest', async: 'always' },
        { match: 'POST /required', async: 'required' },
        { match: 'GET /slow', timeout: '2s', name: 'slow' },
        { match: 'POST /small', maxBodySize: '1kb' },
      ],
    }),
  );
  gw = await new GatewayProcess(['--upstream', upstream.url, '--db', `sqlite:${join(dir, 'gw.db')}`, '--config', config]).start();
});
after(async () => {
  await gw.stop();
  await upstream.close();
});

describe('Prefer: respond-async (RFC 7240)', () => {
  test('202 with monitor headers and the status representation, then the replayed result', async () => {
    const { res, body } = await submit('/echo?x=1', { method: 'POST', body: 'payload', headers: { 'content-type': 'text/plain', prefer: 'respond-async, return=minimal' } });
    assert.equal(res.status, 202);
    const monitor = `${gw.url}/_async/jobs/${body.id}`;
    assert.equal(res.headers.get('location'), monitor);
    assert.equal(res.headers.get('operation-location'), monitor);
    assert.equal(res.headers.get('content-location'), monitor);
    assert.equal(res.headers.get('preference-applied'), 'respond-async');
    assert.equal(res.headers.get('link'), `<${monitor}>; rel="monitor", <${monitor}/events>; rel="events"`);
    assert.match(res.headers.get('vary') ?? '', /Prefer/);
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
    assert.match(body.id, /^0[A-Za-z0-9_~]{29}$/);
    assert.ok(['NotStarted', 'Running', 'Succeeded'].includes(body.status));
    assert.deepEqual(body.request, { method: 'POST', url: '/echo?x=1' });
    assert.equal(body.links.self!.href, monitor);
    assert.equal(body.links.events!.href, `${monitor}/events`);

    const done = await until(body.id, terminal);
    assert.equal(done.status, 'Succeeded');
    assert.equal(done.percentComplete, 100);
    assert.equal(done.resourceLocation, `${monitor}/result`);
    assert.equal(done.response?.status, 200);

    const result = await fetch(done.resourceLocation!);
    assert.equal(result.status, 200);
    assert.equal(result.headers.get('x-upstream'), 'yes');
    assert.ok(result.headers.get('expires'));
    assert.match(result.headers.get('cache-control') ?? '', /max-age=\d+/);
    const echoed = (await result.json()) as { method: string; body: string; headers: Record<string, string>; jobId: string };
    assert.equal(echoed.method, 'POST');
    assert.equal(echoed.body, 'payload');
    assert.equal(echoed.jobId, body.id);
    // Control preferences are answered here; the rest of Prefer is forwarded.
    assert.equal(echoed.headers.prefer, 'return=minimal');
    assert.match(echoed.headers.forwarded ?? '', /for=127\.0\.0\.1;host="?127\.0\.0\.1:\d+"?;proto=http/);
    assert.equal(echoed.headers['x-forwarded-proto'], 'http');
    assert.equal(echoed.headers['x-forwarded-for'], '127.0.0.1');
  });

  test('the monitor answers at once after the 202', async () => {
    const { body } = await submit('/slow?ms=500');
    const res = await fetch(`${gw.url}/_async/jobs/${body.id}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.match(res.headers.get('cache-control') ?? '', /no-cache/);
  });

  test('wait=N returns the real response when the job finishes in time', async () => {
    const res = await fetch(`${gw.url}/slow?ms=200`, { headers: { prefer: 'respond-async, wait=5' } });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { slept: 200 });
    assert.equal(res.headers.get('preference-applied'), null);
    assert.match(res.headers.get('vary') ?? '', /Prefer/);
    assert.match(res.headers.get('link') ?? '', /rel="monitor"/);
  });

  test('wait=N answers 202 when the job takes longer', async () => {
    const started = Date.now();
    const res = await fetch(`${gw.url}/slow?ms=1500`, { headers: { prefer: 'respond-async, wait=1' } });
    assert.equal(res.status, 202);
    assert.ok(Date.now() - started >= 900);
    await res.json();
  });

  test('several Prefer field lines and odd case are understood', async () => {
    const headers = new Headers([['prefer', 'Return=minimal'], ['prefer', 'RESPOND-ASYNC']]);
    const res = await fetch(`${gw.url}/ok`, { headers });
    assert.equal(res.status, 202);
    await res.json();
  });

  test('a malformed Prefer is a 400 problem, and nothing is proxied', async () => {
    const res = await fetch(`${gw.url}/ok?marker=bad-prefer`, { headers: { prefer: 'respond-async, wait=soon' } });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    const problem = (await res.json()) as { type: string; status: number; detail: string };
    assert.equal(problem.type, 'urn:asyncgate:problem:invalid-prefer');
    assert.equal(problem.status, 400);
    await sleep(200);
    assert.equal(upstream.seen.filter((r) => r.url.includes('marker=bad-prefer')).length, 0);
  });
});

describe('status monitor', () => {
  test('ETag and If-None-Match give 304 while nothing changed', async () => {
    const { body } = await submit('/slow?ms=1500');
    await until(body.id, (s) => s.status === 'Running'); // no change is due until it finishes
    const first = await fetch(`${gw.url}/_async/jobs/${body.id}`);
    const etag = first.headers.get('etag')!;
    await first.json();
    const again = await fetch(`${gw.url}/_async/jobs/${body.id}`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    const done = await until(body.id, terminal);
    const after = await fetch(`${gw.url}/_async/jobs/${body.id}`, { headers: { 'if-none-match': etag } });
    assert.equal(after.status, 200);
    assert.notEqual(after.headers.get('etag'), etag);
    assert.match(after.headers.get('cache-control') ?? '', /private, max-age=\d+/);
    assert.equal(after.headers.get('retry-after'), null);
    assert.equal(done.status, 'Succeeded');
  });

  test('long poll with Prefer: wait answers as soon as the job finishes', async () => {
    const { body } = await submit('/slow?ms=800');
    const res0 = await fetch(`${gw.url}/_async/jobs/${body.id}`);
    const etag = res0.headers.get('etag')!;
    await res0.json();
    const started = Date.now();
    // Loop: the job may pass through Running first.
    let status = '';
    while (!['Succeeded', 'Failed'].includes(status)) {
      const res = await fetch(`${gw.url}/_async/jobs/${body.id}`, { headers: { prefer: 'wait=10', 'if-none-match': etag } });
      status = ((await res.json()) as Status).status;
    }
    const took = Date.now() - started;
    assert.equal(status, 'Succeeded');
    assert.ok(took < 5000, `long poll took ${took} ms`);
  });

  test('long poll times out with the unchanged representation', async () => {
    const { body } = await submit('/hang');
    await until(body.id, (s) => s.status === 'Running');
    const started = Date.now();
    const res = await fetch(`${gw.url}/_async/jobs/${body.id}`, { headers: { prefer: 'wait=1' } });
    assert.equal(res.status, 200);
    assert.ok(Date.now() - started >= 900);
    await res.json();
    await fetch(`${gw.url}/_async/jobs/${body.id}/cancel`, { method: 'POST' });
  });

  test('unknown and malformed ids are 404 problems', async () => {
    for (const id of ['AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'nope', '%00', 'x'.repeat(500)]) {
      const res = await fetch(`${gw.url}/_async/jobs/${id}`);
      assert.equal(res.status, 404);
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
      await res.json();
    }
  });

  test('a job is bound to its credentials: others get 404', async () => {
    const { res, body } = await submit('/ok', { headers: { authorization: 'Bearer alice' } });
    assert.equal(res.status, 202);
    await until(body.id, terminal, { authorization: 'Bearer alice' });
    for (const headers of [{}, { authorization: 'Bearer mallory' }, { cookie: 'session=alice' }] as Array<Record<string, string>>) {
      for (const path of ['', '/result']) {
        const r = await fetch(`${gw.url}/_async/jobs/${body.id}${path}`, { headers });
        assert.equal(r.status, 404, `GET ${path} with ${JSON.stringify(headers)}`);
        await r.body?.cancel();
      }
      const c = await fetch(`${gw.url}/_async/jobs/${body.id}/cancel`, { method: 'POST', headers });
      assert.equal(c.status, 404);
      const d = await fetch(`${gw.url}/_async/jobs/${body.id}`, { method: 'DELETE', headers });
      assert.equal(d.status, 404);
    }
    const own = await fetch(`${gw.url}/_async/jobs/${body.id}/result`, { headers: { authorization: 'Bearer alice' } });
    assert.equal(own.status, 200);
    assert.equal(await own.text(), 'Hello world');
  });

  test('the result answers If-None-Match with 304 (its ETag never changes)', async () => {
    const { body } = await submit('/ok');
    await until(body.id, terminal);
    const first = await fetch(`${gw.url}/_async/jobs/${body.id}/result`);
    const etag = first.headers.get('etag')!;
    assert.equal(first.status, 200);
    assert.ok(etag);
    await first.text();
    const again = await fetch(`${gw.url}/_async/jobs/${body.id}/result`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    assert.equal(again.headers.get('etag'), etag);
    assert.equal(await again.text(), '');
    const other = await fetch(`${gw.url}/_async/jobs/${body.id}/result`, { headers: { 'if-none-match': '"something-else"' } });
    assert.equal(other.status, 200);
    assert.equal(await other.text(), 'Hello world');
  });

  test('the result before completion is a 409 problem with Retry-After', async () => {
    const { body } = await submit('/slow?ms=1000');
    const res = await fetch(`${gw.url}/_async/jobs/${body.id}/result`);
    assert.equal(res.status, 409);
    assert.ok(res.headers.get('retry-after'));
    assert.equal(((await res.json()) as { type: string }).type, 'urn:asyncgate:problem:result-not-ready');
  });

  test('an upstream error status makes the job Failed, its response still replayed', async () => {
    const { body } = await submit('/status/500');
    const done = await until(body.id, terminal);
    assert.equal(done.status, 'Failed');
    assert.equal(done.error?.code, 'upstream-http-error');
    assert.equal(done.response?.status, 500);
    const result = await fetch(`${gw.url}/_async/jobs/${body.id}/result`);
    assert.equal(result.status, 500);
    assert.deepEqual(await result.json(), { status: 500 });
  });

  test('large results are stored and replayed byte for byte', async () => {
    const { body } = await submit('/big?bytes=3000000');
    const done = await until(body.id, terminal);
    assert.equal(done.response?.size, 3_000_000);
    const result = await fetch(`${gw.url}/_async/jobs/${body.id}/result`);
    assert.equal(result.headers.get('content-length'), '3000000');
    const bytes = Buffer.from(await result.arrayBuffer());
    assert.equal(bytes.length, 3_000_000);
    assert.ok(bytes.every((b) => b === 0x78));
  });

  test('result replay keeps repeated headers and drops hop-by-hop ones', async () => {
    const { body } = await submit('/headers');
    await until(body.id, terminal);
    const result = await fetch(`${gw.url}/_async/jobs/${body.id}/result`);
    assert.deepEqual(result.headers.getSetCookie(), ['a=1', 'b=2']);
    assert.equal(result.headers.get('x-custom'), 'v');
    assert.notEqual(result.headers.get('connection'), 'close');
    await result.text();
  });
});

describe('cancel and delete', () => {
  test('cancel aborts the upstream request and the job becomes Canceled', async () => {
    const { body } = await submit('/hang');
    await until(body.id, (s) => s.status === 'Running');
    const res = await fetch(`${gw.url}/_async/jobs/${body.id}/cancel`, { method: 'POST' });
    assert.equal(res.status, 200);
    const canceled = (await res.json()) as Status;
    assert.equal(canceled.status, 'Canceled');
    assert.equal(canceled.error?.code, 'canceled');
    await eventually(async () => upstream.requestsFor(body.id)[0]?.aborted);
    const result = await fetch(`${gw.url}/_async/jobs/${body.id}/result`);
    assert.equal(result.status, 409);
    await result.json();
  });

  test('cancel of a finished job is a 409', async () => {
    const { body } = await submit('/ok');
    await until(body.id, terminal);
    const res = await fetch(`${gw.url}/_async/jobs/${body.id}/cancel`, { method: 'POST' });
    assert.equal(res.status, 409);
    await res.json();
  });

  test('DELETE forgets the job: 204, then 410 Gone', async () => {
    const { body } = await submit('/hang');
    await until(body.id, (s) => s.status === 'Running');
    const res = await fetch(`${gw.url}/_async/jobs/${body.id}`, { method: 'DELETE' });
    assert.equal(res.status, 204);
    await eventually(async () => upstream.requestsFor(body.id)[0]?.aborted);
    for (const path of ['', '/result']) {
      const gone = await fetch(`${gw.url}/_async/jobs/${body.id}${path}`);
      assert.equal(gone.status, 410);
      assert.equal(((await gone.json()) as { type: string }).type, 'urn:asyncgate:problem:job-gone');
    }
  });
});

describe('Accept-Asynchronous: polling (the Fedora proposal)', () => {
  test('202 + Location, then 303 See Other to the result with Expires', async () => {
    const res = await fetch(`${gw.url}/ok`, { headers: { 'accept-asynchronous': 'polling' } });
    assert.equal(res.status, 202);
    assert.equal(res.headers.get('preference-applied'), null);
    const { id } = (await res.json()) as Status;
    const location = res.headers.get('location')!;
    const redirect = await eventually(async () => {
      const r = await fetch(location, { redirect: 'manual' });
      await r.body?.cancel();
      return r.status === 303 ? r : undefined;
    });
    assert.equal(redirect.headers.get('location'), `${gw.url}/_async/jobs/${id}/result`);
    assert.ok(redirect.headers.get('expires'));
    const result = await fetch(location); // fetch follows the 303
    assert.equal(await result.text(), 'Hello world');
  });

  test('an unknown mode is a 400 problem', async () => {
    const res = await fetch(`${gw.url}/ok`, { headers: { 'accept-asynchronous': 'telepathy' } });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { type: string }).type, 'urn:asyncgate:problem:invalid-accept-asynchronous');
  });
});

describe('route rules', () => {
  test('never: preferences ignored, answered synchronously', async () => {
    const res = await fetch(`${gw.url}/status/418`, { headers: { prefer: 'respond-async' } });
    assert.equal(res.status, 418);
    await res.json();
  });

  test('always: asynchronous without asking', async () => {
    const res = await fetch(`${gw.url}/always/anything`);
    assert.equal(res.status, 202);
    await res.json();
  });

  test('required: a request that did not ask gets a 400 telling how', async () => {
    const res = await fetch(`${gw.url}/required`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 400);
    const problem = (await res.json()) as { type: string; detail: string };
    assert.equal(problem.type, 'urn:asyncgate:problem:async-required');
    assert.match(problem.detail, /Prefer: respond-async/);
    const ok = await submit('/required', { method: 'POST', body: '{}' });
    assert.equal(ok.res.status, 202);
  });

  test('per-route timeout fails the job with upstream-timeout and aborts the upstream call', async () => {
    const { body } = await submit('/slow?ms=60000');
    const done = await until(body.id, terminal);
    assert.equal(done.status, 'Failed');
    assert.equal(done.error?.code, 'upstream-timeout');
    await eventually(async () => upstream.requestsFor(body.id)[0]?.aborted);
  });

  test('per-route body limit: 413 problem', async () => {
    const res = await fetch(`${gw.url}/small`, { method: 'POST', body: 'x'.repeat(2000), headers: { prefer: 'respond-async' } });
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as { type: string }).type, 'urn:asyncgate:problem:body-too-large');
  });
});

describe('Idempotency-Key', () => {
  test('a repeat returns the same job and runs nothing new', async () => {
    const headers = { 'idempotency-key': '"order-42"', 'content-type': 'application/json' };
    const a = await submit('/echo', { method: 'POST', body: '{"n":1}', headers });
    const b = await submit('/echo', { method: 'POST', body: '{"n":1}', headers });
    assert.equal(a.res.status, 202);
    assert.equal(b.res.status, 202);
    assert.equal(b.body.id, a.body.id);
    assert.equal(b.res.headers.get('location'), a.res.headers.get('location'));
    await until(a.body.id, terminal);
    const c = await submit('/echo', { method: 'POST', body: '{"n":1}', headers });
    assert.equal(c.body.id, a.body.id);
    assert.equal(upstream.requestsFor(a.body.id).length, 1);
  });

  test('the same key for a different request is a 422', async () => {
    const headers = { 'idempotency-key': 'order-43' };
    await submit('/echo', { method: 'POST', body: 'one', headers });
    const res = await fetch(`${gw.url}/echo`, { method: 'POST', body: 'two', headers: { ...headers, prefer: 'respond-async' } });
    assert.equal(res.status, 422);
    assert.equal(((await res.json()) as { type: string }).type, 'urn:asyncgate:problem:idempotency-key-reused');
  });
});

describe('forwarding', () => {
  test('synchronous pass-through streams, strips hop-by-hop and control headers, adds Forwarded', async () => {
    // node:http, because fetch refuses to send a Connection header.
    const { status, headers, body } = await new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
      const req = request(`${gw.url}/echo`, {
        method: 'PUT',
        // Pragma: redirect without a Callback (and a Callback without Pragma: redirect) asks for nothing.
        headers: { connection: 'keep-alive, x-hop', 'x-hop': 'secret', pragma: 'no-cache, redirect', 'x-forwarded-for': '10.9.9.9', 'content-length': 9 },
      });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      });
      req.on('error', reject);
      req.end('sync body');
    });
    assert.equal(status, 200);
    assert.match(String(headers.vary), /Prefer/);
    const echoed = JSON.parse(body) as { body: string; headers: Record<string, string> };
    assert.equal(echoed.body, 'sync body');
    assert.equal(echoed.headers['x-hop'], undefined);
    assert.equal(echoed.headers.pragma, 'no-cache');
    const lone = await fetch(`${gw.url}/echo`, { headers: { callback: '<https://hooks.example/cb>' } });
    assert.equal(lone.status, 200);
    assert.equal(((await lone.json()) as { headers: Record<string, string> }).headers.callback, undefined);
    assert.equal(echoed.headers['x-forwarded-for'], '10.9.9.9, 127.0.0.1');
    assert.ok(echoed.headers.forwarded);
  });

  test('safe requests are retried on 503 until they succeed', async () => {
    const { body } = await submit('/flaky/a?fail=2');
    const done = await until(body.id, terminal);
    assert.equal(done.status, 'Succeeded');
    assert.equal(upstream.requestsFor(body.id).length, 3);
  });

  test('a POST is not retried on 503 without an Idempotency-Key', async () => {
    const { body } = await submit('/flaky/b?fail=1', { method: 'POST', body: 'x' });
    const done = await until(body.id, terminal);
    assert.equal(done.status, 'Failed');
    assert.equal(done.response?.status, 503);
    assert.equal(upstream.requestsFor(body.id).length, 1);
  });

  test('a POST interrupted mid-flight fails with upstream-interrupted and is not re-sent', async () => {
    const { body } = await submit('/drop', { method: 'POST', body: 'x' });
    const done = await until(body.id, terminal);
    assert.equal(done.status, 'Failed');
    assert.equal(done.error?.code, 'upstream-interrupted');
    await sleep(300);
    assert.equal(upstream.requestsFor(body.id).length, 1);
  });

  test('a GET interrupted mid-flight is retried', async () => {
    const { body } = await submit('/drop');
    await eventually(async () => upstream.requestsFor(body.id).length >= 2);
    await fetch(`${gw.url}/_async/jobs/${body.id}`, { method: 'DELETE' });
  });
});

describe('operations', () => {
  test('health', async () => {
    const res = await fetch(`${gw.url}/_async/health`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { status: string }).status, 'ok');
  });

  test('unknown asyncgate endpoints are 404 problems; wrong methods 405', async () => {
    const res = await fetch(`${gw.url}/_async/nope`);
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    await res.json();
    const wrong = await fetch(`${gw.url}/_async/jobs/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/cancel`);
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'POST');
    await wrong.json();
  });
});
