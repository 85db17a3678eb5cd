/**
 * Progress from the upstream (POST to the progress URL, and `102 Processing` + `Progress`) and the event
 * stream, end to end: the real CLI process, a real upstream on loopback that reports progress both ways, a
 * real SQLite file. Checked through the monitor, a long poll and `GET /_async/jobs/{id}/events`.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventually, GatewayProcess, tempDir } from '../helpers/gateway-process.js';
import { ProgressUpstream } from '../helpers/progress-upstream.js';
import { SseReader } from '../helpers/sse.js';

const upstream = new ProgressUpstream();
let gw: GatewayProcess;
const dir = tempDir();

interface Status {
  id: string;
  status: string;
  percentComplete?: number;
  progress?: { current?: number; total?: number; percent?: number; message?: string };
  links: Record<string, { href: string }>;
}

before(async () => {
  await upstream.start();
  // One worker: a test below counts watchers with /health, whose `watched` is the answering process's
  // (streams across workers: test/e2e/workers.test.ts).
  gw = await new GatewayProcess(['--upstream', upstream.url, '--db', `sqlite:${join(dir, 'gw.db')}`, '--events-heartbeat', '300ms', '--workers', '1']).start();
});

after(async () => {
  await gw.stop();
  await upstream.close();
});

/** Submit a job that the upstream holds; resolves once the upstream has the forwarded request. */
async function startJob(headers: Record<string, string> = {}) {
  const res = await fetch(`${gw.url}/work`, { method: 'POST', body: 'x', headers: { prefer: 'respond-async', ...headers } });
  assert.equal(res.status, 202);
  const body = (await res.json()) as Status;
  const forwarded = await upstream.request(body.id);
  return {
    id: body.id,
    body,
    link: res.headers.get('link') ?? '',
    monitor: `${gw.url}/_async/jobs/${body.id}`,
    progressUrl: String(forwarded.headers['asyncgate-progress-url']),
    token: String(forwarded.headers['asyncgate-progress-token']),
  };
}

async function status(monitor: string, headers: Record<string, string> = {}): Promise<Status> {
  return (await (await fetch(monitor, { headers })).json()) as Status;
}

