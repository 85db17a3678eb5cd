/**
 * `fetchAsync` and `verifyWebhook` against the real thing: the `asyncgate serve` CLI process in front of a real
 * upstream, with real callback receivers. (The event stream endpoint is not in this branch yet, so asyncgate is
 * followed by long poll here; the event-stream path is tested against a server built to the same wire contract
 * in client-conventions.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AsyncJobFailedError,
  AsyncTimeoutError,
  fetchAsync,
  fetchWebhookKey,
  verifyWebhook,
  type AsyncProgress,
} from 'asyncgate/client'; // the package's own exports map: what users import
import { eventually, type GatewayProcess } from '../helpers/gateway-process.js';
import type { Receiver } from '../helpers/receiver.js';
import { ClientTestbed } from '../helpers/client-testbed.js';
import type { TestUpstream } from '../helpers/upstream.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const bed = new ClientTestbed();
let gw: GatewayProcess;
let upstream: TestUpstream;
let receiver: Receiver;

before(async () => {
  await bed.start(['--signing-secret', SECRET, '--sign-ed25519']);
  ({ gw, upstream, receiver } = bed);
});
after(() => bed.stop());

/** The global fetch, counting the requests that went to asyncgate's monitor. */
function countingFetch() {
  const counter = { monitor: 0, fetch: ((input: string | URL | Request, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input);
    if (/\/_async\/jobs\/[^/]+$/.test(new URL(url).pathname)) counter.monitor++;
    return fetch(input, init);
  }) as typeof fetch };
  return counter;
}

