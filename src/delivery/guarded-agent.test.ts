import assert from 'node:assert/strict';
import type dns from 'node:dns';
import { createServer, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, beforeEach, test } from 'node:test';
import { request, type Agent } from 'undici';
import { createGuardedAgent } from './guarded-agent.js';
import { CallbackPolicyError, parseAllowList, type CallbackPolicy } from './ssrf.js';

const DEFAULT: CallbackPolicy = { allowPrivate: false, allowHosts: [], allowCidrs: [] };

let server: Server;
let port: number;
let connections = 0;
let requests = 0;

before(async () => {
  server = createServer((req, res) => {
    requests++;
    res.end(`hello ${req.url ?? ''}`);
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  connections = 0;
  requests = 0;
});

interface LookupCall {
  hostname: string;
  options: dns.LookupOptions;
}

/** A resolver with fixed answers — a name the attacker controls that (now) points inside. Records how it is called. */
function fakeResolver(answers: Record<string, string[]>, calls: LookupCall[] = []): typeof dns.lookup {
  const fake = (hostname: string, options: dns.LookupOptions, callback: (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void) => {
    calls.push({ hostname, options });
    const found = answers[hostname.replace(/\.$/, '')];
    if (!found) {
      const err: NodeJS.ErrnoException = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
      return process.nextTick(() => callback(err, options.all ? [] : ''));
    }
    const list = found.map((address) => ({ address, family: net.isIP(address) }));
    process.nextTick(() => (options.all ? callback(null, list) : callback(null, list[0]!.address, list[0]!.family)));
  };
  return fake as unknown as typeof dns.lookup;
}

async function get(agent: Agent, url: string): Promise<{ status: number; body: string }> {
  const res = await request(url, { dispatcher: agent });
  return { status: res.statusCode, body: await res.body.text() };
}

async function assertRefused(agent: Agent, url: string, pattern: RegExp): Promise<void> {
  await assert.rejects(get(agent, url), (err: unknown) => {
    assert.ok(err instanceof CallbackPolicyError, `expected CallbackPolicyError, got ${String(err)}`);
    assert.equal(err.code, 'callback-refused');
    assert.match(err.message, pattern);
    return true;
  });
}

async function withAgent(agent: Agent, fn: (agent: Agent) => Promise<void>): Promise<void> {
  try {
    await fn(agent);
  } finally {
    await agent.close();
  }
}

test('(a) an IP-literal origin on loopback is refused before dialling (net.connect never calls lookup for literals)', async () => {
  const calls: LookupCall[] = [];
  await withAgent(createGuardedAgent(DEFAULT, { lookup: fakeResolver({}, calls) }), async (agent) => {
    await assertRefused(agent, `http://127.0.0.1:${port}/`, /refusing to connect to 127\.0\.0\.1: 127\.0\.0\.1 is a loopback address/);
    await assertRefused(agent, `http://[::1]:${port}/`, /::1 is a loopback address/);
    await assertRefused(agent, `http://[::ffff:127.0.0.1]:${port}/`, /IPv4-mapped address embedding 127\.0\.0\.1/);
    await assertRefused(agent, `http://0x7f.1:${port}/`, /127\.0\.0\.1 is a loopback address/); // WHATWG-normalised by undici
  });
  assert.equal(calls.length, 0, 'no DNS for literals');
  assert.equal(connections, 0, 'the server saw no connection');
  assert.equal(requests, 0, 'the server saw no request');
});

test('(b) a host name that resolves to loopback at dial time (DNS rebinding) is refused', async () => {
  const calls: LookupCall[] = [];
  await withAgent(createGuardedAgent(DEFAULT, { lookup: fakeResolver({ 'rebind.test': ['127.0.0.1'] }, calls) }), async (agent) => {
    await assertRefused(agent, `http://rebind.test:${port}/`, /refusing to connect to rebind\.test: 127\.0\.0\.1 is a loopback address/);
  });
  assert.equal(calls.length, 1);
  assert.equal(calls[0]!.hostname, 'rebind.test');
  assert.equal(calls[0]!.options.all, true, 'the guard always asks the resolver for every address');
  assert.equal(connections, 0);
  assert.equal(requests, 0);
});

test('(b) every refused address among several answers is dropped; all refused means refused', async () => {
  const lookup = fakeResolver({ 'multi.test': ['10.0.0.1', '127.0.0.1', '::1', '169.254.169.254'] });
  await withAgent(createGuardedAgent(DEFAULT, { lookup }), async (agent) => {
    await assertRefused(agent, `http://multi.test:${port}/`, /10\.0\.0\.1 is a private address/);
  });
  // With 127.0.0.1 allowed, only it survives the filter: the connection reaches it and nothing else.
  await withAgent(createGuardedAgent(parseAllowList('127.0.0.1'), { lookup }), async (agent) => {
    assert.deepEqual(await get(agent, `http://multi.test:${port}/m`), { status: 200, body: 'hello /m' });
  });
  assert.equal(requests, 1);
});

test('(b) real DNS: localhost is refused at dial time by the agent itself', async () => {
  await withAgent(createGuardedAgent(DEFAULT), async (agent) => {
    await assertRefused(agent, `http://localhost:${port}/`, /refusing to connect to localhost: (127\.0\.0\.1|::1) is a loopback address/);
  });
  assert.equal(connections, 0);
  assert.equal(requests, 0);
});

test('(b) resolver errors pass through unchanged', async () => {
  await withAgent(createGuardedAgent(DEFAULT, { lookup: fakeResolver({}) }), async (agent) => {
    await assert.rejects(get(agent, `http://nowhere.test:${port}/`), (err: NodeJS.ErrnoException) => err.code === 'ENOTFOUND');
  });
});

test('(b) without happy eyeballs net calls lookup without { all }; the guard answers in that shape', async () => {
  const previous = net.getDefaultAutoSelectFamily();
  net.setDefaultAutoSelectFamily(false);
  try {
    await withAgent(createGuardedAgent(DEFAULT, { lookup: fakeResolver({ 'rebind.test': ['127.0.0.1'] }) }), async (agent) => {
      await assertRefused(agent, `http://rebind.test:${port}/`, /127\.0\.0\.1 is a loopback address/);
    });
    await withAgent(createGuardedAgent(parseAllowList('127.0.0.0/8'), { lookup: fakeResolver({ 'rebind.test': ['127.0.0.1'] }) }), async (agent) => {
      assert.equal((await get(agent, `http://rebind.test:${port}/`)).status, 200);
    });
  } finally {
    net.setDefaultAutoSelectFamily(previous);
  }
  assert.equal(requests, 1);
});

test('(c) allowCidrs 127.0.0.1/32 lets the request through (literal, resolved name, real localhost)', async () => {
  const policy: CallbackPolicy = { allowPrivate: false, allowHosts: [], allowCidrs: ['127.0.0.1/32'] };
  await withAgent(createGuardedAgent(policy, { lookup: fakeResolver({ 'rebind.test': ['127.0.0.1'] }), connections: 1 }), async (agent) => {
    assert.deepEqual(await get(agent, `http://127.0.0.1:${port}/lit`), { status: 200, body: 'hello /lit' });
    assert.deepEqual(await get(agent, `http://rebind.test:${port}/dns`), { status: 200, body: 'hello /dns' });
    await assertRefused(agent, `http://127.0.0.2:${port}/`, /127\.0\.0\.2 is a loopback address/);
  });
  await withAgent(createGuardedAgent(policy), async (agent) => {
    // localhost may resolve to ::1 and 127.0.0.1: ::1 is dropped, 127.0.0.1 dialled.
    assert.deepEqual(await get(agent, `http://localhost:${port}/real`), { status: 200, body: 'hello /real' });
  });
  assert.equal(requests, 3);
});

test('allowHosts: a vouched-for name is dialled whatever it resolves to; allowPrivate opens loopback', async () => {
  const lookup = fakeResolver({ 'hooks.internal': ['127.0.0.1'], 'rebind.test': ['127.0.0.1'] });
  await withAgent(createGuardedAgent(parseAllowList('hooks.internal'), { lookup }), async (agent) => {
    assert.equal((await get(agent, `http://HOOKS.internal.:${port}/`)).status, 200);
    await assertRefused(agent, `http://rebind.test:${port}/`, /loopback/);
  });
  await withAgent(createGuardedAgent({ ...DEFAULT, allowPrivate: true }, { lookup }), async (agent) => {
    assert.equal((await get(agent, `http://127.0.0.1:${port}/`)).status, 200);
    assert.equal((await get(agent, `http://rebind.test:${port}/`)).status, 200);
  });
  assert.equal(requests, 3);
});

test('allowPrivate still refuses cloud metadata, by name or literal', async () => {
  const lookup = fakeResolver({ 'metadata.google.internal': ['169.254.169.254'] });
  await withAgent(createGuardedAgent({ ...DEFAULT, allowPrivate: true }, { lookup }), async (agent) => {
    await assertRefused(agent, 'http://metadata.google.internal/computeMetadata/v1/', /cloud metadata/);
    await assertRefused(agent, 'http://169.254.169.254/latest/meta-data/', /cloud metadata/);
  });
});

test('a malformed allowCidrs entry fails at creation', () => {
  assert.throws(() => createGuardedAgent({ ...DEFAULT, allowCidrs: ['10.0.0.0/40'] }), CallbackPolicyError);
});
