import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from 'undici';
import { InterruptedStreamError } from '../engine/executor.js';
import { callUpstream } from './upstream-call.js';

let server: Server;
let origin = '';
const agent = new Agent();
const BIG = Buffer.alloc(8 * 1024 * 1024, 7);
let closedEarly = 0;

before(async () => {
  server = createServer((req, res) => {
    if (req.url === '/big') return res.end(BIG);
    if (req.url === '/endless') {
      const timer = setInterval(() => res.write(Buffer.alloc(64 * 1024)), 5);
      res.on('close', () => {
        clearInterval(timer);
        closedEarly++;
      });
      return;
    }
    if (req.url === '/broken') {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('x'.repeat(100));
      return setTimeout(() => res.destroy(), 20);
    }
    if (req.url === '/progress') {
      res.writeProcessing();
      (res as unknown as { _writeRaw(s: string): void })._writeRaw('HTTP/1.1 102 Processing\r\nProgress: 1/2\r\n\r\n');
      return setTimeout(() => res.end('done'), 20);
    }
    if (req.url === '/slow') return setTimeout(() => res.end('late'), 5_000);
    res.writeHead(201, { 'x-a': '1' }).end('hello');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await agent.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const read = async (body: AsyncIterable<Uint8Array>, pause = 0) => {
  const parts: Uint8Array[] = [];
  for await (const chunk of body) {
    parts.push(chunk);
    if (pause) await sleep(pause);
  }
  return Buffer.concat(parts);
};
const call = (path: string, signal = new AbortController().signal, onInfo: Parameters<typeof callUpstream>[3] = () => undefined) =>
  callUpstream(agent, { origin, path, method: 'GET' }, signal, onInfo);

test('callUpstream: status, headers and the whole body', async () => {
  const res = await call('/ok');
  assert.equal(res.status, 201);
  assert.equal(res.headers['x-a'], '1');
  assert.equal((await read(res.body)).toString(), 'hello');
});

test('callUpstream: a large body read slowly arrives whole (the connection pauses and resumes)', async () => {
  const res = await call('/big');
  const body = await read(res.body, 1);
  assert.equal(createHash('sha256').update(body).digest('hex'), createHash('sha256').update(BIG).digest('hex'));
});

test('callUpstream: a connection broken mid-body throws InterruptedStreamError from the body', async () => {
  const res = await call('/broken');
  await assert.rejects(read(res.body), InterruptedStreamError);
});

test('callUpstream: leaving the body early cuts the exchange', async () => {
  const before = closedEarly;
  const res = await call('/endless');
  for await (const _ of res.body) break;
  await sleep(100);
  assert.equal(closedEarly, before + 1);
});

test('callUpstream: 102 Processing reaches onInfo with its headers; aborting before the answer rejects with the reason', async () => {
  const infos: Array<[number, unknown]> = [];
  const res = await call('/progress', new AbortController().signal, (status, headers) => infos.push([status, headers.progress]));
  assert.equal((await read(res.body)).toString(), 'done');
  assert.deepEqual(infos.at(-1), [102, '1/2']);
  const controller = new AbortController();
  const pending = call('/slow', controller.signal);
  setTimeout(() => controller.abort(new Error('canceled by the client')), 50);
  await assert.rejects(pending, /canceled by the client/);
});
