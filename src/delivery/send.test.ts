import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { Agent } from 'undici';
import { sendCallback } from './send.js';

let server: Server;
let base = '';
const agent = new Agent();
const seen: Array<{ method: string; url: string; body: string; signature: string | undefined }> = [];

before(async () => {
  server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, body: Buffer.concat(parts).toString(), signature: req.headers['webhook-signature'] as string | undefined });
      if (req.url === '/busy') return res.writeHead(429, { 'retry-after': '120' }).end('slow down');
      if (req.url === '/moved') return res.writeHead(302, { location: '/elsewhere' }).end();
      if (req.url === '/large') return res.end('x'.repeat(1_000_000));
      if (req.url === '/hang') return; // never answers
      if (req.url === '/empty') return res.writeHead(204).end();
      res.end('thanks');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await agent.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const opts = { method: 'POST' as const, headers: { 'webhook-signature': 'v1,abc' }, body: Buffer.from('{"a":1}'), timeoutMs: 2000, keep: 16 };

test('sendCallback: sends method, path with query, headers and body; returns status and the first bytes', async () => {
  const reply = await sendCallback(agent, `${base}/cb?x=1`, opts);
  assert.deepEqual(reply, { status: 200, retryAfter: undefined, snippet: 'thanks' });
  assert.deepEqual(seen.at(-1), { method: 'POST', url: '/cb?x=1', body: '{"a":1}', signature: 'v1,abc' });
});

test('sendCallback: Retry-After is returned, a redirect is not followed, an empty answer has no snippet', async () => {
  assert.deepEqual(await sendCallback(agent, `${base}/busy`, opts), { status: 429, retryAfter: '120', snippet: 'slow down' });
  assert.equal((await sendCallback(agent, `${base}/moved`, opts)).status, 302);
  assert.equal(seen.filter((s) => s.url === '/elsewhere').length, 0);
  assert.deepEqual(await sendCallback(agent, `${base}/empty`, opts), { status: 204, retryAfter: undefined, snippet: null });
});

test('sendCallback: a large answer is cut after the bytes kept', async () => {
  const reply = await sendCallback(agent, `${base}/large`, opts);
  assert.deepEqual(reply, { status: 200, retryAfter: undefined, snippet: 'x'.repeat(16) });
});

test('sendCallback: no answer within the timeout rejects with undici\'s headers timeout; a cut rejects at once', async () => {
  await assert.rejects(sendCallback(agent, `${base}/hang`, { ...opts, timeoutMs: 200 }), { code: 'UND_ERR_HEADERS_TIMEOUT' });
  let cut: ((reason: Error) => void) | undefined;
  const pending = sendCallback(agent, `${base}/hang`, opts, (c) => (cut = c));
  await new Promise((r) => setTimeout(r, 50));
  cut!(new Error('shutting down'));
  await assert.rejects(pending, /shutting down/);
});

test('sendCallback: an unreachable receiver rejects with the connection error', async () => {
  await assert.rejects(sendCallback(agent, 'http://127.0.0.1:9/cb', opts), (e: Error & { code?: string }) => e.code === 'ECONNREFUSED' || /ECONNREFUSED/.test(String(e)));
});
