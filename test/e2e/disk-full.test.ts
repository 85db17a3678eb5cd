/**
 * A full disk under the SQLite store, for real: the database lives on a small tmpfs, and a filler file takes
 * the rest of it while a job runs. The job's result cannot be stored; the job must not stay Running forever:
 * it completes once space is freed. Meanwhile a new submission is refused with 507 storage-full and
 * Retry-After, not 500. Needs root (mount); skipped loudly elsewhere, a failure with CI=true.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventually, GatewayProcess } from '../helpers/gateway-process.js';
import { Tmpfs } from '../helpers/tmpfs.js';

interface Status {
  status: string;
  error?: { code: string };
}

test('a full disk: the result is stored once space is freed, and new jobs get 507 meanwhile', { timeout: 90_000 }, async (t) => {
  const disk = await Tmpfs.mount('16m');
  if (!disk) return t.skip('cannot mount a tmpfs here (run as root)');
  // The upstream answers /gated only when the test says so: by then the disk is full.
  let arrived: () => void = () => undefined;
  const requestArrived = new Promise<void>((resolve) => (arrived = resolve));
  let answer: () => void = () => undefined;
  const answered = new Promise<void>((resolve) => (answer = resolve));
  const upstream = createServer((req, res) => {
    req.resume();
    if (req.url !== '/gated') return res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    arrived();
    void answered.then(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('the result, kept'));
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  // The default 10 s lease: the disk is full for less than that, so an ended attempt's lease cannot lapse
  // meanwhile; only a heartbeat that stops renewing it lets it be rescued.
  // One worker: /health's `running` below counts the attempts of the process that answers it.
  const gw = await new GatewayProcess(['--upstream', upstreamUrl, '--db', `sqlite:${join(disk.dir, 'jobs.db')}`, '--workers', '1']).start();
  try {
    const submit = () => fetch(`${gw.url}/gated`, { headers: { prefer: 'respond-async' } });
    const accepted = await submit();
    assert.equal(accepted.status, 202);
    const { id } = (await accepted.json()) as { id: string };
    await requestArrived;

    const filler = disk.fill();
    answer();
    // The attempt tried to store its result and was refused (logged against the job).
    await eventually(async () => gw.logs.some((l) => l.job_id === id && Number(l.level) >= 40), 20_000);

    const refused = await submit();
    assert.equal(refused.status, 507, await refused.clone().text());
    assert.ok(Number(refused.headers.get('retry-after')) > 0, 'Retry-After');
    assert.match(((await refused.json()) as { type: string }).type, /storage-full$/);
    const stillRunning = (await (await fetch(`${gw.url}/_async/jobs/${id}`)).json()) as Status;
    assert.equal(stillRunning.status, 'Running');
    // The attempt is still at work here (retrying its completion), and health says so.
    const health = (await (await fetch(`${gw.url}/_async/health`)).json()) as { running: number };
    assert.equal(health.running, 1);

    rmSync(filler);
    const done = await eventually(async () => {
      const s = (await (await fetch(`${gw.url}/_async/jobs/${id}`)).json()) as Status;
      return s.status === 'Running' ? undefined : s;
    }, 30_000, 200);
    assert.equal(done.status, 'Succeeded', JSON.stringify(done));
    assert.equal(await (await fetch(`${gw.url}/_async/jobs/${id}/result`)).text(), 'the result, kept');
    const afterwards = await fetch(`${gw.url}/ok`, { headers: { prefer: 'respond-async' } });
    assert.equal(afterwards.status, 202);
    await afterwards.body?.cancel();
  } finally {
    await gw.stop();
    upstream.closeAllConnections();
    await new Promise((r) => upstream.close(r));
    await disk.unmount();
  }
});
