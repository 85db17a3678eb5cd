/**
 * The admin API of the operator console against a real gateway: filters and search, one job in full (with
 * credentials redacted), cancel, retry (the upstream sees the request again and the callback goes out again),
 * bulk retry with a cap and a dry run, the overview. Search and retry also on PostgreSQL.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventually, GatewayProcess, tempDir } from '../helpers/gateway-process.js';
import { dropSchemas, postgresAvailable, schemaUrl, uniqueSchema } from '../helpers/postgres.js';
import { Receiver } from '../helpers/receiver.js';
import { TinyServer, type TinyRequest } from '../helpers/tiny-server.js';

const TOKEN = 'admin-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };

interface Rep {
  id: string;
  status: string;
  error?: { code: string };
}

/** A progress report to the URL and with the token the gateway gave the upstream request. */
async function report(req: TinyRequest, progress: Record<string, unknown>): Promise<void> {
  const res = await fetch(String(req.headers['asyncgate-progress-url']), {
    method: 'POST',
    headers: { authorization: `Bearer ${String(req.headers['asyncgate-progress-token'])}`, 'content-type': 'application/json' },
    body: JSON.stringify(progress),
  });
  assert.ok(res.status < 300, `progress report: ${res.status}`);
}

/** Answers 500 to the first request of each /flaky/… path and 200 after; /slow/… after 30 s; /transient/… reports
 * progress, answers 503 with Retry-After the first time, then reports twice more and answers 200; the rest 200. */
function upstream(): TinyServer {
  const seenPaths = new Map<string, number>();
  return new TinyServer((req, res) => {
    const n = (seenPaths.get(req.path) ?? 0) + 1;
    seenPaths.set(req.path, n);
    if (req.path.startsWith('/transient')) {
      const first = async () => {
        await report(req, { percentComplete: 10, message: 'first try' });
        res.writeHead(503, { 'retry-after': '0', 'content-type': 'text/plain' }).end('busy');
      };
      const second = async () => {
        await report(req, { current: 1, total: 2, message: 'again' });
        await report(req, { current: 2, total: 2 });
        res.writeHead(200, { 'content-type': 'text/plain' }).end('done at last');
      };
      return void (n === 1 ? first() : second()).catch(() => res.destroy());
    }
    if (req.path.startsWith('/slow')) {
      const timer = setTimeout(() => res.writeHead(200).end('late'), 30_000);
      res.on('close', () => clearTimeout(timer));
      return;
    }
    if (req.path.startsWith('/flaky') && n === 1) return void res.writeHead(500, { 'content-type': 'text/plain' }).end('first time fails');
    res.writeHead(200, { 'content-type': 'text/plain', 'set-cookie': 'session=upstream-secret' }).end(`done ${req.path}`);
  });
}

