/**
 * The OpenAPI document, fetched from a real gateway (in-process, on loopback, over a real SQLite file): it is
 * valid OpenAPI 3.1 by a third-party validator (@readme/openapi-parser); every row of the prefix route table is
 * in it with every method; every path and method it documents answers over HTTP (not the router's 404 or 405),
 * with a status it documents and, for JSON, a body its schema accepts; the 202 matches the reusable Accepted
 * response; each delivery mode is a webhook, and a real callback of each mode matches its webhook.
 */
import { compileErrors, validate } from '@readme/openapi-parser';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { createRuntime } from '../../src/app/runtime.js';
import { resolveSettings } from '../../src/config/settings.js';
import { PROBLEM_TYPES, PROBLEM_TYPE_PREFIX } from '../../src/errors/codes.js';
import { createGateway, type Gateway } from '../../src/gateway/server.js';
import type { PrefixRoute } from '../../src/http/route-table.js';
import { DELIVERY_MODES } from '../../src/model.js';
import type { JsonSchema } from '../../src/shared/json-schema.js';
import { schemaErrors } from '../../src/testing/json-schema.js';
import { eventually, tempDir } from '../helpers/gateway-process.js';
import { Receiver } from '../helpers/receiver.js';
import { TinyServer } from '../helpers/tiny-server.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- a parsed document
const ADMIN = 'admin-token-0123456789abcdef';
const OWNER = 'Bearer the-owner-of-these-jobs';
const PREFIX = '/_async';
const METHODS = ['get', 'head', 'post', 'put', 'delete'] as const;

const dir = tempDir('asyncgate-openapi-');
const up = new TinyServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"done":true}'));
const rx = new Receiver();
let gw: Gateway;
let base: string;
let routes: readonly PrefixRoute[];
let doc: Json;

before(async () => {
  await up.start();
  await rx.start();
  const settings = resolveSettings({}, {
    upstream: up.url,
    db: `sqlite:${join(dir, 'jobs.db')}`,
    adminToken: ADMIN,
    port: 0,
    callbacks: { allowHosts: '127.0.0.1', ed25519: true },
  });
  gw = await createGateway(settings, pino({ level: 'silent' }));
  base = await gw.listen();
  // The gateway does not expose its router: the same table, built by the same code from the same settings.
  const runtime = await createRuntime({ ...settings, db: `sqlite:${join(dir, 'table.db')}` }, 'localhost', () => () => Promise.reject(new Error('runs nothing')), pino({ level: 'silent' }));
  routes = runtime.router.routes;
  await runtime.close();
  const res = await fetch(`${base}${PREFIX}/openapi.json`);
  assert.equal(res.status, 200);
  doc = (await res.json()) as Json;
});

