// Tiny node:http servers the benchmark runs as child processes, one process each:
//
//   node bench/servers.mjs upstream   the gateway's upstream: answers 200 at once to everything
//   node bench/servers.mjs ceiling    the baseline: answers what asyncgate answers, with no storage and no work
//   node bench/servers.mjs receiver   a callback receiver (section D): answers 200 at once, reports each receipt
//   node bench/servers.mjs echo       an upstream answering 200 with a JSON receipt quoting the request body
//                                     (bench/console.mjs: response bodies with text to search)
//
// Each prints one JSON line {"listening":"http://127.0.0.1:PORT"} on stdout when ready, and exits on SIGTERM.
// Both read the request body to the end before answering (as the gateway must), and keep connections alive.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { setImmediate } from 'node:timers';

const mode = process.argv[2];

/** upstream: every request is answered 200 with a small JSON body. GET /__bench/stats says how many it saw. */
function upstream() {
  let seen = 0;
  const ok = Buffer.from('{"ok":true}');
  return (req, res) => {
    if (req.url === '/__bench/stats') {
      const text = JSON.stringify({ requests: seen });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    seen++;
    req.resume();
    // `?ms=N` holds the answer N ms: a long-running job, the case asyncgate exists for.
    const holdMs = Number(/[?&]ms=(\d+)/.exec(req.url)?.[1] ?? 0);
    req.on('end', () => {
      const answer = () => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': ok.length });
        res.end(ok);
      };
      if (!holdMs) return answer();
      const t = setTimeout(answer, holdMs);
      res.on('close', () => clearTimeout(t));
    });
  };
}

/** echo: 200 with `{"receipt": <the request body as text>}`, so each job's result holds words of its own;
 * `?ms=N` holds the answer N ms. */
function echo() {
  return (req, res) => {
    const parts = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => {
      const text = JSON.stringify({ receipt: Buffer.concat(parts).toString('utf8') });
      const answer = () => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      };
      // `?ms=N` holds the answer N ms (past the gateway's --timeout: a job that fails upstream-timeout).
      const holdMs = Number(/[?&]ms=(\d+)/.exec(req.url)?.[1] ?? 0);
      if (!holdMs) return answer();
      const t = setTimeout(answer, holdMs);
      res.on('close', () => clearTimeout(t));
    });
  };
}

/**
 * ceiling: the same shapes of answer as asyncgate, made as cheaply as node:http allows.
 *  - POST/PUT/anything but GET: 202 with Location, Retry-After, ETag... and a ~450-byte job representation
 *    carrying a fresh random id (as asyncgate's 202 does), stored nowhere.
 *  - GET /_async/jobs/{id}: 200 with a fixed ~670-byte "Succeeded" representation and ETag "3";
 *    If-None-Match: "3" gets 304.
 */
function ceiling() {
  let base = '';
  const now = new Date().toISOString();
  const monitorFor = (id) =>
    JSON.stringify({
      id,
      status: 'Succeeded',
      percentComplete: 100,
      createdDateTime: now,
      lastUpdatedDateTime: now,
      expirationDateTime: now,
      request: { method: 'POST', url: '/work' },
      response: { status: 200, contentType: 'application/json', size: 11 },
      resourceLocation: `${base}/_async/jobs/${id}/result`,
      links: {
        self: { href: `${base}/_async/jobs/${id}` },
        result: { href: `${base}/_async/jobs/${id}/result` },
        cancel: { href: `${base}/_async/jobs/${id}/cancel` },
      },
    });
  let monitorBody;
  const handler = (req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method === 'GET' && req.url.startsWith('/_async/jobs/')) {
        const headers = { etag: '"3"', vary: 'Prefer', 'cache-control': 'private, max-age=86399' };
        if (req.headers['if-none-match'] === '"3"') {
          res.writeHead(304, headers);
          res.end();
          return;
        }
        monitorBody ??= Buffer.from(monitorFor(req.url.slice('/_async/jobs/'.length)));
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': monitorBody.length, ...headers });
        res.end(monitorBody);
        return;
      }
      const id = randomBytes(16).toString('base64url');
      const self = `${base}/_async/jobs/${id}`;
      const created = new Date().toISOString();
      const text = JSON.stringify({
        id,
        status: 'NotStarted',
        createdDateTime: created,
        lastUpdatedDateTime: created,
        request: { method: req.method, url: req.url },
        links: { self: { href: self }, result: { href: `${self}/result` }, cancel: { href: `${self}/cancel` } },
      });
      res.writeHead(202, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
        location: self,
        'operation-location': self,
        'retry-after': '1',
        link: `<${self}>; rel="monitor"`,
        vary: 'Prefer',
        etag: '"1"',
        'cache-control': 'no-store',
        'preference-applied': 'respond-async',
      });
      res.end(text);
    });
  };
  return { handler, setBase: (b) => (base = b) };
}

