/**
 * `fetchAsync` against servers written other people's way: Azure's Operation-Location + status JSON, OData's
 * monitor that answers 202 while running, RFC 9110's Location + 303 See Other, and an event stream server
 * built to asyncgate's wire contract. Each is a real HTTP server on loopback.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, describe, test } from 'node:test';
import { AsyncJobCanceledError, AsyncJobFailedError, AsyncJobGoneError, AsyncMonitorError, AsyncTimeoutError } from '../../src/client/errors.js';
import { fetchAsync } from '../../src/client/fetch-async.js';
import type { AsyncProgress } from '../../src/client/status.js';
import { json, TinyServer, type TinyRequest } from '../helpers/tiny-server.js';

const servers: TinyServer[] = [];
const start = async (handler: (req: TinyRequest, res: ServerResponse) => void) => {
  const s = await new TinyServer(handler).start();
  servers.push(s);
  return s;
};
after(async () => {
  for (const s of servers) await s.close();
});
const fast = { pollInterval: 20, longPollSeconds: 0 };

describe('Azure long-running operations (Operation-Location + {status} + resourceLocation)', () => {
  test('polls at the Retry-After pace, reports progress, then GETs resourceLocation', async () => {
    let polls = 0;
    const s = await start((req, res) => {
      if (req.method === 'POST' && req.path === '/things') {
        return res.writeHead(202, { 'operation-location': '/operations/1', 'retry-after': '1' }).end();
      }
      if (req.path === '/operations/1') {
        polls++;
        if (polls === 1) return json(res, 200, { status: 'NotStarted' }, { 'retry-after': '1' });
        if (polls === 2) return json(res, 200, { status: 'Running', percentComplete: 50 }, { 'retry-after': '1' });
        return json(res, 200, { status: 'Succeeded', resourceLocation: '/things/1' });
      }
      if (req.path === '/things/1') return json(res, 200, { id: 1, name: 'thing' }, { 'x-final': 'yes' });
      res.writeHead(404).end();
    });
    const seen: AsyncProgress[] = [];
    const res = await fetchAsync(`${s.url}/things`, { method: 'POST', body: '{}', headers: { authorization: 'Bearer abc' } }, { onProgress: (p) => seen.push(p) });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-final'), 'yes');
    assert.deepEqual(await res.json(), { id: 1, name: 'thing' });
    assert.deepEqual(seen.map((p) => [p.status, p.percent]), [['NotStarted', undefined], ['Running', 50], ['Succeeded', undefined]]);
    assert.equal(seen[0]?.monitor, `${s.url}/operations/1`);
    const submitted = s.requests('/things', 'POST')[0]!;
    assert.match(String(submitted.headers.prefer), /respond-async/);
    const monitor = s.requests('/operations/1');
    assert.equal(monitor.length, 3);
    // Retry-After: 1 is the spacing between polls (from the 202, then from each answer).
    for (let i = 1; i < monitor.length; i++) assert.ok(monitor[i]!.at - monitor[i - 1]!.at >= 950, `poll ${i} came too early`);
    assert.ok(monitor[0]!.at - submitted.at >= 950);
    // The job is bound to the submitter's credentials: they go to the monitor and the result too.
    for (const r of [...monitor, ...s.requests('/things/1')]) assert.equal(r.headers.authorization, 'Bearer abc');
  });

  test('Succeeded without resourceLocation: a POST GETs the 202 Location; a PUT GETs the resource itself', async () => {
    let polls = 0;
    const s = await start((req, res) => {
      if (req.path === '/orders' && req.method === 'POST') return res.writeHead(202, { 'operation-location': '/ops/2', location: '/orders/2' }).end();
      if (req.path === '/widgets/9' && req.method === 'PUT') return res.writeHead(202, { 'azure-asyncoperation': '/ops/3' }).end();
      if (req.path.startsWith('/ops/')) return json(res, 200, { status: ++polls % 2 ? 'InProgress' : 'Succeeded' });
      if (req.path === '/orders/2') return json(res, 200, { order: 2 });
      if (req.path === '/widgets/9') return json(res, 200, { widget: 9 });
      res.writeHead(404).end();
    });
    assert.deepEqual(await (await fetchAsync(`${s.url}/orders`, { method: 'POST' }, fast)).json(), { order: 2 });
    assert.deepEqual(await (await fetchAsync(`${s.url}/widgets/9`, { method: 'PUT', body: '{}' }, fast)).json(), { widget: 9 });
  });

  test('Failed with an error and no response: AsyncJobFailedError; Canceled: AsyncJobCanceledError', async () => {
    const s = await start((req, res) => {
      if (req.method === 'POST') return res.writeHead(202, { 'operation-location': `/ops${req.path}` }).end();
      if (req.path === '/ops/fail') return json(res, 200, { status: 'Failed', error: { code: 'QuotaExceeded', message: 'too many' } });
      return json(res, 200, { status: 'Cancelled' });
    });
    await assert.rejects(fetchAsync(`${s.url}/fail`, { method: 'POST' }, fast), (e: unknown) => {
      assert.ok(e instanceof AsyncJobFailedError);
      assert.equal(e.code, 'job-failed');
      assert.deepEqual(e.error, { code: 'QuotaExceeded', message: 'too many' });
      assert.equal(e.job?.monitor, `${s.url}/ops/fail`);
      return true;
    });
    await assert.rejects(fetchAsync(`${s.url}/cancel`, { method: 'POST' }, fast), AsyncJobCanceledError);
  });

  test('the monitor: 503 and 429 are retried after Retry-After; 404 means gone; 401 is reported with its body', async () => {
    let n = 0;
    const s = await start((req, res) => {
      if (req.method === 'POST') return res.writeHead(202, { 'operation-location': `/ops${req.path}` }).end();
      if (req.path === '/ops/flaky') {
        n++;
        if (n === 1) return res.writeHead(503, { 'retry-after': '0' }).end();
        if (n === 2) return res.writeHead(429, { 'retry-after': '0' }).end();
        return json(res, 200, { status: 'Succeeded', resourceLocation: '/done' });
      }
      if (req.path === '/done') return res.writeHead(200).end('done');
      if (req.path === '/ops/gone') return res.writeHead(404).end();
      return json(res, 401, { type: 'about:blank', title: 'who are you' });
    });
    assert.equal(await (await fetchAsync(`${s.url}/flaky`, { method: 'POST' }, fast)).text(), 'done');
    assert.equal(n, 3);
    await assert.rejects(fetchAsync(`${s.url}/gone`, { method: 'POST' }, fast), (e) => e instanceof AsyncJobGoneError && e.status === 404);
    await assert.rejects(fetchAsync(`${s.url}/auth`, { method: 'POST' }, fast), (e: unknown) => {
      assert.ok(e instanceof AsyncMonitorError);
      assert.equal(e.status, 401);
      assert.match(e.body ?? '', /who are you/);
      return true;
    });
  });

  test('AbortSignal stops the wait and POSTs the cancel link; the timeout rejects without canceling unless asked', async () => {
    const s = await start((req, res) => {
      if (req.method === 'POST' && !req.path.includes('/cancel')) {
        const id = req.path.slice(1);
        return json(res, 202, { status: 'Running', links: { cancel: { href: `/ops/${id}/cancel` } } }, { 'operation-location': `/ops/${id}` });
      }
      if (req.path.endsWith('/cancel')) return json(res, 200, { status: 'Canceled' });
      return json(res, 200, { status: 'Running' });
    });
    const controller = new AbortController();
    const pending = fetchAsync(`${s.url}/a`, { method: 'POST', signal: controller.signal, headers: { cookie: 'sid=1' } }, fast);
    setTimeout(() => controller.abort(), 200);
    await assert.rejects(pending, { name: 'AbortError' });
    const cancels = s.requests('/ops/a/cancel', 'POST');
    assert.equal(cancels.length, 1);
    assert.equal(cancels[0]!.headers.cookie, 'sid=1');

    const t0 = Date.now();
    await assert.rejects(fetchAsync(`${s.url}/b`, { method: 'POST' }, { ...fast, timeout: 300 }), (e: unknown) => {
      assert.ok(e instanceof AsyncTimeoutError);
      assert.equal(e.job?.monitor, `${s.url}/ops/b`);
      return true;
    });
    assert.ok(Date.now() - t0 >= 300);
    assert.equal(s.requests('/ops/b/cancel').length, 0, 'a timeout does not cancel by default');
    await assert.rejects(fetchAsync(`${s.url}/c`, { method: 'POST' }, { ...fast, timeout: 300, cancelOnTimeout: true }), AsyncTimeoutError);
    assert.equal(s.requests('/ops/c/cancel', 'POST').length, 1);
    // Aborted before it starts: nothing is sent.
    const before = s.seen.length;
    await assert.rejects(fetchAsync(`${s.url}/d`, { method: 'POST', signal: AbortSignal.abort() }), { name: 'AbortError' });
    assert.equal(s.seen.length, before);
  });
});

describe('OData: the monitor answers 202 while running and the final response when done', () => {
  test('the final response is returned as the monitor gave it, even a JSON body with a "status" member', async () => {
    let polls = 0;
    const s = await start((req, res) => {
      if (req.method === 'POST') return res.writeHead(202, { location: '/monitor/1', 'retry-after': '0' }).end();
      if (++polls < 3) return res.writeHead(202, { 'retry-after': '0' }).end();
      json(res, 201, { status: 'completed', value: 42 }, { 'odata-version': '4.0' });
    });
    const res = await fetchAsync(`${s.url}/Products`, { method: 'POST', body: '{}' }, fast);
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('odata-version'), '4.0');
    assert.deepEqual(await res.json(), { status: 'completed', value: 42 });
    assert.equal(polls, 3);
  });

  test('an application/http envelope (OData 4.01 §9.1.3) is unwrapped into the embedded response', async () => {
    let polls = 0;
    const s = await start((req, res) => {
      if (req.method === 'POST') return res.writeHead(202, { location: '/monitor/2' }).end();
      if (++polls < 2) return res.writeHead(202).end();
      res.writeHead(200, { 'content-type': 'application/http', 'content-transfer-encoding': 'binary' });
      res.end('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nOData-Version: 4.0\r\n\r\n{"value":[1,2]}');
    });
    const res = await fetchAsync(`${s.url}/Run`, { method: 'POST' }, fast);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('odata-version'), '4.0');
    assert.deepEqual(await res.json(), { value: [1, 2] });
  });
});

describe('Location + 303 See Other to the result', () => {
  test('the monitor answers its status until done, then 303; the result is fetched with GET', async () => {
    let polls = 0;
    const s = await start((req, res) => {
      if (req.method === 'POST' && req.path === '/jobs') return json(res, 202, { status: 'pending' }, { location: '/queue/5' });
      if (req.path === '/queue/5') {
        if (++polls < 3) return json(res, 200, { status: 'pending' });
        return res.writeHead(303, { location: '/results/5' }).end();
      }
      if (req.path === '/results/5' && req.method === 'GET') return json(res, 200, { result: 5 });
      res.writeHead(405).end();
    });
    const seen: string[] = [];
    const res = await fetchAsync(`${s.url}/jobs`, { method: 'POST', body: 'x' }, { ...fast, onProgress: (p) => seen.push(p.status) });
    assert.deepEqual(await res.json(), { result: 5 });
    assert.deepEqual(seen, ['NotStarted']);
    assert.equal(s.requests('/results/5', 'GET').length, 1);
  });
});

describe('event stream (asyncgate wire contract)', () => {
  const rep = (status: string, extra: Record<string, unknown> = {}) => JSON.stringify({ id: 'j', status, ...extra });
  const event = (res: ServerResponse, id: number, data: string, type = 'status') => res.write(`id: ${id}\nevent: ${type}\ndata: ${data}\n\n`);

  test('follows status events, resumes with Last-Event-ID after a drop, never polls', async () => {
    let connections = 0;
    const s = await start((req, res) => {
      if (req.method === 'POST') {
        return json(res, 202, { id: 'j', status: 'NotStarted', links: { self: { href: '/jobs/j' }, events: { href: '/jobs/j/events' } } }, { 'operation-location': '/jobs/j', 'retry-after': '5' });
      }
      if (req.path === '/jobs/j/events') {
        connections++;
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
        if (connections === 1) {
          event(res, 1, rep('NotStarted'));
          res.write(': keep-alive\n\n');
          event(res, 2, rep('Running', { percentComplete: 30, progress: { current: 3, total: 10, message: 'three' } }));
          return setTimeout(() => res.destroy(), 50);
        }
        event(res, 3, rep('Running', { percentComplete: 60 }));
        event(res, 4, rep('Succeeded', { resourceLocation: '/jobs/j/result' }));
        return res.end();
      }
      if (req.path === '/jobs/j/result') return res.writeHead(200, { 'content-type': 'text/plain' }).end('the result');
      res.writeHead(404).end();
    });
    const seen: AsyncProgress[] = [];
    const res = await fetchAsync(`${s.url}/work`, { method: 'POST' }, { onProgress: (p) => seen.push(p) });
    assert.equal(await res.text(), 'the result');
    assert.deepEqual(seen.map((p) => [p.status, p.percent ?? null, p.progress?.message ?? null]), [
      ['NotStarted', null, null],
      ['Running', 30, 'three'],
      ['Running', 60, null],
      ['Succeeded', null, null],
    ]);
    const streams = s.requests('/jobs/j/events');
    assert.equal(streams.length, 2);
    assert.equal(streams[0]!.headers.accept, 'text/event-stream');
    assert.equal(streams[1]!.headers['last-event-id'], '2');
    assert.equal(s.requests('/jobs/j', 'GET').filter((r) => r.path === '/jobs/j').length, 0, 'no monitor polls while the stream works');
  });

  test('event: gone → AsyncJobGoneError; discovery through Link rel="events"', async () => {
    const s = await start((req, res) => {
      if (req.method === 'POST') return res.writeHead(202, { 'operation-location': '/jobs/g', link: '</jobs/g/events>; rel="events"' }).end();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      event(res, 1, rep('Running'));
      res.end('event: gone\ndata: {}\n\n');
    });
    await assert.rejects(fetchAsync(`${s.url}/x`, { method: 'POST' }), AsyncJobGoneError);
  });

  test('an error thrown by onProgress rejects fetchAsync, whether the update came by stream or by poll', async () => {
    const s = await start((req, res) => {
      if (req.method === 'POST') {
        const events = req.path === '/stream' ? { events: { href: '/jobs/p/events' } } : {};
        return json(res, 202, { status: 'NotStarted', links: { self: { href: '/jobs/p' }, ...events } }, { 'operation-location': '/jobs/p' });
      }
      if (req.path === '/jobs/p/events') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        return void res.write(`id: 2\nevent: status\ndata: ${rep('Running')}\n\n`);
      }
      json(res, 200, { status: 'Running' });
    });
    const onProgress = (p: AsyncProgress) => {
      if (p.status === 'Running') throw new Error('handler bug');
    };
    for (const path of ['/stream', '/poll']) {
      await assert.rejects(fetchAsync(`${s.url}${path}`, { method: 'POST' }, { ...fast, onProgress }), /handler bug/);
    }
    assert.equal(s.requests('/jobs/p/events').length, 1, 'no reconnect: the stream was fine');
  });

  test('no stream after all (404), or a silent one: falls back to polling', async () => {
    let polls = 0;
    const s = await start((req, res) => {
      if (req.method === 'POST') {
        return json(res, 202, { status: 'Running', links: { self: { href: `/jobs${req.path}` }, events: { href: `/jobs${req.path}/events` } } }, { 'operation-location': `/jobs${req.path}` });
      }
      if (req.path === '/jobs/nostream/events') return res.writeHead(404).end();
      if (req.path === '/jobs/silent/events') return void res.writeHead(200, { 'content-type': 'text/event-stream' }).flushHeaders();
      if (req.path.endsWith('/result')) return res.writeHead(200).end('polled');
      json(res, 200, ++polls % 2 ? { status: 'Running' } : { status: 'Succeeded', resourceLocation: `${req.path}/result` });
    });
    assert.equal(await (await fetchAsync(`${s.url}/nostream`, { method: 'POST' }, fast)).text(), 'polled');
    assert.equal(s.requests('/jobs/nostream/events').length, 1);
    const res = await fetchAsync(`${s.url}/silent`, { method: 'POST' }, { ...fast, heartbeatTimeout: 200 });
    assert.equal(await res.text(), 'polled');
    assert.equal(s.requests('/jobs/silent/events').length, 3, 'three tries, then polling');
  });
});

describe('request options', () => {
  test('callback options become the dialect headers; wait: false returns the 202; a 200 comes back as is', async () => {
    const s = await start((req, res) => {
      if (req.path === '/sync') return res.writeHead(200).end('right away');
      if (req.path === '/nomonitor') return res.writeHead(202, { 'x-note': 'queued' }).end('thanks');
      json(res, 202, { status: 'NotStarted' }, { 'operation-location': '/ops/1' });
    });
    const ack = await fetchAsync(`${s.url}/a`, { method: 'POST', headers: { prefer: 'return=minimal' } }, {
      wait: false,
      preferWait: 5,
      callback: [
        { url: 'https://hooks.example/cb', secret: 's3cret', method: 'PUT' },
        { url: 'https://hooks.example/n', mode: 'notify' },
        { url: 'https://hooks.example/p', mode: 'ping' },
      ],
    });
    assert.equal(ack.status, 202);
    const h = s.requests('/a')[0]!.headers;
    assert.equal(h.prefer, 'return=minimal, respond-async, wait=5, callback; url="https://hooks.example/p"');
    assert.equal(h.callback, '<https://hooks.example/cb>; rel="respond-async"; method="put"; secret="s3cret"');
    assert.equal(h['accept-asynchronous'], 'notify');
    assert.equal(h['asynchronous-end-point'], 'https://hooks.example/n');
    assert.equal(await (await fetchAsync(`${s.url}/sync`)).text(), 'right away');
    const bare = await fetchAsync(`${s.url}/nomonitor`);
    assert.deepEqual([bare.status, bare.headers.get('x-note'), await bare.text(), bare.url], [202, 'queued', 'thanks', `${s.url}/nomonitor`]);
    await assert.rejects(fetchAsync(`${s.url}/a`, {}, { callback: { url: 'ftp://x' } }), TypeError);
    await assert.rejects(fetchAsync(`${s.url}/a`, {}, { callback: { url: 'https://x', mode: 'ping', secret: 'k' } }), TypeError);
  });

  test('credentials go only to the same origin as the request', async () => {
    const other = await start((req, res) => json(res, 200, { status: 'Succeeded' }));
    const s = await start((_req, res) => res.writeHead(202, { 'operation-location': `${other.url}/ops/1` }).end());
    const res = await fetchAsync(s.url, { headers: { authorization: 'Bearer secret' } }, fast);
    assert.deepEqual(await res.json(), { status: 'Succeeded' }, 'no result link: the terminal status document is the answer');
    assert.equal(other.seen[0]!.headers.authorization, undefined);
  });
});
