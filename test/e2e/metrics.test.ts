/**
 * `{prefix}/metrics` end to end (docs/operations/metrics.md): after a run of jobs (some succeed, some fail,
 * one callback delivered, one dead-lettered), each named series moved by exactly what happened; 1,000
 * distinct URLs add no series; the endpoint needs a token unless --metrics-public; --no-metrics turns it off.
 * A real gateway process on SQLite, a real upstream and receivers on loopback.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { eventually, GatewayProcess, tempDir } from '../helpers/gateway-process.js';
import { Receiver } from '../helpers/receiver.js';
import { TestUpstream } from '../helpers/upstream.js';

const ADMIN = 'admin-token-0123456789abcdef';
const VIEWER = 'viewer-token-0123456789abcdef';
const upstream = new TestUpstream();
const dir = tempDir();
let gw: GatewayProcess;

before(async () => {
  await upstream.start();
  const config = join(dir, 'metrics.config.json');
  writeFileSync(config, JSON.stringify({ callbacks: { retrySchedule: '0s,100ms', timeout: '2s', allowHosts: ['127.0.0.1'] } }));
  gw = await new GatewayProcess([
    '--upstream', upstream.url, '--db', `sqlite:${join(dir, 'metrics.db')}`, '--config', config,
    '--admin-token', ADMIN, '--viewer-token', VIEWER,
  ]).start();
});
after(async () => {
  await gw.stop();
  await upstream.close();
});

/** One sample per series: `name{labels}` → value, as the Prometheus text format has it. */
type Samples = Map<string, number>;
function parse(text: string): Samples {
  const out: Samples = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}
async function scrape(token = ADMIN, base = gw.url): Promise<Samples> {
  const res = await fetch(`${base}/_async/metrics`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200, await res.clone().text());
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parse(await res.text());
}
const at = (s: Samples, series: string) => s.get(series) ?? 0;
const moved = (a: Samples, b: Samples, series: string) => at(b, series) - at(a, series);

/** Submit asynchronously: with Prefer: respond-async, or with `headers` alone when they ask for it. */
async function submit(path: string, headers: Record<string, string> = { prefer: 'respond-async' }): Promise<string> {
  const res = await fetch(`${gw.url}${path}`, { method: 'POST', body: 'x', headers });
  assert.equal(res.status, 202, await res.clone().text());
  return ((await res.json()) as { id: string }).id;
}
async function finished(id: string): Promise<string> {
  return eventually(async () => {
    const job = (await (await fetch(`${gw.url}/_async/jobs/${id}`)).json()) as { status: string };
    return ['Succeeded', 'Failed', 'Canceled'].includes(job.status) ? job.status : undefined;
  });
}

