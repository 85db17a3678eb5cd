/**
 * The library core in one process, over real sockets and a real SQLite file: negotiation by route policy,
 * what handlers return and throw, retries, Prefer: wait, Idempotency-Key, ownership, callbacks, and the
 * rules for declaring routes.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { eventually, tempDir } from '../../test/helpers/gateway-process.js';
import { Receiver } from '../../test/helpers/receiver.js';
import { withMonitor } from '../adapters/node.js';
import { createAsyncgate, type Asyncgate, type RouteHandler } from './asyncgate.js';

interface Status {
  id: string;
  status: string;
  error?: { code: string; message: string };
}

let gate: Asyncgate;
let server: Server;
let base = '';
let flakyRuns = 0;
let receiver: Receiver;

before(async () => {
  receiver = await new Receiver().start();
  gate = await createAsyncgate({
    db: `sqlite:${join(tempDir(), 'lib.db')}`,
    callbacks: { allowHosts: ['127.0.0.1'], retrySchedule: '0s,1s' },
  });
  const routes: Record<string, RouteHandler> = {
    '/echo': gate.route('echo', ({ request }) => ({ method: request.method, body: request.text() })),
    '/always': gate.route('always', ({ jobId }) => ({ jobId }), { async: 'always' }),
    '/required': gate.route('required', () => 'ok', { async: 'required' }),
    '/never': gate.route('never', ({ jobId }) => ({ jobId }), { async: 'never' }),
    '/created': gate.route('created', () => Response.json({ made: true }, { status: 201, headers: { 'x-made': 'yes' } })),
    '/boom': gate.route('boom', () => {
      throw new Error('the disk is full');
    }),
    '/flaky': gate.route(
      'flaky',
      () => {
        if (++flakyRuns < 2) throw new Error('first run fails');
        return { runs: flakyRuns };
      },
      { retry: { attempts: 3, unsafe: true } },
    ),
  };
  server = createServer(
    withMonitor(gate, (req, res) => {
      const route = routes[req.url ?? ''];
      if (route) return void route(req, res);
      res.writeHead(404).end();
    }),
  );
  await gate.start();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await gate.close();
  await receiver.close();
});

const post = (path: string, headers: Record<string, string> = {}, body = 'hello') => fetch(base + path, { method: 'POST', headers, body });
const ASYNC = { prefer: 'respond-async' };

async function finished(res: Response, headers: Record<string, string> = {}): Promise<Status> {
  const monitor = res.headers.get('location')!;
  return eventually(async () => {
    const s = (await (await fetch(monitor, { headers })).json()) as Status;
    return s.status !== 'NotStarted' && s.status !== 'Running' && s;
  }, 20_000);
}

test('allowed: asynchronous only when asked; the stored request reaches the handler', async () => {
  const inline = await post('/echo');
  assert.equal(inline.status, 200);
  assert.equal(inline.headers.get('vary'), 'Prefer');
  assert.deepEqual(await inline.json(), { method: 'POST', body: 'hello' });

  const accepted = await post('/echo', ASYNC);
  assert.equal(accepted.status, 202);
  assert.equal(accepted.headers.get('preference-applied'), 'respond-async');
  assert.equal((await finished(accepted)).status, 'Succeeded');
  const result = await fetch(`${accepted.headers.get('location')!}/result`);
  assert.deepEqual(await result.json(), { method: 'POST', body: 'hello' });
});

test('always / required / never follow the gateway’s route-rule semantics', async () => {
  const always = await post('/always');
  assert.equal(always.status, 202);
  const { id } = (await always.json()) as Status;
  await finished(always);
  assert.deepEqual(await (await fetch(`${base}/_async/jobs/${id}/result`)).json(), { jobId: id });

  const refused = await post('/required');
  assert.equal(refused.status, 400);
  assert.equal(((await refused.json()) as { type: string }).type, 'urn:asyncgate:problem:async-required');
  assert.equal((await post('/required', ASYNC)).status, 202);

  const never = await post('/never', ASYNC);
  assert.equal(never.status, 200);
  assert.deepEqual(await never.json(), { jobId: null });
});

test('a returned Response is the stored result; Prefer: wait answers with it directly', async () => {
  const res = await post('/created', { prefer: 'respond-async, wait=10' });
  assert.equal(res.status, 201);
  assert.equal(res.headers.get('x-made'), 'yes');
  assert.match(res.headers.get('link')!, /rel="monitor"/);
  assert.deepEqual(await res.json(), { made: true });
});

test('a throwing handler fails the job with handler-failed; inline it is a 500 problem without the detail', async () => {
  const failed = await finished(await post('/boom', ASYNC));
  assert.equal(failed.status, 'Failed');
  assert.deepEqual(failed.error, { code: 'handler-failed', message: 'the disk is full' });

  const inline = await post('/boom');
  assert.equal(inline.status, 500);
  const problem = (await inline.json()) as { type: string; detail?: string };
  assert.equal(problem.type, 'urn:asyncgate:problem:handler-failed');
  assert.doesNotMatch(JSON.stringify(problem), /disk/);
});

test('a route with retries re-runs a handler that threw', async () => {
  const done = await finished(await post('/flaky', ASYNC));
  assert.equal(done.status, 'Succeeded');
  assert.equal(flakyRuns, 2);
});

test('Idempotency-Key: a repeat returns the same job; another body is 422', async () => {
  const headers = { ...ASYNC, 'idempotency-key': '"lib-1"' };
  const first = (await (await post('/echo', headers, 'one')).json()) as Status;
  const again = (await (await post('/echo', headers, 'one')).json()) as Status;
  assert.equal(again.id, first.id);
  const conflict = await post('/echo', headers, 'two');
  assert.equal(conflict.status, 422);
});

test('a job is bound to the credentials it was submitted with', async () => {
  const res = await post('/echo', { ...ASYNC, authorization: 'Bearer alice' });
  const monitor = res.headers.get('location')!;
  assert.equal((await fetch(monitor, { headers: { authorization: 'Bearer mallory' } })).status, 404);
  assert.equal((await fetch(monitor)).status, 404);
  assert.equal((await finished(res, { authorization: 'Bearer alice' })).status, 'Succeeded');
});

test('a Callback header gets the result delivered, signed', async () => {
  const res = await post('/echo', { ...ASYNC, callback: `<${receiver.url}/cb>; rel="redirect"` }, 'to the callback');
  assert.equal(res.status, 202);
  const got = await eventually(async () => receiver.received.find((r) => r.url === '/cb'), 20_000);
  assert.deepEqual(JSON.parse(got.body.toString()), { method: 'POST', body: 'to the callback' });
  assert.match(String(got.headers['webhook-signature']), /^v1,/);
});

test('declaring routes: names are unique, options are checked, and nothing is declared after start()', async () => {
  assert.throws(() => gate.route('echo', () => null), /already declared/);
  const fresh = await createAsyncgate({ db: `sqlite:${join(tempDir(), 'opts.db')}` });
  try {
    assert.throws(() => fresh.route('bad', () => null, { async: 'sometimes' as 'always' }), /route "bad" has invalid options:\n {2}async/);
    assert.throws(() => fresh.route('slow', () => null, { timeout: 'forever' }), /timeout: "forever" is not a duration/);
  } finally {
    await fresh.close();
  }
  assert.throws(() => gate.route('late', () => null), /before start\(\)/);
  await assert.rejects(createAsyncgate({ db: 'sqlite:x.db', retention: 'a while' }), /invalid options:\n {2}retention/);
});
