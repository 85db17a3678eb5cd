/** The admin API: behind the admin token, sees every job whoever submitted it, pages newest first. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { eventually, GatewayProcess, tempDir } from '../helpers/gateway-process.js';
import { TestUpstream } from '../helpers/upstream.js';

const TOKEN = 'admin-token-0123456789abcdef';
const upstream = new TestUpstream();
let gw: GatewayProcess;
before(async () => {
  await upstream.start();
  gw = await new GatewayProcess(['--upstream', upstream.url, '--db', `sqlite:${join(tempDir(), 'admin.db')}`, '--admin-token', TOKEN]).start();
});
after(async () => {
  await gw.stop();
  await upstream.close();
});

const admin = (query = '', token = TOKEN) => fetch(`${gw.url}/_async/admin/jobs${query}`, { headers: { authorization: `Bearer ${token}` } });

test('without the right token: 401 problem with WWW-Authenticate', async () => {
  for (const res of [await fetch(`${gw.url}/_async/admin/jobs`), await admin('', 'wrong-token-0123456789abcde')]) {
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.equal(((await res.json()) as { type: string }).type, 'urn:asyncgate:problem:unauthorized');
  }
});

test('lists every submitter’s jobs, filtered by status, a page at a time', async () => {
  const ids: string[] = [];
  for (const who of ['alice', 'bob', 'carol']) {
    const res = await fetch(`${gw.url}/ok`, { headers: { prefer: 'respond-async', authorization: `Bearer ${who}` } });
    ids.push(((await res.json()) as { id: string }).id);
  }
  const failed = await fetch(`${gw.url}/status/500`, { headers: { prefer: 'respond-async' } });
  const failedId = ((await failed.json()) as { id: string }).id;
  await eventually(async () => {
    const list = (await (await admin('?state=failed')).json()) as { items: Array<{ id: string }> };
    return list.items.some((j) => j.id === failedId);
  });
  const page1 = (await (await admin('?limit=2')).json()) as { items: Array<{ id: string }>; next: string };
  assert.deepEqual(page1.items.map((j) => j.id), [failedId, ids[2]]);
  // `next` is a URL to follow as it is, with the same filter and page size.
  assert.equal(new URL(page1.next).origin, gw.url);
  assert.equal(new URL(page1.next).pathname, '/_async/admin/jobs');
  const page2 = (await (await fetch(page1.next, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { items: Array<{ id: string }> };
  assert.equal(page2.items[0]!.id, ids[1]);
  // state= is read in any case, by status name or by internal state.
  for (const q of ['?state=FAILED', '?state=Failed', '?state=failed']) {
    const list = (await (await admin(q)).json()) as { items: Array<{ id: string }> };
    assert.ok(list.items.some((j) => j.id === failedId), q);
  }
  const filtered = (await (await admin('?state=SUCCEEDED&limit=1')).json()) as { next: string };
  assert.equal(new URL(filtered.next).searchParams.get('state'), 'succeeded');
  const bad = await admin('?state=exploded');
  assert.equal(bad.status, 400);
  assert.equal(((await bad.json()) as { type: string }).type, 'urn:asyncgate:problem:invalid-query');
});