function report(url: string, body: unknown, headers: Record<string, string>) {
  return fetch(url, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
}

async function problem(res: Response): Promise<{ type: string; status: number; detail?: string }> {
  assert.equal(res.headers.get('content-type'), 'application/problem+json');
  return (await res.json()) as { type: string; status: number; detail?: string };
}

describe('progress reported by the upstream', () => {
  test('the upstream gets a progress URL and a per-job token, and a POST with it shows in the monitor', async () => {
    const a = await startJob();
    const b = await startJob();
    assert.equal(a.progressUrl, `${a.monitor}/progress`);
    assert.match(a.token, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a.token, b.token);

    const res = await report(a.progressUrl, { current: 2, total: 75, message: 'indexing' }, { authorization: `Bearer ${a.token}` });
    assert.equal(res.status, 204);
    const s = await status(a.monitor);
    assert.deepEqual(s.progress, { current: 2, total: 75, message: 'indexing' });
    assert.equal(s.percentComplete, 3);

    // The token may also come back in the header it was sent in; percentComplete alone is enough.
    assert.equal((await report(a.progressUrl, { percentComplete: 40 }, { 'asyncgate-progress-token': a.token })).status, 204);
    assert.equal((await status(a.monitor)).percentComplete, 40);

    await upstream.finish(a.id);
    await upstream.finish(b.id);
  });

  test('a missing token is 401, a wrong one (or another job\'s) 403, and nothing changes', async () => {
    const a = await startJob();
    const b = await startJob();
    const missing = await report(a.progressUrl, { percentComplete: 10 }, {});
    assert.equal(missing.status, 401);
    assert.match(missing.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.equal((await problem(missing)).type, 'urn:asyncgate:problem:progress-token-required');
    const wrong = await report(a.progressUrl, { percentComplete: 10 }, { authorization: `Bearer ${a.token.slice(0, -2)}AA` });
    assert.equal(wrong.status, 403);
    assert.equal((await problem(wrong)).type, 'urn:asyncgate:problem:progress-token-invalid');
    const other = await report(a.progressUrl, { percentComplete: 10 }, { authorization: `Bearer ${b.token}` });
    assert.equal(other.status, 403);
    // An unknown job with some token: 403 as well, so the endpoint reveals nothing about which jobs exist.
    const unknown = await report(`${gw.url}/_async/jobs/${'A'.repeat(30)}/progress`, { percentComplete: 10 }, { authorization: `Bearer ${a.token}` });
    assert.equal(unknown.status, 403);
    assert.equal((await status(a.monitor)).percentComplete, undefined);
    await upstream.finish(a.id);
    await upstream.finish(b.id);
  });

  test('a malformed body is a 400 problem naming what is wrong', async () => {
    const a = await startJob();
    const auth = { authorization: `Bearer ${a.token}` };
    const cases: Array<[unknown, RegExp]> = [
      ['not json', /not JSON/],
      [{}, /at least one/],
      [{ percentComplete: 140 }, /percentComplete/],
      [{ current: -1 }, /current/],
      [{ current: 5, total: 2 }, /exceed/],
      [{ current: 1.5 }, /current/],
      [{ message: 7 }, /message/],
      [{ percent: 5 }, /percent/], // unknown field: a typo should not pass silently
      [[1, 2], /object/],
    ];
    for (const [body, detail] of cases) {
      const res = await report(a.progressUrl, body, auth);
      assert.equal(res.status, 400, JSON.stringify(body));
      const p = await problem(res);
      assert.equal(p.type, 'urn:asyncgate:problem:invalid-body');
      assert.match(p.detail ?? '', detail, JSON.stringify(body));
    }
    const empty = await fetch(a.progressUrl, { method: 'POST', headers: auth });
    assert.equal(empty.status, 400);
    const big = await report(a.progressUrl, { message: 'x'.repeat(20_000) }, auth);
    assert.equal(big.status, 413);
    assert.equal((await fetch(a.progressUrl, { headers: auth })).status, 405);
    await upstream.finish(a.id);
  });

  test('progress for a finished job is 409 and never moves it out of its terminal state', async () => {
    const a = await startJob();
    await upstream.finish(a.id);
    await eventually(async () => (await status(a.monitor)).status === 'Succeeded');
    const res = await report(a.progressUrl, { current: 1, total: 2 }, { authorization: `Bearer ${a.token}` });
    assert.equal(res.status, 409);
    assert.equal((await problem(res)).type, 'urn:asyncgate:problem:job-already-finished');
    const s = await status(a.monitor);
    assert.equal(s.status, 'Succeeded');
    assert.equal(s.progress, undefined);
    // Deleted: the token is still checked first, then 410.
    assert.equal((await fetch(a.monitor, { method: 'DELETE' })).status, 204);
    assert.equal((await report(a.progressUrl, { current: 1 }, { authorization: `Bearer ${a.token}` })).status, 410);
  });

  test('102 Processing with a Progress header shows in the monitor; a malformed one is ignored', async () => {
    const a = await startJob();
    await upstream.processing(a.id, '1/3 "Knitting sweaters"');
    let s = await eventually(async () => {
      const got = await status(a.monitor);
      return got.progress ? got : undefined;
    });
    assert.deepEqual(s.progress, { current: 1, total: 3, message: 'Knitting sweaters' });
    assert.equal(s.percentComplete, 33);
    await upstream.processing(a.id, 'garbage');
    await upstream.processing(a.id, "2/3 UTF-8''Slaying%20dragons%20%F0%9F%90%89");
    s = await eventually(async () => {
      const got = await status(a.monitor);
      return got.progress?.current === 2 ? got : undefined;
    });
    assert.deepEqual(s.progress, { current: 2, total: 3, message: 'Slaying dragons 🐉' });
    await upstream.finish(a.id, 201, 'made');
    s = await eventually(async () => {
      const got = await status(a.monitor);
      return got.status === 'Succeeded' ? got : undefined;
    });
    assert.equal(s.percentComplete, 100);
    // The interim responses are not part of the stored result.
    const result = await fetch(`${a.monitor}/result`);
    assert.equal(result.status, 201);
    assert.equal(await result.text(), 'made');
  });

  test('a client cannot plant its own progress headers on the upstream request', async () => {
    const a = await startJob({ 'asyncgate-progress-token': 'forged', 'asyncgate-progress-url': 'http://evil.example/' });
    const { headers } = await upstream.request(a.id);
    assert.equal(headers['asyncgate-progress-token'], a.token);
    assert.equal(headers['asyncgate-progress-url'], a.progressUrl);
    assert.notEqual(a.token, 'forged');
    await upstream.finish(a.id);
  });
});

describe('long polls', () => {
  test('a long poll is woken by progress, not only by completion', async () => {
    const a = await startJob();
    const first = await fetch(a.monitor);
    const etag = first.headers.get('etag')!;
    await first.body?.cancel();
    const started = Date.now();
    const polled = fetch(a.monitor, { headers: { prefer: 'wait=60', 'if-none-match': etag } });
    // Let the poll start waiting, then report progress over each route.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await report(a.progressUrl, { current: 1, total: 4 }, { authorization: `Bearer ${a.token}` })).status, 204);
    const res = await polled;
    assert.equal(res.status, 200);
    assert.deepEqual(((await res.json()) as Status).progress, { current: 1, total: 4 });
    // Woken, not timed out: a timed-out poll would have taken the whole minute.
    assert.ok(Date.now() - started < 45_000);

    const again = fetch(a.monitor, { headers: { prefer: 'wait=60', 'if-none-match': res.headers.get('etag')! } });
    await new Promise((r) => setTimeout(r, 300));
    await upstream.processing(a.id, '2/4');
    const res2 = await again;
    assert.deepEqual(((await res2.json()) as Status).progress, { current: 2, total: 4 });
    assert.ok(Date.now() - started < 90_000);
    await upstream.finish(a.id);
  });
});

describe('GET /_async/jobs/{id}/events', () => {
  test('discovery: links.events and Link rel="events" on the 202 and the monitor', async () => {
    const a = await startJob();
    assert.equal(a.body.links.events?.href, `${a.monitor}/events`);
    assert.match(a.link, new RegExp(`<${a.monitor}/events>; rel="events"`));
    const res = await fetch(a.monitor);
    assert.equal(res.headers.get('link'), `<${a.monitor}/events>; rel="events"`);
    await res.body?.cancel();
    await upstream.finish(a.id);
  });

  test('the current state at once, every change (both progress routes), heartbeats, then the end at a terminal state', async () => {
    const a = await startJob();
    const sse = await SseReader.open(`${a.monitor}/events`);
    assert.equal(sse.status, 200);
    assert.equal(sse.headers.get('content-type'), 'text/event-stream');
    assert.equal(sse.headers.get('cache-control'), 'no-store');

    const first = await sse.nextEvent();
    assert.ok(first !== 'end');
    assert.equal(first.event, 'status');
    const current = await fetch(a.monitor);
    // The data is exactly the monitor's body, and the id its version (the ETag).
    assert.equal(first.data, await current.text());
    assert.equal(`"${first.id}"`, current.headers.get('etag'));
    assert.equal((JSON.parse(first.data) as Status).status, 'Running');

    // A heartbeat comes while nothing happens (300 ms here).
    let item = await sse.next();
    assert.deepEqual(item, { kind: 'comment', text: 'keep-alive' });

    await report(a.progressUrl, { current: 1, total: 2, message: 'half' }, { authorization: `Bearer ${a.token}` });
    const second = await sse.nextEvent();
    assert.ok(second !== 'end');
    assert.ok(Number(second.id) > Number(first.id));
    assert.deepEqual((JSON.parse(second.data) as Status).progress, { current: 1, total: 2, message: 'half' });

    await upstream.processing(a.id, '2/2 "nearly"');
    const third = await sse.nextEvent();
    assert.ok(third !== 'end');
    assert.equal((JSON.parse(third.data) as Status).progress?.message, 'nearly');

    await upstream.finish(a.id);
    const last = await sse.nextEvent();
    assert.ok(last !== 'end');
    const done = JSON.parse(last.data) as Status;
    assert.equal(done.status, 'Succeeded');
    assert.equal(done.percentComplete, 100);
    // The server ends the stream after the terminal event.
    do item = await sse.next();
    while (item !== 'end' && item.kind === 'comment');
    assert.equal(item, 'end');
  });

  test('Last-Event-ID: states the client has are not sent again; resuming a finished job ends at once', async () => {
    const a = await startJob();
    const auth = { authorization: `Bearer ${a.token}` };
    await report(a.progressUrl, { current: 1, total: 3 }, auth);
    const s1 = await fetch(a.monitor);
    const v1 = Number(JSON.parse(s1.headers.get('etag')!));
    await s1.body?.cancel();
    await report(a.progressUrl, { current: 2, total: 3 }, auth);

    const resumed = await SseReader.open(`${a.monitor}/events`, { 'last-event-id': String(v1) });
    const e = await resumed.nextEvent();
    assert.ok(e !== 'end');
    assert.ok(Number(e.id) > v1);
    assert.equal((JSON.parse(e.data) as Status).progress?.current, 2);

    // Already up to date: nothing is sent until the next change.
    const upToDate = await SseReader.open(`${a.monitor}/events`, { 'last-event-id': e.id! });
    assert.deepEqual(await upToDate.next(), { kind: 'comment', text: 'keep-alive' });
    await report(a.progressUrl, { current: 3, total: 3 }, auth);
    const e2 = await upToDate.nextEvent();
    assert.ok(e2 !== 'end');
    assert.equal((JSON.parse(e2.data) as Status).progress?.current, 3);
    resumed.close();
    upToDate.close();

    await upstream.finish(a.id);
    const final = await eventually(async () => {
      const r = await fetch(a.monitor);
      const body = (await r.json()) as Status;
      return body.status === 'Succeeded' ? JSON.parse(r.headers.get('etag')!) as number : undefined;
    });
    const late = await SseReader.open(`${a.monitor}/events`, { 'last-event-id': String(final) });
    assert.equal(late.status, 200);
    assert.equal(await late.next(), 'end');
    // A garbage Last-Event-ID counts as none: the terminal state comes, then the end.
    const fresh = await SseReader.open(`${a.monitor}/events`, { 'last-event-id': 'banana' });
    const only = await fresh.nextEvent();
    assert.ok(only !== 'end');
    assert.equal((JSON.parse(only.data) as Status).status, 'Succeeded');
    assert.equal(await fresh.nextEvent(), 'end');
  });

  test('deleted meanwhile: event gone, then the end', async () => {
    const a = await startJob();
    const sse = await SseReader.open(`${a.monitor}/events`);
    assert.notEqual(await sse.nextEvent(), 'end');
    assert.equal((await fetch(a.monitor, { method: 'DELETE' })).status, 204);
    const gone = await sse.nextEvent();
    assert.ok(gone !== 'end');
    assert.equal(gone.event, 'gone');
    assert.equal(gone.data, '{}');
    assert.equal(gone.id, undefined);
    assert.equal(await sse.nextEvent(), 'end');
    // Afterwards the stream is 410 like the monitor.
    const after = await fetch(`${a.monitor}/events`);
    assert.equal(after.status, 410);
    assert.equal(after.headers.get('content-type'), 'application/problem+json');
  });

  test('same authorisation as the monitor: other credentials get 404, unknown jobs 404, wrong method 405', async () => {
    const a = await startJob({ authorization: 'Bearer alice' });
    assert.equal((await fetch(`${a.monitor}/events`, { headers: { authorization: 'Bearer mallory' } })).status, 404);
    assert.equal((await fetch(`${a.monitor}/events`)).status, 404);
    assert.equal((await fetch(`${gw.url}/_async/jobs/${'A'.repeat(30)}/events`)).status, 404);
    assert.equal((await fetch(`${a.monitor}/events`, { method: 'POST' })).status, 405);
    const ok = await SseReader.open(`${a.monitor}/events`, { authorization: 'Bearer alice' });
    assert.equal(ok.status, 200);
    ok.close();
    await upstream.finish(a.id);
  });

  test('a client that disconnects leaves no listener behind', async () => {
    const health = async () => ((await (await fetch(`${gw.url}/_async/health`)).json()) as { watched: number }).watched;
    await eventually(async () => (await health()) === 0);
    const a = await startJob();
    const streams = await Promise.all([1, 2, 3].map(() => SseReader.open(`${a.monitor}/events`)));
    for (const s of streams) assert.notEqual(await s.nextEvent(), 'end');
    assert.equal(await health(), 1); // one job watched, by three streams
    for (const s of streams) s.close();
    await eventually(async () => (await health()) === 0);
    // And the job still finishes normally without anyone listening.
    await upstream.finish(a.id);
    await eventually(async () => (await status(a.monitor)).status === 'Succeeded');
  });
});