after(async () => {
  await gw.close(1000);
  await up.close();
  await rx.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A `$ref` (`#/…`) followed within the document. */
function deref(value: Json): Json {
  if (typeof value?.$ref !== 'string') return value;
  return deref((value.$ref as string).slice(2).split('/').reduce((node: Json, part) => node[part], doc));
}

const docPath = (route: PrefixRoute) => PREFIX + route.path.replace(/:(\w+)/g, '{$1}');

/** Submit a job as OWNER; its id once it has finished. */
async function finishedJob(path = '/work'): Promise<{ id: string; accepted: Response; body: unknown }> {
  const accepted = await fetch(`${base}${path}`, { method: 'POST', headers: { prefer: 'respond-async', authorization: OWNER }, body: 'x' });
  assert.equal(accepted.status, 202);
  const body = (await accepted.json()) as { id: string };
  await eventually(async () => {
    const res = await fetch(`${base}${PREFIX}/jobs/${body.id}`, { headers: { authorization: OWNER } });
    return ((await res.json()) as { status: string }).status === 'Succeeded';
  });
  return { id: body.id, accepted, body };
}

test('GET {prefix}/openapi.json is valid OpenAPI 3.1 (@readme/openapi-parser), cached behind an ETag', async () => {
  assert.equal(doc.openapi, '3.1.0');
  const result = await validate(structuredClone(doc) as never);
  assert.ok(result.valid, result.valid ? '' : compileErrors(result));
  // The validator is not a rubber stamp: a document missing a path parameter fails it.
  const broken = structuredClone(doc);
  delete broken.paths[`${PREFIX}/jobs/{id}`].get.parameters;
  assert.equal((await validate(broken as never)).valid, false);
  // It does not check that security requirements name defined schemes: this does.
  const schemes = new Set(Object.keys(doc.components.securitySchemes));
  for (const item of [...Object.values(doc.paths)] as Json[]) {
    for (const m of METHODS) for (const requirement of item[m]?.security ?? []) for (const name of Object.keys(requirement)) assert.ok(schemes.has(name), name);
  }
  const again = await fetch(`${base}${PREFIX}/openapi.json`);
  assert.deepEqual(await again.json(), doc);
  const etag = again.headers.get('etag');
  assert.ok(etag);
  assert.equal((await fetch(`${base}${PREFIX}/openapi.json`, { headers: { 'if-none-match': etag } })).status, 304);
});

test('every row of the route table, with every method, is in the document, described; and nothing else is', () => {
  const documented = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths as Json)) for (const m of METHODS) if (item[m]) documented.add(`${m.toUpperCase()} ${path}`);
  const inTable = new Set<string>();
  for (const route of routes) {
    for (const method of route.methods) {
      const key = `${method} ${docPath(route)}`;
      inTable.add(key);
      const op = doc.paths[docPath(route)]?.[method.toLowerCase()] as Json | undefined;
      assert.ok(op, `${key} is not in the document`);
      assert.equal(op.summary, route.summary, key);
      for (const name of route.path.match(/:(\w+)/g) ?? []) assert.ok(route.params?.[name.slice(1)], `${key}: its ${name} is not described`);
      assert.ok(Object.keys(route.responses ?? {}).some((s) => s < '400'), `${key}: no success answer is described`);
      const schemes = (op.security ?? []).flatMap((r: Json) => Object.keys(r));
      const expected = { owner: 'ownerAuthorization', upstream: 'progressToken', admin: 'adminToken', viewer: 'viewerToken', public: undefined }[route.access];
      if (expected) assert.ok(schemes.includes(expected), `${key}: ${route.access} access, security ${schemes.join(', ')}`);
      else assert.equal(op.security, undefined, key);
      if (route.access === 'admin') assert.ok(!schemes.includes('viewerToken'), `${key}: the viewer token may not change things`);
    }
  }
  assert.deepEqual([...documented].filter((k) => !inTable.has(k)), []);
  // Every problem type is a reusable problem+json response.
  for (const slug of Object.keys(PROBLEM_TYPES)) assert.ok(doc.components.responses[slug]?.content?.['application/problem+json'], slug);
  // The dialect components, for API builders' own documents.
  for (const name of ['Prefer', 'PreferODataCallback', 'AcceptAsynchronous', 'AsynchronousEndPoint', 'Callback', 'PragmaRedirect', 'IdempotencyKey']) assert.ok(doc.components.parameters[name], name);
  for (const name of ['Location', 'Retry-After', 'Preference-Applied']) assert.ok(doc.components.headers[name], name);
});

test('the 202 of a proxied request matches the reusable Accepted response: its headers and its body', async () => {
  const { accepted, body } = await finishedJob();
  const component = doc.components.responses.Accepted as Json;
  for (const name of Object.keys(component.headers)) assert.ok(accepted.headers.get(name), `the 202 has no ${name}`);
  assert.deepEqual(schemaErrors(component.content['application/json'].schema as JsonSchema, body, doc), []);
});

/** Is `status` an answer the operation documents (exactly, as a class like 2XX, or as default)? */
function documentedAnswer(op: Json, status: number): Json | undefined {
  const r = op.responses[String(status)] ?? op.responses[`${Math.floor(status / 100)}XX`] ?? op.responses.default;
  return r ? deref(r) : undefined;
}

