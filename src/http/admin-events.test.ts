import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { JobEvents } from '../engine/events.js';
import type { Job } from '../model.js';
import { UrlBuilder } from '../resource/urls.js';
import { AdminEventStreams, MAX_PENDING } from './admin-events.js';

function job(id: string, version: number, percent?: number): Job {
  const now = Date.now();
  return {
    id,
    version,
    state: 'running',
    createdAt: now,
    updatedAt: now,
    expiresAt: null,
    request: { method: 'POST', url: '/work', headers: [], body: null },
    response: null,
    error: null,
    progress: percent === undefined ? null : { percent },
    options: {},
  } as unknown as Job;
}

async function withStream(fn: (events: JobEvents, streams: AdminEventStreams, open: () => Promise<IncomingMessage>) => Promise<void>): Promise<void> {
  const events = new JobEvents();
  const streams = new AdminEventStreams(events, 60_000);
  const urls = new UrlBuilder('/_async', undefined, 'localhost');
  const server = createServer((req, res) => streams.attach(res, (id) => urls.job(req, id)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const open = () => new Promise<IncomingMessage>((resolve, reject) => request({ port, host: '127.0.0.1', path: '/' }, resolve).on('error', reject).end());
  try {
    await fn(events, streams, open);
  } finally {
    streams.closeAll();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

const read = (res: IncomingMessage, until: RegExp) =>
  new Promise<string>((resolve) => {
    let text = '';
    res.on('data', (c: Buffer) => {
      text += c.toString();
      if (until.test(text)) resolve(text);
    });
  });

test('every job change, newest state per job, and deletions; ends (closeAll) on drain', async () => {
  await withStream(async (events, streams, open) => {
    const res = await open();
    assert.equal(res.headers['content-type'], 'text/event-stream');
    const got = read(res, /event: gone/);
    events.emit(job('a', 1, 10));
    events.emit(job('a', 3, 30));
    events.emit(job('a', 2, 20)); // late and older: dropped
    events.emit(job('b', 1));
    events.emitGone('c');
    const text = await got;
    const jobs = [...text.matchAll(/event: job\ndata: (.*)\n/g)].map((m) => JSON.parse(m[1]!) as { id: string; percentComplete?: number });
    assert.deepEqual(jobs.map((j) => [j.id, j.percentComplete]), [['a', 30], ['b', undefined]]);
    assert.match(text, /event: gone\ndata: \{"id":"c"\}/);
    const ended = new Promise((r) => res.on('end', r));
    streams.closeAll();
    await ended;
    assert.equal(streams.size, 0);
  });
});

test('a reader that does not read holds at most MAX_PENDING jobs, then is told to resync', async () => {
  await withStream(async (events, _streams, open) => {
    const res = await open();
    res.pause();
    // Enough distinct jobs to fill the socket buffers and then the pending map many times over.
    const big = 'x'.repeat(2000);
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < MAX_PENDING * 2; i++) {
        const j = job(`j${round}-${i}`, 1);
        j.request.url = `/work?${big}`;
        events.emit(j);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    res.resume();
    const text = await read(res, /event: resync/);
    assert.match(text, /event: resync/);
  });
});