/** The admin API's tests, on one gateway over `db`. `full`: every test, else search and retry only. */
function adminApi(name: string, db: () => string, full: boolean, skip: () => string | false) {
  describe(`admin API (${name})`, () => {
    const up = upstream();
    const rx = new Receiver();
    let gw: GatewayProcess;

    before(async () => {
      if (skip()) return;
      await up.start();
      await rx.start();
      gw = await new GatewayProcess(['--upstream', up.url, '--db', db(), '--admin-token', TOKEN, '--owner-header', 'x-api-key', '--allow-callback-hosts', '127.0.0.1']).start();
    });
    after(async () => {
      if (skip()) return;
      await gw.stop();
      await up.close();
      await rx.close();
    });

    const api = async <T>(path: string, init: RequestInit = {}) => {
      const res = await fetch(`${gw.url}/_async${path}`, { ...init, headers: { ...auth, ...(init.headers as Record<string, string>) } });
      const text = await res.text();
      return { status: res.status, type: res.headers.get('content-type'), body: (text ? JSON.parse(text) : null) as T };
    };
    const submit = async (path: string, init: RequestInit = {}) => {
      const res = await fetch(`${gw.url}${path}`, { ...init, headers: { prefer: 'respond-async', ...(init.headers as Record<string, string>) } });
      assert.equal(res.status, 202, await res.clone().text());
      return ((await res.json()) as Rep).id;
    };
    const statusOf = async (id: string) => (await api<{ job: Rep }>(`/admin/jobs/${id}`)).body.job.status;
    const until = (id: string, status: string) => eventually(async () => (await statusOf(id)) === status);
    const ids = async (query: string) => (await api<{ items: Rep[] }>(`/admin/jobs?${query}`)).body.items.map((j) => j.id);

    test('search finds a job by a word of its request body, and not the others; by id and by URL too', { skip: skip() }, async () => {
      // Starts with a letter no other word here starts with: the searches for "a" and "b" below match words by
      // their start, so a tag beginning with either would match the other job too.
      const tag = `q${Math.random().toString(36).slice(2, 8)}`;
      const invoice = await submit(`/orders/${tag}/a`, { method: 'POST', body: JSON.stringify({ note: `Invoice 4711 for ACME ${tag}x` }), headers: { 'content-type': 'application/json' } });
      const receipt = await submit(`/orders/${tag}/b`, { method: 'POST', body: JSON.stringify({ note: `the receipt ${tag}x` }), headers: { 'content-type': 'application/json' } });
      await until(invoice, 'Succeeded');
      await until(receipt, 'Succeeded');
      assert.deepEqual(await ids(`q=${encodeURIComponent(`invoice ${tag}x`)}`), [invoice]);
      assert.deepEqual(await ids(`q=${encodeURIComponent(`RECEIPT ${tag}`)}`), [receipt]);
      assert.deepEqual(await ids(`q=${invoice}`), [invoice]);
      assert.deepEqual(await ids(`q=${encodeURIComponent(`${tag}/b`)}`), [receipt]);
      assert.deepEqual(await ids(`q=${encodeURIComponent(`invoice receipt ${tag}x`)}`), []);
      // The response body is searchable too ("done /orders/…/a").
      assert.deepEqual(await ids(`q=${encodeURIComponent(`done ${tag} a`)}`), [invoice]);
    });

    test('retry runs a failed job again: the upstream sees a second request, it succeeds, and its callback goes out again', { skip: skip() }, async () => {
      const path = `/flaky/retry-${Math.random().toString(36).slice(2, 8)}`;
      const id = await submit(path, { headers: { callback: `<${rx.url}/cb-${id8(path)}>; rel="respond-async"` } });
      await until(id, 'Failed');
      const firstCallbacks = await eventually(async () => {
        const got = rx.received.filter((r) => r.url === `/cb-${id8(path)}`);
        return got.length === 1 && got;
      });
      const retried = await api<{ job: Rep }>(`/admin/jobs/${id}/retry`, { method: 'POST' });
      assert.equal(retried.status, 200);
      assert.equal(retried.body.job.id, id);
      assert.ok(['NotStarted', 'Running', 'Succeeded'].includes(retried.body.job.status), retried.body.job.status);
      await until(id, 'Succeeded');
      assert.equal(up.requests(path).length, 2, 'the upstream saw the request again');
      const again = await eventually(async () => {
        const got = rx.received.filter((r) => r.url === `/cb-${id8(path)}`);
        return got.length === 2 && got;
      });
      assert.equal(again[1]!.headers['webhook-id'], firstCallbacks[0]!.headers['webhook-id'], 'the same callback, sent again');
      const twice = await api<{ type: string; job: Rep }>(`/admin/jobs/${id}/retry`, { method: 'POST' });
      assert.equal(twice.status, 409);
      assert.equal(twice.body.type, 'urn:asyncgate:problem:job-not-retryable');
      assert.equal(twice.body.job.status, 'Succeeded');
      assert.equal((await api(`/admin/jobs/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/retry`, { method: 'POST' })).status, 404);
    });

    if (!full) return;

    test('filters: newest first, by method, path, state, error code and time; bad values are 400', { skip: skip() }, async () => {
      const tag = Math.random().toString(36).slice(2, 8);
      const since = new Date().toISOString();
      const a = await submit(`/list-${tag}/one`, { method: 'POST', body: 'one' });
      const b = await submit(`/list-${tag}/two`, { method: 'PUT', body: 'two' });
      const c = await submit(`/flaky/list-${tag}`);
      await until(c, 'Failed');
      await until(b, 'Succeeded');
      assert.deepEqual(await ids(`path=/list-${tag}`), [b, a]);
      assert.deepEqual(await ids(`path=/list-${tag}&method=put`), [b]);
      assert.deepEqual((await ids(`since=${since}&limit=3`)), [c, b, a]);
      assert.deepEqual(await ids(`since=${since}&until=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}`), []);
      assert.deepEqual(await ids(`path=/flaky/list-${tag}&state=Failed&error=upstream-http-error`), [c]);
      assert.deepEqual(await ids(`path=/flaky/list-${tag}&error=upstream-timeout`), []);
      const page = await api<{ items: Rep[]; next: string }>(`/admin/jobs?since=${since}&limit=2`);
      assert.deepEqual(page.body.items.map((j) => j.id), [c, b]);
      const rest = (await (await fetch(page.body.next, { headers: auth })).json()) as { items: Rep[] };
      assert.deepEqual(rest.items.map((j) => j.id), [a]);
      for (const bad of ['since=yesterday', 'error=exploded', 'path=nope', 'method=G%20T', 'limit=0']) {
        const res = await api<{ type: string }>(`/admin/jobs?${bad}`);
        assert.equal(res.status, 400, bad);
        assert.equal(res.body.type, 'urn:asyncgate:problem:invalid-query', bad);
      }
    });

    test('one job in full: credentials redacted, body previews, a timeline, its deliveries', { skip: skip() }, async () => {
      const id = await submit('/detail/x?y=1', {
        method: 'POST',
        body: '{"hello":"world"}',
        headers: { 'content-type': 'application/json', authorization: 'Bearer client-secret', cookie: 'sid=abc', 'x-api-key': 'tenant-key', 'x-trace': 'visible', callback: `<${rx.url}/detail>; rel="respond-async"` },
      });
      await until(id, 'Succeeded');
      await eventually(async () => rx.received.some((r) => r.url === '/detail'));
      const d = await eventually(async () => {
        const got = (await api<Detail>(`/admin/jobs/${id}`)).body;
        return got.deliveries[0]?.attempts.length === 1 && got;
      });
      const header = (name: string) => d.request.headers.find(([n]) => n === name)?.[1];
      assert.equal(header('authorization'), '[redacted]');
      assert.equal(header('cookie'), '[redacted]');
      assert.equal(header('x-api-key'), '[redacted]');
      assert.equal(header('x-trace'), 'visible');
      assert.doesNotMatch(JSON.stringify(d), /client-secret|tenant-key|sid=abc|upstream-secret/);
      assert.deepEqual([d.request.method, d.request.url, d.request.bodyPreview, d.request.bodySize, d.request.bodyTruncated], ['POST', '/detail/x?y=1', '{"hello":"world"}', 17, false]);
      assert.equal(d.response?.status, 200);
      assert.equal(d.response?.bodyPreview, 'done /detail/x?y=1');
      assert.deepEqual(d.timeline.map((e) => e.kind), ['accepted', 'started', 'attempt-ended', 'finished', 'callback-attempt']);
      assert.equal(d.timeline[4]!.status, 200);
      assert.equal(d.deliveries[0]!.state, 'delivered');
      assert.equal(d.attempts, 1);
      assert.equal((await api(`/admin/jobs/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`)).status, 404);
    });

    test('the timeline lists each upstream attempt (a 503 requeued, then a success) and every progress report', { skip: skip() }, async () => {
      const id = await submit(`/transient/${Math.random().toString(36).slice(2, 8)}`);
      await until(id, 'Succeeded');
      const d = (await api<Detail>(`/admin/jobs/${id}`)).body;
      const kinds = d.timeline.map((e) => e.kind);
      assert.deepEqual(kinds, ['accepted', 'started', 'progress', 'attempt-ended', 'started', 'progress', 'progress', 'attempt-ended', 'finished']);
      const [, start1, p1, end1, start2, p2, p3, end2] = d.timeline;
      assert.deepEqual([start1!.attempt, end1!.attempt, start2!.attempt, end2!.attempt], [1, 1, 2, 2]);
      assert.deepEqual([end1!.outcome, end1!.status, end1!.code], ['requeued', 503, 'upstream-http-error']);
      assert.deepEqual([end2!.outcome, end2!.status, end2!.code], ['succeeded', 200, undefined]);
      for (const end of [end1!, end2!]) assert.ok(typeof end.durationMs === 'number' && end.durationMs >= 0, JSON.stringify(end));
      assert.deepEqual([p1!.detail, p2!.detail, p3!.detail], ['10% first try', '1/2 again', '2/2']);
      assert.ok(Date.parse(start2!.at) >= Date.parse(end1!.at), 'the second attempt starts after the first ended');
      assert.equal(d.attempts, 2);
    });

    test('cancel stops a running job (its owner sees it canceled); delete forgets it', { skip: skip() }, async () => {
      const id = await submit('/slow/cancel-me', { headers: { 'x-api-key': 'owner-1' } });
      await until(id, 'Running');
      const canceled = await api<{ job: Rep }>(`/admin/jobs/${id}/cancel`, { method: 'POST' });
      assert.equal(canceled.status, 200);
      assert.equal(canceled.body.job.status, 'Canceled');
      const monitor = (await (await fetch(`${gw.url}/_async/jobs/${id}`, { headers: { 'x-api-key': 'owner-1' } })).json()) as Rep;
      assert.equal(monitor.status, 'Canceled');
      assert.equal((await api(`/admin/jobs/${id}`, { method: 'DELETE' })).status, 204);
      assert.equal((await fetch(`${gw.url}/_async/jobs/${id}`, { headers: { 'x-api-key': 'owner-1' } })).status, 410);
      assert.equal((await api(`/admin/jobs/${id}`)).status, 404);
    });

    test('bulk retry: a dry run counts up to cap + 1 and changes nothing; the retry touches at most the cap', { skip: skip() }, async () => {
      const tag = Math.random().toString(36).slice(2, 8);
      const failed = [];
      for (let i = 0; i < 3; i++) failed.push(await submit(`/flaky/bulk-${tag}/${i}`));
      for (const id of failed) await until(id, 'Failed');
      const filter = `path=/flaky/bulk-${tag}/&state=failed`;
      const dry = await api<{ matched: number; cap: number }>(`/admin/jobs/retry?${filter}&limit=2&dry-run=1`, { method: 'POST' });
      assert.deepEqual([dry.status, dry.body], [200, { matched: 3, cap: 2 }]);
      assert.equal(up.requests(`/flaky/bulk-${tag}/`).length, 3, 'a dry run changes nothing');
      const done = await api<{ retried: number; cap: number }>(`/admin/jobs/retry?${filter}&limit=2`, { method: 'POST' });
      assert.deepEqual([done.status, done.body], [200, { retried: 2, cap: 2 }]);
      // Newest first: the last two run again and succeed; the oldest is still failed.
      await until(failed[2]!, 'Succeeded');
      await until(failed[1]!, 'Succeeded');
      assert.equal(await statusOf(failed[0]!), 'Failed');
      assert.equal(up.requests(`/flaky/bulk-${tag}/`).length, 5);
      assert.deepEqual((await api(`/admin/jobs/retry?${filter}&dry-run=1`, { method: 'POST' })).body, { matched: 1, cap: 100 });
      assert.equal((await api(`/admin/jobs/retry?limit=1001`, { method: 'POST' })).status, 400);
      const redeliver = await api(`/admin/deliveries/redeliver?since=0&host=127.0.0.1&limit=5&dry-run=1`, { method: 'POST' });
      assert.deepEqual(redeliver.body, { matched: 0, since: '1970-01-01T00:00:00.000Z', cap: 5 });
    });

    test('overview: jobs by state, the last hour per minute, deliveries, running vs concurrency', { skip: skip() }, async () => {
      const o = (await api<Overview>('/admin/overview')).body;
      const all = (await api<{ items: Rep[] }>('/admin/jobs?limit=500')).body.items;
      const count = (status: string) => all.filter((j) => j.status === status).length;
      assert.equal(o.jobs.byState.succeeded, count('Succeeded'));
      assert.equal(o.jobs.byState.failed, count('Failed'));
      assert.equal(o.jobs.byState.queued, count('NotStarted'));
      assert.equal(o.perMinute.length, 60);
      assert.ok(Date.parse(o.perMinute[59]!.minute) <= Date.now() && Date.parse(o.perMinute[59]!.minute) > Date.now() - 60_000);
      assert.equal(o.perMinute.reduce((n, m) => n + m.accepted, 0), all.length, 'every job of this test run was accepted within the hour');
      assert.equal(o.concurrency, 64);
      assert.equal(typeof o.running, 'number');
      assert.equal(o.deliveries.byState.delivered, (await api<{ items: unknown[] }>('/admin/deliveries?state=delivered&limit=500')).body.items.length);
      assert.deepEqual(o.failingHosts, []);
      const deliveries = await api<{ items: Array<{ host: string; lastStatus: number }> }>(`/admin/deliveries?host=${new URL(rx.url).host}&status=2xx`);
      assert.ok(deliveries.body.items.length >= 1 && deliveries.body.items.every((x) => x.lastStatus === 200));
    });
  });
}

const id8 = (path: string) => path.slice(-6);

interface Detail {
  request: { method: string; url: string; headers: Array<[string, string]>; bodySize: number; bodyPreview: string | null; bodyTruncated: boolean };
  response: { status: number; bodyPreview: string | null } | null;
  attempts: number;
  timeline: Array<{ at: string; kind: string; detail: string; status?: number; attempt?: number; outcome?: string; code?: string; durationMs?: number }>;
  deliveries: Array<{ state: string; attempts: unknown[] }>;
}
interface Overview {
  jobs: { byState: Record<string, number> };
  perMinute: Array<{ minute: string; accepted: number; finished: number }>;
  running: number;
  concurrency: number;
  deliveries: { byState: Record<string, number> };
  failingHosts: unknown[];
}

adminApi('sqlite', () => `sqlite:${join(tempDir(), 'admin-api.db')}`, true, () => false);

const available = await postgresAvailable();
const schema = uniqueSchema('admin_api');
after(() => dropSchemas([schema]));
adminApi('postgres', () => schemaUrl(schema), false, () => !available && 'PostgreSQL not reachable');