describe('fetchAsync against asyncgate', () => {
  test('returns the final response of a slow request, following the monitor by long poll', async () => {
    const seen: AsyncProgress[] = [];
    const counter = countingFetch();
    let monitor = '';
    const res = await fetchAsync(`${gw.url}/slow?ms=2500`, { headers: { authorization: 'Bearer me' } }, {
      fetch: counter.fetch,
      onAccepted: (a) => (monitor = a.monitor),
      onProgress: (p) => seen.push(p),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { slept: 2500 });
    assert.match(monitor, /\/_async\/jobs\/[\w~-]+$/);
    // With a free slot the gateway starts the job in the commit that accepts it.
    assert.ok(['NotStarted', 'Running'].includes(seen[0]!.status), seen[0]!.status);
    assert.equal(seen.at(-1)?.status, 'Succeeded');
    assert.equal(seen.at(-1)?.percent, 100);
    // Retry-After: 1, a 2.5 s job: polling alone would take ≥ 3 polls; the long poll is held until the job ends.
    assert.ok(counter.monitor <= 2, `${counter.monitor} monitor requests`);
    // The job is bound to the Authorization it was submitted with: the client carried it to the monitor.
    const anonymous = await fetch(monitor);
    assert.equal(anonymous.status, 404);
  });

  test('when asyncgate offers the event stream, the client listens to it instead of polling', async (t) => {
    const probe = await fetch(`${gw.url}/ok`, { headers: { prefer: 'respond-async' } });
    const links = ((await probe.json()) as { links: Record<string, unknown> }).links;
    // The stream endpoint is built on another branch; once merged, this test runs.
    if (!links.events) return t.skip('this asyncgate has no event stream yet');
    let streams = 0;
    const counter = countingFetch();
    const res = await fetchAsync(`${gw.url}/slow?ms=1500`, {}, {
      fetch: ((input: string | URL | Request, init?: RequestInit) => {
        if (String(input instanceof Request ? input.url : input).endsWith('/events')) streams++;
        return counter.fetch(input, init);
      }) as typeof fetch,
    });
    assert.deepEqual(await res.json(), { slept: 1500 });
    assert.equal(streams, 1);
    assert.equal(counter.monitor, 0);
  });

  test('an upstream 4xx/5xx is the final response (the job is Failed, its response kept at the result link)', async () => {
    const res = await fetchAsync(`${gw.url}/status/503`, { method: 'POST' }, { pollInterval: 100 });
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { status: 503 });
  });

  test('a job failed without a response rejects with AsyncJobFailedError carrying asyncgate error.code', async () => {
    await assert.rejects(fetchAsync(`${gw.url}/hang`), (e: unknown) => {
      assert.ok(e instanceof AsyncJobFailedError);
      assert.equal(e.error.code, 'upstream-timeout');
      assert.equal((e.job?.representation as { status: string }).status, 'Failed');
      return true;
    });
  });

  test('Accept-Asynchronous: polling: the monitor answers 303 See Other once done, and the client follows it', async () => {
    const res = await fetchAsync(`${gw.url}/cart/checkout`, { method: 'POST', body: '{"cart_id":7}', headers: { 'accept-asynchronous': 'polling' } });
    assert.equal(res.status, 201);
    assert.deepEqual(await res.json(), { order: 'ord_1', cart_id: 7 });
    assert.match(res.url, /\/result$/);
  });

  test('Prefer: respond-async, wait=N: a quick job answers directly, no 202', async () => {
    let accepted = false;
    const res = await fetchAsync(`${gw.url}/ok`, {}, { preferWait: 10, onAccepted: () => (accepted = true) });
    assert.equal(await res.text(), 'Hello world');
    assert.equal(accepted, false);
  });

  test('aborting the signal cancels the job: asyncgate aborts the upstream request and reports Canceled', async () => {
    const controller = new AbortController();
    let monitor = '';
    const pending = fetchAsync(`${gw.url}/slow?ms=60000`, { signal: controller.signal }, {
      onAccepted: (a) => (monitor = a.monitor),
      onProgress: (p) => p.status === 'Running' && controller.abort(),
    });
    await assert.rejects(pending, { name: 'AbortError' });
    const status = (await (await fetch(monitor)).json()) as { status: string; id: string };
    assert.equal(status.status, 'Canceled');
    await eventually(async () => upstream.requestsFor(status.id)[0]?.aborted);
  });

  test('the overall timeout rejects with AsyncTimeoutError and leaves the job running', async () => {
    await assert.rejects(fetchAsync(`${gw.url}/slow?ms=60000`, {}, { timeout: 1500 }), (e: unknown) => {
      assert.ok(e instanceof AsyncTimeoutError);
      assert.ok(e.job);
      return true;
    });
    // Read the monitor from the error, then clean up.
    const err = await fetchAsync(`${gw.url}/slow?ms=60000`, {}, { timeout: 500 }).catch((e: AsyncTimeoutError) => e);
    const monitor = (err as AsyncTimeoutError).job!.monitor;
    const status = (await (await fetch(monitor)).json()) as { status: string };
    assert.ok(['NotStarted', 'Running'].includes(status.status));
    assert.equal((await fetch(monitor, { method: 'DELETE' })).status, 204);
  });

  test('callback options: the receiver gets the signed result and verifyWebhook accepts it with each key', async () => {
    const res = await fetchAsync(`${gw.url}/slow?ms=300`, {}, { callback: { url: `${receiver.url}/cb`, secret: 's3cret' }, pollInterval: 100 });
    assert.deepEqual(await res.json(), { slept: 300 });
    const delivery = await eventually(async () => receiver.received.find((r) => r.url === '/cb'));
    const publicKey = await fetchWebhookKey(gw.url);
    for (const key of [SECRET, 's3cret', publicKey]) {
      assert.deepEqual(verifyWebhook(key, delivery.headers, delivery.body), { slept: 300 }, key);
    }
    assert.throws(() => verifyWebhook(SECRET, delivery.headers, Buffer.from('{"slept":301}')), { code: 'webhook-invalid-signature' });

    // notify mode with wait: false: the 202 comes back at once, the status representation arrives at the receiver.
    const ack = await fetchAsync(`${gw.url}/ok`, {}, { callback: { url: `${receiver.url}/notify`, mode: 'notify' }, wait: false });
    assert.equal(ack.status, 202);
    const notify = await eventually(async () => receiver.received.find((r) => r.url === '/notify'));
    const payload = verifyWebhook(SECRET, notify.headers, notify.body) as { status: string; resourceLocation: string };
    assert.equal(payload.status, 'Succeeded');
  });
});
