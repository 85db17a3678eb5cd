import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { resolveCommonSettings } from '../config/settings.js';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import type { Access } from '../http/route-table.js';
import { createRuntime, type Runtime } from './runtime.js';

const dir = mkdtempSync(join(tmpdir(), 'asyncgate-runtime-'));
let runtime: Runtime;
let server: Server;
let base: string;

before(async () => {
  const settings = resolveCommonSettings({ db: `sqlite:${join(dir, 'jobs.db')}`, adminToken: 'admin-token-0123456789' }, {});
  runtime = await createRuntime(settings, 'localhost', () => () => Promise.reject(new Error('no job runs in this test')), pino({ level: 'silent' }));
  server = createServer((req, res) => {
    runtime.router.serve(req, res, req.url ?? '/', false).then(
      (handled) => handled || res.writeHead(299).end(),
      (error: unknown) => {
        const e = error instanceof AsyncgateError ? error : new AsyncgateError('internal');
        res.writeHead(e.status, { 'content-type': 'application/problem+json', ...e.extra.headers }).end(JSON.stringify(e.toProblem()));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await runtime.close();
  rmSync(dir, { recursive: true, force: true });
});

async function call(method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const CALLERS: Record<Access, string> = { owner: 'job owner', upstream: 'upstream', admin: 'admin', viewer: 'viewer', public: 'public' };

test('every row of the prefix route table is in docs/reference/endpoints.md, with its methods and caller', () => {
  const doc = readFileSync(new URL('../../docs/reference/endpoints.md', import.meta.url), 'utf8').split('\n');
  assert.ok(runtime.router.routes.length >= 14);
  for (const route of runtime.router.routes) {
    const path = `/_async${route.path.replace(/:(\w+)/g, '{$1}')}`;
    const row = doc.find((line) => line.startsWith('| ') && new RegExp(`${path.replace(/[{}/]/g, '\\$&')}[\` ?]`).test(line) && route.methods.every((m) => line.includes(`\`${m}`)));
    assert.ok(row, `${route.methods.join(', ')} ${path} is not in the endpoints table`);
    assert.equal(row.split('|')[2]!.trim(), CALLERS[route.access], `${path}: the caller column`);
  }
});

test('the router: not under the prefix is not its; unknown paths 404; a known path with another method 405 with every allowed method', async () => {
  assert.equal((await call('GET', '/elsewhere')).status, 299);
  assert.equal((await call('GET', '/_asyncx/jobs')).status, 299);
  const unknown = await call('GET', '/_async/nothing-here');
  assert.equal(unknown.status, 404);
  assert.match(unknown.body, /no asyncgate endpoint at \/_async\/nothing-here/);
  const wrong = await call('PUT', '/_async/jobs/abc');
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.allow, 'GET, HEAD, DELETE');
  assert.equal((await call('POST', '/_async/health')).status, 405);
});

test('the router checks access before the handler: owner 404, upstream 401/403, admin 401, public open', async () => {
  assert.equal((await call('GET', '/_async/jobs/not-a-job-id')).status, 404);
  assert.equal((await call('POST', '/_async/jobs/not-a-job-id/progress')).status, 401);
  assert.equal((await call('POST', '/_async/jobs/not-a-job-id/progress', { authorization: 'Bearer forged' })).status, 403);
  assert.equal((await call('GET', '/_async/admin/jobs')).status, 401);
  assert.equal((await call('GET', '/_async/admin/jobs', { authorization: 'Bearer admin-token-0123456789' })).status, 200);
  assert.equal((await call('GET', '/_async/health')).status, 200);
});

test('a path parameter that is not valid percent-encoding matches nothing (404, not a crash)', async () => {
  const bad = await call('GET', '/_async/admin/deliveries/%E0%A4%A', { authorization: 'Bearer admin-token-0123456789' });
  assert.equal(bad.status, 404);
  const decoded = await call('GET', '/_async/admin/deliveries/msg%5Fx', { authorization: 'Bearer admin-token-0123456789' });
  assert.equal(decoded.status, 404);
  assert.match(decoded.body, /no delivery msg_x/);
});