/**
 * receiver: the callback receiver of section D. Every request is read to the end and answered 200 at once.
 * A request to /cb/<tag>/<seq> is reported on stdout as a line `@cb <tag> <seq> <epoch ms, µs precision> <ok>`
 * (lines batched per event-loop turn), where ok is 1 when its Standard Webhooks v1 signature verifies under
 * RECEIVER_SECRET (whsec_...; constant-time compare, timestamp within 5 min), 0 otherwise. The benchmark reads
 * those lines: receipt times, closed-loop pacing, duplicates, bad signatures.
 */
function receiver() {
  const secret = process.env.RECEIVER_SECRET ?? '';
  const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : null;
  const origin = performance.timeOrigin;
  let pending = [];
  const flush = () => {
    const text = pending.join('');
    pending = [];
    process.stdout.write(text);
  };
  const verify = (headers, body) => {
    const id = headers['webhook-id'];
    const ts = headers['webhook-timestamp'];
    const sigs = headers['webhook-signature'];
    if (!key || !id || !ts || !sigs || !/^\d+$/.test(ts) || Math.abs(Date.now() / 1000 - Number(ts)) > 300) return false;
    const expected = Buffer.from(createHmac('sha256', key).update(`${id}.${ts}.`).update(body).digest('base64'));
    return sigs.split(' ').some((s) => {
      if (!s.startsWith('v1,')) return false;
      const got = Buffer.from(s.slice(3));
      return got.length === expected.length && timingSafeEqual(got, expected);
    });
  };
  const ok = Buffer.from('{"received":true}');
  return (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const t = origin + performance.now();
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': ok.length });
      res.end(ok);
      const m = /^\/cb\/([A-Za-z0-9_-]+)\/(\d+)/.exec(req.url);
      if (!m) return;
      const good = verify(req.headers, Buffer.concat(chunks)) ? 1 : 0;
      if (pending.length === 0) setImmediate(flush);
      pending.push(`@cb ${m[1]} ${m[2]} ${t.toFixed(3)} ${good}\n`);
    });
  };
}

let handler;
let setBase = () => {};
if (mode === 'upstream') handler = upstream();
else if (mode === 'ceiling') ({ handler, setBase } = ceiling());
else if (mode === 'receiver') handler = receiver();
else if (mode === 'echo') handler = echo();
else {
  process.stderr.write('usage: node bench/servers.mjs upstream|ceiling|receiver\n');
  process.exit(2);
}

// Same server options as the gateway's own listener (keep-alive 5 s, no request timeout).
const server = http.createServer({ keepAliveTimeout: 5_000, requestTimeout: 0 }, handler);
server.listen(0, '127.0.0.1', () => {
  const url = `http://127.0.0.1:${server.address().port}`;
  setBase(url);
  process.stdout.write(`${JSON.stringify({ listening: url })}\n`);
});
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1_000).unref();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
// If the benchmark dies without cleaning up, don't outlive it.
process.stdin.on('end', stop).resume();
process.stdin.unref?.();
