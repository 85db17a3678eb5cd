/**
 * Asynchronous upstreams (route rule `upstreamAsync: follow`): an upstream that answers `202` with a monitor of
 * its own, in each convention, behind the real gateway process. The job finishes with the operation's real
 * outcome, its progress mirrored; a gateway killed mid-follow resumes polling after a restart without sending
 * the request again; with the rule off the 202 is the result.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { eventually, GatewayProcess, tempDir } from '../helpers/gateway-process.js';
import { json, TinyServer, type TinyRequest } from '../helpers/tiny-server.js';

interface Status {
  status: string;
  progress?: { percent?: number; current?: number; total?: number; message?: string };
  percentComplete?: number;
  error?: { code: string; message: string };
}

const cleanup: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

async function upstream(handler: (req: TinyRequest, res: ServerResponse) => void): Promise<TinyServer> {
  const s = await new TinyServer(handler).start();
  cleanup.push(() => s.close());
  return s;
}

/** A gateway in front of `up`, following upstream 202s on /follow/*, not on /plain/*. */
function gatewayArgs(up: TinyServer, dir = tempDir()): string[] {
  const config = join(dir, 'asyncgate.json');
  writeFileSync(config, JSON.stringify({ routes: [{ match: '/follow/*rest', upstreamAsync: 'follow', timeout: '60s' }] }));
  return ['--upstream', up.url, '--db', `sqlite:${join(dir, 'gw.db')}`, '--config', config, '--lease', '2s'];
}

async function gateway(args: string[]): Promise<GatewayProcess> {
  const gw = await new GatewayProcess(args).start();
  cleanup.push(() => gw.stop());
  return gw;
}

async function submit(gw: GatewayProcess, path: string, init: RequestInit = {}): Promise<string> {
  const res = await fetch(`${gw.url}${path}`, { method: 'POST', body: '{"n":1}', ...init, headers: { prefer: 'respond-async', 'content-type': 'application/json', ...init.headers } });
  assert.equal(res.status, 202, await res.clone().text());
  return ((await res.json()) as { id: string }).id;
}

async function finished(gw: GatewayProcess, id: string, seen?: Status[]): Promise<Status> {
  return eventually(async () => {
    const s = (await (await fetch(`${gw.url}/_async/jobs/${id}`)).json()) as Status;
    seen?.push(s);
    return ['Succeeded', 'Failed', 'Canceled'].includes(s.status) ? s : undefined;
  }, 30_000, 100);
}

const result = (gw: GatewayProcess, id: string) => fetch(`${gw.url}/_async/jobs/${id}/result`);

