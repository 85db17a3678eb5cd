// The end-to-end baseline of section D: the same service as asyncgate's callback path, "built the common way".
//
//   node bench/baseline-bullmq.mjs --upstream URL --secret whsec_... [--queue NAME] [--redis redis://127.0.0.1:6379]
//                                  [--concurrency 64] [--port 0]
//
//  - a Fastify 5 server: POST (any path) with a `Callback: <url>` header enqueues a BullMQ job holding the
//    request (method, path, content-type, body) and the callback URL, and answers 202 {"id": ...}.
//  - a BullMQ Worker in the same process (concurrency 64): calls the upstream with undici, then POSTs the
//    upstream's response (its status in a `Status` header, its content-type and body) to the callback URL
//    with undici, signed like Standard Webhooks (webhook-id / webhook-timestamp / webhook-signature:
//    v1,base64(HMAC-SHA256(secret, `${id}.${ts}.${body}`))). A non-2xx answer throws, and BullMQ retries the
//    job (attempts 8, exponential backoff from 1 s); the upstream response is saved into the job first
//    (job.updateData), so that a retry re-sends it instead of calling the upstream again.
//  - persistence: BullMQ's defaults (Redis; completed jobs and their return values are kept). Whether that
//    is durable depends on the Redis server's own configuration (RDB/AOF), which is printed at start.
//
// Prints {"listening": url, "queue": ..., "redis": {...}} on stdout when ready (the bench's child protocol).
// On SIGTERM (or stdin closing) it closes the worker, obliterates its queue (all of its Redis keys) and prints
// {"obliterated": queue, "keysLeft": n} before exiting. Never touches other keys.
import { createHmac } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Queue, Worker } from 'bullmq';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { Agent, request, setGlobalDispatcher } from 'undici';

const { values: opt } = parseArgs({
  options: {
    upstream: { type: 'string' },
    secret: { type: 'string' },
    queue: { type: 'string', default: `asyncgate-bench-baseline-${process.pid}-${Date.now()}` },
    redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
    concurrency: { type: 'string', default: '64' },
    port: { type: 'string', default: '0' },
  },
});
if (!opt.upstream || !opt.secret?.startsWith('whsec_')) {
  process.stderr.write('usage: node bench/baseline-bullmq.mjs --upstream URL --secret whsec_... [--queue NAME]\n');
  process.exit(2);
}
const upstream = opt.upstream.replace(/\/$/, '');
const key = Buffer.from(opt.secret.slice('whsec_'.length), 'base64');
const redisUrl = new URL(opt.redis);
const connection = { host: redisUrl.hostname, port: Number(redisUrl.port || 6379) };
const QUEUE = opt.queue;

// Keep-alive connections to the upstream and to callback receivers (undici's defaults, a few more per origin).
setGlobalDispatcher(new Agent({ connections: 128 }));

// ---------------------------------------------------------------------------------------------------------
// Producer: Fastify + Queue.add

const queue = new Queue(QUEUE, { connection });
const app = Fastify({ logger: false, bodyLimit: 10 * 1024 * 1024 });
// Forward the body as it came (no JSON parse / re-serialise).
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

const JOB_OPTIONS = { attempts: 8, backoff: { type: 'exponential', delay: 1_000 } };

app.post('/*', async (req, reply) => {
  const cb = /<([^>]+)>/.exec(String(req.headers.callback ?? ''))?.[1];
  if (!cb || !/^https?:\/\//.test(cb)) return reply.code(400).send({ error: 'a Callback: <url> header is required' });
  const job = await queue.add(
    'request',
    { method: req.method, path: req.url, contentType: req.headers['content-type'] ?? null, body: req.body ?? '', callback: cb },
    JOB_OPTIONS,
  );
  return reply.code(202).header('location', `/jobs/${job.id}`).send({ id: job.id, status: 'queued' });
});

// ---------------------------------------------------------------------------------------------------------
// Worker: undici to the upstream, then the signed callback

function sign(id, ts, body) {
  return `v1,${createHmac('sha256', key).update(`${id}.${ts}.`).update(body).digest('base64')}`;
}

async function processJob(job) {
  const d = job.data;
  let response = d.response;
  if (!response) {
    const res = await request(upstream + d.path, {
      method: d.method,
      headers: d.contentType ? { 'content-type': d.contentType } : {},
      body: d.body,
    });
    response = { status: res.statusCode, contentType: res.headers['content-type'] ?? null, body: await res.body.text() };
  }
  const id = `msg_${job.id}`;
  const ts = Math.floor(Date.now() / 1000);
  const headers = {
    'content-type': response.contentType ?? 'application/octet-stream',
    status: String(response.status),
    'webhook-id': id,
    'webhook-timestamp': String(ts),
    'webhook-signature': sign(id, ts, response.body),
  };
  const cb = await request(d.callback, { method: 'POST', headers, body: response.body });
  await cb.body.dump();
  if (cb.statusCode < 200 || cb.statusCode > 299) {
    // Keep the upstream's answer, so that BullMQ's retry re-delivers it rather than re-running the request.
    if (!d.response) await job.updateData({ ...d, response });
    throw new Error(`callback answered ${cb.statusCode}`);
  }
  return { status: response.status, body: response.body, callbackStatus: cb.statusCode };
}

const worker = new Worker(QUEUE, processJob, { connection, concurrency: Number(opt.concurrency) });
worker.on('error', (e) => process.stderr.write(`worker error: ${e.message}\n`));

// ---------------------------------------------------------------------------------------------------------
// Start, stop

async function redisFacts() {
  const r = new Redis(connection);
  try {
    const [, save] = await r.config('GET', 'save');
    const [, appendonly] = await r.config('GET', 'appendonly');
    const info = await r.info('server');
    const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
    const version = /redis_version:([^\r\n]+)/.exec(info)?.[1];
    return { pid, version, save, appendonly };
  } finally {
    r.disconnect();
  }
}

async function keysLeft() {
  const r = new Redis(connection);
  try {
    let n = 0;
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `bull:${QUEUE}:*`, 'COUNT', 1000);
      n += keys.length;
      cursor = next;
    } while (cursor !== '0');
    return n;
  } finally {
    r.disconnect();
  }
}

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  const hard = setTimeout(() => process.exit(1), 20_000);
  hard.unref();
  try {
    await app.close();
    await worker.close(true);
    await queue.pause(); // BullMQ refuses to obliterate a queue that is not paused
    await queue.obliterate({ force: true });
    const left = await keysLeft();
    process.stdout.write(`${JSON.stringify({ obliterated: QUEUE, keysLeft: left })}\n`);
    await queue.close();
  } catch (e) {
    process.stderr.write(`baseline shutdown: ${e.stack ?? e}\n`);
    process.exitCode = 1;
  }
  process.exit();
}
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.stdin.on('end', stop).resume();
process.stdin.unref?.();

// A fresh queue: nothing of a previous run under this name (the name is unique per run anyway).
if ((await keysLeft()) > 0) {
  await queue.pause();
  await queue.obliterate({ force: true });
  await queue.resume();
}
await worker.waitUntilReady();
const redis = await redisFacts();
const address = await app.listen({ port: Number(opt.port), host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ listening: address, queue: QUEUE, redis})}\n`);
