/**
 * `callback_url` in a JSON body (route rule `callbackBodyField`) against hostile and large bodies: deep nesting
 * is never a 500, bodies are bounded by the rule's own small limit, and a flood of large JSON bodies does not
 * stall the gateway long enough for its leases to lapse under other callers' running jobs.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventually, GatewayProcess, tempDir } from '../helpers/gateway-process.js';
import { json, TinyServer } from '../helpers/tiny-server.js';

const dir = tempDir();
/** Requests to /held wait here until the test releases them. */
let releaseHeld: () => void = () => {};
const held = new Promise<void>((resolve) => (releaseHeld = resolve));
const upstream = new TinyServer((req, res) => {
  if (req.path.startsWith('/held')) return void held.then(() => json(res, 200, { released: true }));
  if (req.path.startsWith('/echo')) return json(res, 200, { body: req.body });
  json(res, 200, { ok: true });
});
const receiver = new TinyServer((_req, res) => json(res, 200, {}));

interface Status {
  id: string;
  status: string;
  error?: { code: string };
}

function config(name: string, extra: Record<string, unknown> = {}): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      callbacks: { allowHosts: ['127.0.0.1'] },
      routes: [
        { match: 'POST /echo', callbackBodyField: 'callback_url' },
        { match: 'POST /roomy', callbackBodyField: 'callback_url', callbackBodyMaxSize: '4mb' },
        { match: 'POST /sink', callbackBodyField: 'callback_url' },
      ],
      ...extra,
    }),
  );
  return file;
}

/** POST a body with node:http, as one Content-Length body or chunked; resolves with the status, or 'reset'
 * when the connection broke before any answer. Stops sending once an answer arrives. */
function post(url: string, body: Buffer, chunked: boolean): Promise<number | 'reset'> {
  return new Promise((resolve) => {
    let settled = false;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (!chunked) headers['content-length'] = String(body.length);
    const req = request(url, { method: 'POST', headers });
    req.on('response', (res) => {
      settled = true;
      res.resume();
      res.on('end', () => {
        resolve(res.statusCode!);
        req.destroy();
      });
    });
    req.on('error', () => {
      if (!settled) resolve('reset');
    });
    const slice = 1024 * 1024;
    let at = 0;
    const pump = () => {
      while (at < body.length && !settled && !req.destroyed) {
        const ok = req.write(body.subarray(at, at + slice));
        at += slice;
        if (!ok) return void req.once('drain', pump);
      }
      if (!settled && !req.destroyed) req.end();
    };
    pump();
  });
}

/** `{"callback_url": …, "items": [1,1,…]}` of about `bytes` bytes: costly to parse, cheap to build. */
function bigJson(bytes: number, callbackUrl: string): Buffer {
  const head = `{"callback_url":${JSON.stringify(callbackUrl)},"items":[`;
  const n = Math.max(1, Math.floor((bytes - head.length - 3) / 2));
  return Buffer.from(`${head}${'1,'.repeat(n - 1)}1]}`);
}

function peakRssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'))!;
  return Number(/(\d+)/.exec(line)![1]) / 1024;
}

before(async () => {
  await upstream.start();
  await receiver.start();
});
after(async () => {
  releaseHeld();
  await upstream.close();
  await receiver.close();
});

