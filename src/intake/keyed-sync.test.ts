/**
 * A synchronous request with an Idempotency-Key in library mode: the handler runs once, as a job, and every
 * repeat gets its answer (the gateway's side is test/e2e/intake-idempotency.test.ts).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { tempDir } from '../../test/helpers/gateway-process.js';
import { closeNow, listenLoopback } from '../../test/helpers/loopback.js';
import { withMonitor } from '../adapters/node.js';
import { createAsyncgate, type Asyncgate } from '../library/asyncgate.js';

let gate: Asyncgate;
let server: Server;
let base = '';
let runs = 0;

before(async () => {
  gate = await createAsyncgate({ db: `sqlite:${join(tempDir(), 'keyed.db')}` });
  const order = gate.route('order', ({ request }) => Response.json({ run: ++runs, body: request.text() }, { status: 201 }));
  server = createServer(withMonitor(gate, (req, res) => void order(req, res)));
  await gate.start();
  base = await listenLoopback(server);
});
after(async () => {
  await closeNow(server);
  await gate.close();
});

test('library mode: a keyed synchronous POST runs its handler once; the repeat replays it; another body is 422', async () => {
  const post = (body: string) => fetch(`${base}/order`, { method: 'POST', body, headers: { 'idempotency-key': 'lib-sync-1' } });
  const a = await post('{"n":1}');
  const b = await post('{"n":1}');
  assert.equal(a.status, 201);
  assert.equal(b.status, 201);
  assert.deepEqual(await b.json(), await a.json());
  assert.equal(runs, 1);
  assert.equal((await post('{"n":2}')).status, 422);
  // Without a key the handler runs inline, every time.
  await fetch(`${base}/order`, { method: 'POST', body: '{}' });
  await fetch(`${base}/order`, { method: 'POST', body: '{}' });
  assert.equal(runs, 3);
});