test('each series moves by exactly what happened: jobs, attempts, callbacks, requests, commits, gauges', async () => {
  const ok = await new Receiver().start();
  const down = await new Receiver([500, 500]).start();
  try {
    const before = await scrape();
    const ids = [
      ...(await Promise.all([1, 2, 3].map(() => submit('/ok')))),
      ...(await Promise.all([1, 2].map(() => submit('/status/500')))),
    ];
    // Callback header with Pragma: redirect: the `callback` dialect. One receiver says 200, one 500 twice
    // (the schedule has two attempts: then it is a dead letter).
    const cb = (url: string) => ({ pragma: 'redirect', callback: `<${url}/cb>; method="post"; rel="redirect"` });
    const delivered = await submit('/echo', cb(ok.url));
    const dead = await submit('/echo', cb(down.url));
    const statuses = await Promise.all([...ids, delivered, dead].map(finished));
    assert.deepEqual(statuses, ['Succeeded', 'Succeeded', 'Succeeded', 'Failed', 'Failed', 'Succeeded', 'Succeeded']);
    await eventually(async () => ok.received.length === 1 && down.received.length === 2 || undefined);
    // The dead letter is recorded once its second attempt is.
    const after = await eventually(async () => {
      const s = await scrape();
      return at(s, 'asyncgate_deliveries{state="failed"}') === 1 && at(s, 'asyncgate_delivery_attempts_total{mode="response",outcome="delivered"}') === 1 ? s : undefined;
    });

    assert.equal(moved(before, after, 'asyncgate_jobs_accepted_total{dialect="prefer"}'), 5);
    assert.equal(moved(before, after, 'asyncgate_jobs_accepted_total{dialect="callback"}'), 2);
    assert.equal(moved(before, after, 'asyncgate_jobs_finished_total{status="succeeded",code=""}'), 5);
    assert.equal(moved(before, after, 'asyncgate_jobs_finished_total{status="failed",code="upstream-http-error"}'), 2);
    assert.equal(moved(before, after, 'asyncgate_job_duration_seconds_count'), 7);
    assert.equal(moved(before, after, 'asyncgate_queue_wait_seconds_count'), 7);
    assert.equal(moved(before, after, 'asyncgate_upstream_requests_total{outcome="2xx"}'), 5);
    assert.equal(moved(before, after, 'asyncgate_upstream_requests_total{outcome="5xx"}'), 2);
    assert.equal(moved(before, after, 'asyncgate_upstream_request_duration_seconds_count'), 7);
    assert.equal(moved(before, after, 'asyncgate_delivery_attempts_total{mode="response",outcome="failed"}'), 2);
    assert.equal(moved(before, after, 'asyncgate_delivery_latency_seconds_count'), 1);
    assert.equal(moved(before, after, 'asyncgate_http_requests_total{route="(accept)",status="202"}'), 7);
    assert.ok(moved(before, after, 'asyncgate_http_requests_total{route="/_async/jobs/:id",status="200"}') >= 7);
    // Gauges of the store: nothing waits, one dead letter.
    assert.equal(at(after, 'asyncgate_jobs{state="queued"}'), 0);
    assert.equal(at(after, 'asyncgate_jobs{state="running"}'), 0);
    assert.equal(at(after, 'asyncgate_queue_oldest_age_seconds'), 0);
    assert.equal(at(after, 'asyncgate_deliveries{state="pending"}'), 0);
    assert.equal(at(after, 'asyncgate_delivery_backlog_age_seconds'), 0);
    // Commits: each batch observed once, holding at least one write (7 jobs: accepts and completions).
    const commits = moved(before, after, 'asyncgate_store_commits_total');
    assert.ok(commits >= 2, `commits ${commits}`);
    assert.equal(moved(before, after, 'asyncgate_store_commit_duration_seconds_count'), commits);
    assert.equal(moved(before, after, 'asyncgate_store_batch_size_count'), commits);
    assert.ok(moved(before, after, 'asyncgate_store_batch_size_sum') >= 14);
    // Node's own metrics are there too.
    assert.ok(after.has('process_cpu_user_seconds_total'));
    assert.ok(after.has('nodejs_eventloop_lag_seconds'));
  } finally {
    await ok.close();
    await down.close();
  }
});

test('a long poll and an event stream in progress show as open watchers, the running job as running', async () => {
  const id = await submit('/slow?ms=1500');
  const poll = fetch(`${gw.url}/_async/jobs/${id}`, { headers: { prefer: 'wait=5' } });
  const stream = new AbortController();
  const events = await fetch(`${gw.url}/_async/jobs/${id}/events`, { signal: stream.signal });
  try {
    // (The store's gauges may be a second old: they are read once for the scrapes of a second.)
    await eventually(async () => {
      const s = await scrape();
      const watching = at(s, 'asyncgate_open_watchers{kind="long_poll"}') === 1 && at(s, 'asyncgate_open_watchers{kind="event_stream"}') === 1;
      return watching && at(s, 'asyncgate_jobs{state="running"}') === 1;
    });
  } finally {
    stream.abort();
    await events.body?.cancel().catch(() => undefined);
    await (await poll).arrayBuffer();
  }
  await finished(id);
  await eventually(async () => {
    const s = await scrape();
    const watching = at(s, 'asyncgate_open_watchers{kind="long_poll"}') + at(s, 'asyncgate_open_watchers{kind="event_stream"}');
    return watching === 0 && at(s, 'asyncgate_jobs{state="running"}') === 0;
  });
});