describe('hostile and large JSON on a callback_url route', () => {
  let gw: GatewayProcess;
  before(async () => {
    gw = await new GatewayProcess(['--upstream', upstream.url, '--db', `sqlite:${join(dir, 'hostile.db')}`, '--config', config('hostile')]).start();
  });
  after(() => gw.stop());

  test('10,000 levels of nesting with the field: accepted, the field cut out, the rest forwarded byte for byte', async () => {
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    const res = await fetch(`${gw.url}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"a": ${deep}, "callback_url": "${receiver.url}/cb"}`,
    });
    assert.equal(res.status, 202);
    const { id } = (await res.json()) as Status;
    const done = await eventually(async () => {
      const s = (await (await fetch(`${gw.url}/_async/jobs/${id}`)).json()) as Status;
      return s.status === 'Succeeded' ? s : undefined;
    });
    assert.equal(done.status, 'Succeeded');
    const sent = upstream.requests('/echo').at(-1)!;
    assert.equal(sent.body, `{"a": ${deep}}`);
    await eventually(async () => receiver.requests('/cb').length === 1);
  });

  test('deep nesting without the field, and JSON that is not valid, are forwarded untouched', async () => {
    const deep = `{"a": ${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
    for (const body of [deep, '{"callback_url": "http://127.0.0.1:1/x", ', `{"a": ${'['.repeat(10_000)}`]) {
      const res = await fetch(`${gw.url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      assert.equal(res.status, 200, body.slice(0, 40));
      assert.equal(((await res.json()) as { body: string }).body, body);
    }
  });

  test('a JSON body over the route\'s callbackBodyMaxSize (default 1 MiB) is refused with 413 saying why', async () => {
    const body = bigJson(2 * 1024 * 1024, `${receiver.url}/cb`);
    for (const chunked of [false, true]) {
      const res = await fetch(`${gw.url}/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(chunked ? {} : { 'content-length': String(body.length) }) },
        body: chunked ? new Blob([body]).stream() : body,
        duplex: 'half',
      } as RequestInit);
      assert.equal(res.status, 413);
      const problem = (await res.json()) as { type: string; detail: string; limit: number };
      assert.equal(problem.type, 'urn:asyncgate:problem:body-too-large');
      assert.equal(problem.limit, 1024 * 1024);
      assert.match(problem.detail, /callback_url/);
      assert.match(problem.detail, /callbackBodyMaxSize/);
    }
    // A rule with a larger callbackBodyMaxSize takes it.
    const roomy = await fetch(`${gw.url}/roomy`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal(roomy.status, 202);
    await roomy.json();
  });

  test('the field twice is a 400, not a guess between them', async () => {
    const res = await fetch(`${gw.url}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"callback_url": "${receiver.url}/a", "callback\\u005furl": "${receiver.url}/b"}`,
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { type: string }).type, 'urn:asyncgate:problem:invalid-callback');
  });
});

test(
  'eight large JSON bodies at once on a callback_url route: another caller\'s running job still succeeds, the loop keeps answering',
  { timeout: 300_000 },
  async (t) => {
    // A short lease: a loop stalled for longer loses this process's own leases, and the rescue fails a POST.
    const gw = await new GatewayProcess(['--upstream', upstream.url, '--db', `sqlite:${join(dir, 'flood.db')}`, '--config', config('flood'), '--lease', '3s']).start();
    try {
      const baseline = peakRssMiB(gw.pid);
      // At the process's --max-body (100 MiB), half declared, half chunked; and eight just under the route's limit.
      const huge = bigJson(100 * 1024 * 1024 - 64, `${receiver.url}/flood`);
      const small = bigJson(1024 * 1024 - 64, `${receiver.url}/flood`);
      const running = await fetch(`${gw.url}/held`, { method: 'POST', headers: { prefer: 'respond-async' }, body: 'order' });
      assert.equal(running.status, 202);
      const { id } = (await running.json()) as Status;
      await eventually(async () => upstream.requests('/held').length === 1);

      let probing = true;
      let worstMs = 0;
      const probeErrors: string[] = [];
      const probe = (async () => {
        while (probing) {
          const t = Date.now();
          try {
            await (await fetch(`${gw.url}/_async/health`)).arrayBuffer();
          } catch (error) {
            probeErrors.push(String((error as Error).cause ?? error));
          }
          worstMs = Math.max(worstMs, Date.now() - t);
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      const answers = await Promise.all([
        ...Array.from({ length: 8 }, (_, i) => post(`${gw.url}/sink`, huge, i % 2 === 1)),
        ...Array.from({ length: 8 }, (_, i) => post(`${gw.url}/sink`, small, i % 2 === 1)),
      ]);
      probing = false;
      await probe;

      const grewMiB = Math.round(peakRssMiB(gw.pid) - baseline);
      releaseHeld();
      const done = await eventually(async () => {
        const s = (await (await fetch(`${gw.url}/_async/jobs/${id}`)).json()) as Status;
        return s.status === 'Running' ? undefined : s;
      }, 20_000);
      t.diagnostic(`job ${done.status}, worst health check ${worstMs} ms, peak RSS +${grewMiB} MiB, answers ${answers.join(' ')}`);
      assert.equal(done.status, 'Succeeded', JSON.stringify(done.error));
      assert.deepEqual(probeErrors, []);
      // Generous (the machine is shared): the bound that matters is the lease, which the job above outlived.
      assert.ok(worstMs < 3_000, `the health check took up to ${worstMs} ms during the flood`);
      assert.ok(grewMiB < 400, `peak RSS grew by ${grewMiB} MiB`);
      for (const a of answers.slice(0, 8)) assert.ok(a === 413 || a === 'reset', `a 100 MiB body got ${a}`);
      assert.deepEqual(answers.slice(8), Array(8).fill(202));
    } finally {
      await gw.stop();
    }
  },
);