describe('upstreamAsync: follow', () => {
  test('Azure: Operation-Location polled to Succeeded, percentComplete mirrored, resourceLocation is the result', async () => {
    let polls = 0;
    let release = false;
    const up = await upstream((req, res) => {
      if (req.method === 'POST' && req.path === '/follow/things') {
        return json(res, 202, { status: 'NotStarted' }, { 'operation-location': '/operations/7', 'retry-after': '0' });
      }
      if (req.path === '/operations/7') {
        polls++;
        if (!release) return json(res, 200, { status: 'Running', percentComplete: 40 }, { 'retry-after': '0' });
        return json(res, 200, { status: 'Succeeded', resourceLocation: '/things/7' });
      }
      if (req.path === '/things/7') return json(res, 201, { id: 7, name: 'thing' }, { 'x-final': 'yes' });
      res.writeHead(404).end();
    });
    const gw = await gateway(gatewayArgs(up));
    const id = await submit(gw, '/follow/things', { headers: { authorization: 'Bearer abc' } });
    const running = await eventually(async () => {
      const s = (await (await fetch(`${gw.url}/_async/jobs/${id}`, { headers: { authorization: 'Bearer abc' } })).json()) as Status;
      return s.percentComplete === 40 ? s : undefined;
    }, 15_000, 100);
    assert.equal(running.status, 'Running', 'the upstream is still working: so is the job');
    release = true;
    const done = await eventually(async () => {
      const s = (await (await fetch(`${gw.url}/_async/jobs/${id}`, { headers: { authorization: 'Bearer abc' } })).json()) as Status;
      return s.status === 'Succeeded' ? s : undefined;
    }, 15_000, 100);
    assert.equal(done.status, 'Succeeded');
    const res = await fetch(`${gw.url}/_async/jobs/${id}/result`, { headers: { authorization: 'Bearer abc' } });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('x-final'), 'yes');
    assert.deepEqual(await res.json(), { id: 7, name: 'thing' });
    assert.ok(polls >= 2);
    assert.equal(up.requests('/follow/things', 'POST').length, 1);
    // The submitter's credentials go to the monitor and the result too; the polls carry no body headers.
    for (const r of [...up.requests('/operations/7'), ...up.requests('/things/7')]) {
      assert.equal(r.method, 'GET');
      assert.equal(r.headers.authorization, 'Bearer abc');
      assert.equal(r.headers['content-type'], undefined);
    }
  });

  test('OData / RFC 9110: Location answers 202 while running, then 303 to the result (or the final 200 itself)', async () => {
    let polls = 0;
    const up = await upstream((req, res) => {
      if (req.method === 'POST' && req.path === '/follow/export') return res.writeHead(202, { location: '/monitor/e1', 'retry-after': '0' }).end();
      if (req.method === 'POST' && req.path === '/follow/report') return res.writeHead(202, { location: '/monitor/r1', 'retry-after': '0' }).end();
      if (req.path === '/monitor/e1') {
        if (++polls < 3) return json(res, 202, { status: 'Running', progress: { current: polls, total: 4 } }, { 'retry-after': '0' });
        return res.writeHead(303, { location: '/exports/e1' }).end();
      }
      if (req.path === '/monitor/r1') {
        if (up.requests('/monitor/r1').length < 2) return res.writeHead(202, { 'retry-after': '0' }).end();
        return res.writeHead(200, { 'content-type': 'text/csv' }).end('a,b\n1,2\n');
      }
      if (req.path === '/exports/e1') return res.writeHead(200, { 'content-type': 'text/plain' }).end('exported');
      res.writeHead(404).end();
    });
    const gw = await gateway(gatewayArgs(up));
    const seen: Status[] = [];
    const exportJob = await submit(gw, '/follow/export');
    const reportJob = await submit(gw, '/follow/report');
    assert.equal((await finished(gw, exportJob, seen)).status, 'Succeeded');
    assert.equal(await (await result(gw, exportJob)).text(), 'exported');
    assert.ok(seen.some((s) => s.status === 'Running' && s.progress?.total === 4), 'progress current/total mirrored');
    assert.equal((await finished(gw, reportJob)).status, 'Succeeded');
    const report = await result(gw, reportJob);
    assert.equal(report.headers.get('content-type'), 'text/csv');
    assert.equal(await report.text(), 'a,b\n1,2\n');
  });

  test("a Failed operation fails the job with upstream-operation-failed and the upstream's error; a foreign monitor is refused", async () => {
    const up = await upstream((req, res) => {
      if (req.method === 'POST' && req.path === '/follow/bad') return res.writeHead(202, { 'operation-location': '/ops/bad', 'retry-after': '0' }).end();
      if (req.method === 'POST' && req.path === '/follow/away') return res.writeHead(202, { 'operation-location': 'http://elsewhere.example/ops/1' }).end();
      if (req.path === '/ops/bad') return json(res, 200, { status: 'Failed', error: { code: 'QuotaExceeded', message: 'too many things' } });
      res.writeHead(404).end();
    });
    const gw = await gateway(gatewayArgs(up));
    const bad = await finished(gw, await submit(gw, '/follow/bad'));
    assert.equal(bad.status, 'Failed');
    assert.equal(bad.error?.code, 'upstream-operation-failed');
    assert.match(bad.error?.message ?? '', /QuotaExceeded: too many things/);
    const away = await finished(gw, await submit(gw, '/follow/away'));
    assert.equal(away.status, 'Failed');
    assert.equal(away.error?.code, 'upstream-monitor-refused');
    assert.match(away.error?.message ?? '', /elsewhere\.example/);
    assert.equal(up.seen.filter((r) => r.path.includes('elsewhere')).length, 0);
  });

  test("cancel is passed on: the monitor is DELETEd, or the operation's cancel link POSTed", async () => {
    const up = await upstream((req, res) => {
      if (req.method === 'POST' && req.path === '/follow/linked') return res.writeHead(202, { 'operation-location': '/ops/linked', 'retry-after': '0' }).end();
      if (req.path === '/ops/linked') return json(res, 200, { status: 'Running', links: { cancel: { href: '/ops/linked/cancel' } } }, { 'retry-after': '0' });
      if (req.path === '/ops/linked/cancel') return json(res, 200, { status: 'Canceled' });
      if (req.method === 'POST') return res.writeHead(202, { 'operation-location': '/ops/long', 'retry-after': '0' }).end();
      if (req.path === '/ops/long' && req.method === 'GET') return json(res, 200, { status: 'Running' }, { 'retry-after': '0' });
      if (req.path === '/ops/long' && req.method === 'DELETE') return res.writeHead(204).end();
      res.writeHead(404).end();
    });
    const gw = await gateway(gatewayArgs(up));
    const id = await submit(gw, '/follow/long');
    await eventually(async () => up.requests('/ops/long', 'GET').length > 0);
    const res = await fetch(`${gw.url}/_async/jobs/${id}`, { method: 'DELETE' });
    assert.ok(res.status < 300, `cancel answered ${res.status}`);
    await eventually(async () => up.requests('/ops/long', 'DELETE').length === 1, 10_000);
    const linked = await submit(gw, '/follow/linked');
    await eventually(async () => up.requests('/ops/linked', 'GET').length > 0);
    await fetch(`${gw.url}/_async/jobs/${linked}`, { method: 'DELETE' });
    await eventually(async () => up.requests('/ops/linked/cancel', 'POST').length === 1, 10_000);
    assert.equal(up.requests('/ops/linked', 'DELETE').length, 0);
  });

  test('kill -9 mid-follow: after a restart on the same file the job resumes polling, the POST is never sent twice', { timeout: 60_000 }, async () => {
    let done = false;
    const up = await upstream((req, res) => {
      if (req.method === 'POST' && req.path === '/follow/slow') return res.writeHead(202, { 'operation-location': '/ops/slow', 'retry-after': '0' }).end();
      if (req.path === '/ops/slow') return json(res, 200, done ? { status: 'Succeeded', resourceLocation: '/slow/1' } : { status: 'Running', percentComplete: 10 }, { 'retry-after': '0' });
      if (req.path === '/slow/1') return res.writeHead(200, { 'content-type': 'text/plain' }).end('slow result');
      res.writeHead(404).end();
    });
    const args = gatewayArgs(up);
    const first = await new GatewayProcess(args).start();
    const id = await submit(first, '/follow/slow');
    await eventually(async () => up.requests('/ops/slow').length >= 2);
    await first.crash();
    done = true;
    const gw = await gateway(args);
    const s = await finished(gw, id);
    assert.equal(s.status, 'Succeeded');
    assert.equal(await (await result(gw, id)).text(), 'slow result');
    assert.equal(up.requests('/follow/slow', 'POST').length, 1, 'the upstream saw the request once');
  });

  test('rule off: the upstream 202 is the result, as without the rule', async () => {
    const up = await upstream((req, res) => {
      if (req.method === 'POST') return json(res, 202, { status: 'Running' }, { 'operation-location': '/ops/x' });
      res.writeHead(404).end();
    });
    const gw = await gateway(gatewayArgs(up));
    const id = await submit(gw, '/plain/x');
    assert.equal((await finished(gw, id)).status, 'Succeeded');
    const res = await result(gw, id);
    assert.equal(res.status, 202);
    assert.equal(res.headers.get('operation-location'), '/ops/x');
    assert.equal(up.requests('/ops/x').length, 0);
  });
});