test('cardinality: 1,000 distinct URLs, job ids and query strings add no series', async () => {
  const seriesOf = (s: Samples) => [...s.keys()].filter((k) => k.startsWith('asyncgate_')).length;
  // Every route and status this test uses, once, so the series exist before counting.
  const once = async (i: number) => {
    await (await fetch(`${gw.url}/ok/${i}?q=${i}`)).arrayBuffer(); // proxied: 404 from the test upstream's unknown path
    await (await fetch(`${gw.url}/ok?n=${i}`)).arrayBuffer(); // proxied: 200
    await (await fetch(`${gw.url}/_async/jobs/unknown-${i}`)).arrayBuffer(); // 404 under a job route
    await (await fetch(`${gw.url}/_async/no-such-thing/${i}`)).arrayBuffer(); // unmatched
  };
  await once(0);
  const first = seriesOf(await scrape());
  for (let i = 1; i <= 1_000; i += 50) await Promise.all(Array.from({ length: 50 }, (_, k) => once(i + k)));
  const later = await scrape();
  assert.equal(seriesOf(later), first, 'no series was added by new URLs');
  for (const key of later.keys()) assert.doesNotMatch(key, /unknown-\d|no-such-thing|q=\d|n=\d/);
  assert.ok(at(later, 'asyncgate_http_requests_total{route="(proxy)",status="200"}') >= 1_000);
  assert.ok(at(later, 'asyncgate_http_requests_total{route="(unmatched)",status="404"}') >= 1_000);
});

test('access: the admin or viewer token; none is 401; --metrics-public needs none; --no-metrics is 404', async () => {
  assert.equal((await fetch(`${gw.url}/_async/metrics`)).status, 401);
  await scrape(VIEWER);
  const open = await new GatewayProcess(['--upstream', upstream.url, '--db', `sqlite:${join(dir, 'public.db')}`, '--metrics-public']).start();
  try {
    const res = await fetch(`${open.url}/_async/metrics`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /^# HELP asyncgate_jobs_accepted_total/m);
  } finally {
    await open.stop();
  }
  const off = await new GatewayProcess(['--upstream', upstream.url, '--db', `sqlite:${join(dir, 'off.db')}`, '--no-metrics', '--admin-token', ADMIN]).start();
  try {
    const res = await fetch(`${off.url}/_async/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } });
    assert.equal(res.status, 404);
    assert.match(((await res.json()) as { detail: string }).detail, /--no-metrics/);
  } finally {
    await off.stop();
  }
});

test('--access-log: one line per request answered, with the route template, status, duration, job id and trace id', async () => {
  const logged = new GatewayProcess(['--upstream', upstream.url, '--db', `sqlite:${join(dir, 'access.db')}`, '--access-log']);
  await logged.start();
  try {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await fetch(`${logged.url}/ok?secret-looking=1`, { method: 'POST', body: 'x', headers: { prefer: 'respond-async', traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    assert.equal(res.status, 202);
    const { id } = (await res.json()) as { id: string };
    await (await fetch(`${logged.url}/_async/jobs/${id}`)).arrayBuffer();
    await (await fetch(`${logged.url}/ok`)).arrayBuffer();
    const lines = await eventually(async () => {
      const access = logged.logs.filter((l) => l.log === 'access');
      return access.length >= 3 ? access : undefined;
    });
    const [accepted, monitor, proxied] = lines;
    assert.deepEqual(
      [accepted!.route, accepted!.status, accepted!.job_id, accepted!.trace_id, accepted!.method],
      ['(accept)', 202, id, traceId, 'POST'],
    );
    assert.deepEqual([monitor!.route, monitor!.status, monitor!.job_id, monitor!.trace_id], ['/_async/jobs/:id', 200, id, traceId]);
    assert.deepEqual([proxied!.route, proxied!.status, proxied!.job_id], ['(proxy)', 200, undefined]);
    for (const l of lines) assert.equal(typeof l.duration_ms, 'number');
    // Without the flag, no access lines.
    assert.equal(gw.logs.filter((l) => l.log === 'access').length, 0);
  } finally {
    await logged.stop();
  }
});