test('every documented path and method answers over HTTP, with a status it documents and a body its schema accepts', async () => {
  const job = await finishedJob();
  const upstreamRequest = up.seen.find((r) => r.headers['asyncgate-job-id'] === job.id);
  const progressToken = String(upstreamRequest?.headers['asyncgate-progress-token']);
  const registered = await fetch(`${base}${PREFIX}/jobs/${job.id}/callbacks`, {
    method: 'POST',
    headers: { authorization: OWNER, 'content-type': 'application/json' },
    body: JSON.stringify({ url: `${rx.url}/cb`, mode: 'notify' }),
  });
  assert.equal(registered.status, 201);
  const deliveryId = ((await registered.json()) as { id: string }).id;
  await eventually(async () => rx.received.some((r) => r.url === '/cb'));

  const operations: Array<{ path: string; method: string; op: Json }> = [];
  for (const [path, item] of Object.entries(doc.paths as Json)) for (const m of METHODS) if (item[m]) operations.push({ path, method: m.toUpperCase(), op: item[m] });
  // Deleting last, each on a job of its own.
  operations.sort((a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE'));
  const answered: string[] = [];
  for (const { path, method, op } of operations) {
    const key = `${method} ${path}`;
    const params = ((op.parameters ?? []) as Json[]).map(deref);
    const id = method === 'DELETE' ? (await finishedJob()).id : job.id;
    let url = path.replace(/\{(\w+)\}/g, (_, name: string) => {
      const schema = params.find((p) => p.in === 'path' && p.name === name)?.schema as Json | undefined;
      if (schema?.enum) return String(schema.enum[0]);
      return path.includes('/deliveries/') ? deliveryId : id;
    });
    const query = new URLSearchParams();
    for (const p of params) if (p.in === 'query' && p.required) query.set(p.name, String((Object.values(p.examples ?? {})[0] as Json | undefined)?.value ?? ''));
    if ([...query].length) url += `?${query}`;
    const schemes = new Set(((op.security ?? []) as Json[]).flatMap((r) => Object.keys(r)));
    const headers: Record<string, string> = { origin: base };
    if (schemes.has('adminToken')) headers.authorization = `Bearer ${ADMIN}`;
    else if (schemes.has('ownerAuthorization')) headers.authorization = OWNER;
    else if (schemes.has('progressToken')) headers.authorization = `Bearer ${progressToken}`;
    let body: string | undefined;
    const content = op.requestBody?.content as Json | undefined;
    if (content) {
      const [type, media] = Object.entries(content)[0]!;
      headers['content-type'] = type;
      body = type === 'application/x-www-form-urlencoded' ? String(new URLSearchParams(media.example as Record<string, string>)) : JSON.stringify(media.example);
    }
    const stop = new AbortController();
    const res = await fetch(`${base}${url}`, { method, headers, redirect: 'manual', signal: stop.signal, ...(body !== undefined ? { body } : {}) });
    const type = (res.headers.get('content-type') ?? '').split(';')[0]!;
    let text = '';
    if (type === 'text/event-stream') stop.abort();
    else text = await res.text();
    const problem = type === 'application/problem+json' ? (JSON.parse(text) as Json) : undefined;
    assert.notEqual(res.status, 405, `${key}: 405`);
    assert.ok(!(res.status === 404 && problem?.type === `${PROBLEM_TYPE_PREFIX}not-found` && /no asyncgate endpoint/.test(String(problem.detail))), `${key}: no endpoint`);
    const documented = documentedAnswer(op, res.status);
    assert.ok(documented, `${key} answered ${res.status} ${text.slice(0, 200)}, which the document does not list`);
    answered.push(`${key} ${res.status}`);
    if (method === 'HEAD' || text === '') continue;
    const media = documented.content ? (documented.content[type] ?? documented.content['*/*']) : undefined;
    assert.ok(media, `${key} ${res.status}: answered ${type}, documented ${Object.keys(documented.content ?? {}).join(', ') || 'no body'}`);
    if (/json$/.test(type) && media.schema) assert.deepEqual(schemaErrors(media.schema as JsonSchema, JSON.parse(text), doc), [], `${key} ${res.status}`);
  }
  // Most answered with success (credentials and ids were real), not only with problems.
  const ok = answered.filter((a) => / [23]\d\d$/.test(a));
  assert.ok(ok.length >= operations.length * 0.6, answered.join('\n'));
});

test('the webhooks name each delivery mode, and a real callback of each mode matches its webhook', async () => {
  assert.deepEqual(Object.keys(doc.webhooks).sort(), [...DELIVERY_MODES].sort());
  const { id } = await finishedJob();
  for (const mode of DELIVERY_MODES) {
    const res = await fetch(`${base}${PREFIX}/jobs/${id}/callbacks`, {
      method: 'POST',
      headers: { authorization: OWNER, 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${rx.url}/mode-${mode}`, mode }),
    });
    assert.equal(res.status, 201);
  }
  const got = await eventually(async () => {
    const all = DELIVERY_MODES.map((mode) => rx.received.find((r) => r.url === `/mode-${mode}`));
    return all.every(Boolean) && all;
  });
  for (const [i, mode] of DELIVERY_MODES.entries()) {
    const callback = got[i]!;
    const op = doc.webhooks[mode][callback.method.toLowerCase()] as Json | undefined;
    assert.ok(op, `${mode}: ${callback.method} is not documented`);
    for (const p of ((op.parameters ?? []) as Json[]).map(deref)) {
      if (p.in === 'header' && p.required) assert.ok(callback.headers[p.name.toLowerCase()], `${mode}: no ${p.name}`);
    }
    assert.match(String(callback.headers['webhook-signature']), /^v1,/);
    const type = String(callback.headers['content-type'] ?? '').split(';')[0]!;
    if (!op.requestBody) {
      assert.equal(callback.body.length, 0, `${mode}: a body the webhook does not document`);
      continue;
    }
    const media = op.requestBody.content[type] ?? op.requestBody.content['*/*'];
    assert.ok(media, `${mode}: sent ${type}`);
    if (/json$/.test(type)) assert.deepEqual(schemaErrors(media.schema as JsonSchema, JSON.parse(callback.body.toString()), doc), [], mode);
  }
});
