/**
 * A deleted or expired job is gone (410) only to its owner: any other caller holding its id gets the 404 of
 * a job that never existed. The real CLI process, a real upstream, a real SQLite file.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { eventually, GatewayProcess, tempDir } from '../helpers/gateway-process.js';
import { TestUpstream } from '../helpers/upstream.js';

const upstream = new TestUpstream();
const dir = tempDir();
let gw: GatewayProcess;
const A = { authorization: 'Bearer caller-a' };
const B = { authorization: 'Bearer caller-b' };

before(async () => {
  await upstream.start();
  gw = await new GatewayProcess(['--upstream', upstream.url, '--db', `sqlite:${join(dir, 't.db')}`, '--retention', '1s']).start();
});
after(async () => {
  await gw.stop();
  await upstream.close();
});

async function submit(path: string, headers: Record<string, string>): Promise<string> {
  const res = await fetch(gw.url + path, { headers: { prefer: 'respond-async', ...headers } });
  assert.equal(res.status, 202);
  return ((await res.json()) as { id: string }).id;
}

/** The status and problem type each caller gets for `path`. */
async function answers(path: string, callers: Record<string, Record<string, string>>): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, headers] of Object.entries(callers)) {
    const res = await fetch(gw.url + path, { headers });
    const body = (await res.json()) as { type?: string };
    out[name] = `${res.status} ${body.type?.replace('urn:asyncgate:problem:', '') ?? ''}`;
  }
  return out;
}

const GONE_TO_A = { A: '410 job-gone', B: '404 job-not-found', none: '404 job-not-found' };

test('deleted: its owner gets 410, another caller and a caller without credentials 404', async () => {
  const id = await submit('/hang', A);
  const del = await fetch(`${gw.url}/_async/jobs/${id}`, { method: 'DELETE', headers: A });
  assert.equal(del.status, 204);
  for (const path of ['', '/result', '/events']) {
    assert.deepEqual(await answers(`/_async/jobs/${id}${path}`, { A, B, none: {} }), GONE_TO_A, path);
  }
  // Deleting it again: the same answers.
  const again = await fetch(`${gw.url}/_async/jobs/${id}`, { method: 'DELETE', headers: B });
  assert.equal(again.status, 404);
  await again.body?.cancel();
});

test('deleted, submitted without credentials: 410 without credentials, 404 with some', async () => {
  const id = await submit('/hang', {});
  const del = await fetch(`${gw.url}/_async/jobs/${id}`, { method: 'DELETE' });
  assert.equal(del.status, 204);
  assert.deepEqual(await answers(`/_async/jobs/${id}`, { A, none: {} }), { A: '404 job-not-found', none: '410 job-gone' });
});

test('expired, then swept: its owner gets 410, the others 404', async () => {
  const id = await submit('/ok', A);
  await eventually(async () => (await fetch(`${gw.url}/_async/jobs/${id}`, { headers: A })).status === 410, 10_000, 100);
  assert.deepEqual(await answers(`/_async/jobs/${id}`, { A, B, none: {} }), GONE_TO_A);
  await eventually(async () => gw.logs.some((l) => l.msg === 'purged expired jobs'), 10_000, 200);
  for (const path of ['', '/result']) {
    assert.deepEqual(await answers(`/_async/jobs/${id}${path}`, { A, B, none: {} }), GONE_TO_A, path);
  }
});
