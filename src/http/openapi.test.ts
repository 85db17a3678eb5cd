import { compileErrors, validate } from '@readme/openapi-parser';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STATUS_REPRESENTATION_SCHEMA } from '../resource/representation-schema.js';
import { IF_NONE_MATCH, JOB_ID } from './openapi-components.js';
import { openApiDocument, openApiPath } from './openapi.js';
import type { PrefixRoute } from './route-table.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- a generated document

const handle = () => Promise.resolve();
const routes: PrefixRoute[] = [
  {
    methods: ['GET', 'HEAD'],
    path: '/jobs/:id',
    access: 'owner',
    summary: 'The monitor',
    handle,
    params: { id: JOB_ID },
    headers: { 'If-None-Match': IF_NONE_MATCH, 'X-Own': { description: 'not a component', schema: { type: 'string' } } },
    responses: { 200: { description: 'The representation', content: { 'application/json': STATUS_REPRESENTATION_SCHEMA } }, 409: { description: 'Mine', content: { 'text/plain': {} } } },
    problems: ['result-not-ready', 'job-failed'],
  },
  { methods: ['POST'], path: '/admin/jobs/retry', access: 'admin', summary: 'Retry', handle, responses: { 200: { description: 'Done' } } },
];
const options = { prefix: '/p', publicUrl: undefined, ownerHeader: undefined, version: '1.2.3' };

test('paths: path-to-regexp parameters become templates; syntax it cannot describe is refused', () => {
  assert.deepEqual(openApiPath('/jobs/:id/result'), { path: '/jobs/{id}/result', params: ['id'] });
  assert.deepEqual(openApiPath('/a/:x/b/:y'), { path: '/a/{x}/b/{y}', params: ['x', 'y'] });
  assert.throws(() => openApiPath('/files/*rest'), /only :name parameters/);
});

test('a schema, parameter or header listed as a component becomes a $ref; others stay inline', () => {
  const doc = openApiDocument(routes, options) as Json;
  const get = doc.paths['/p/jobs/{id}'].get;
  assert.deepEqual(get.responses['200'].content['application/json'].schema, { $ref: '#/components/schemas/StatusRepresentation' });
  assert.deepEqual(get.parameters[1], { $ref: '#/components/parameters/IfNoneMatch' });
  assert.equal(get.parameters[2].name, 'X-Own');
  assert.equal(get.parameters[2].in, 'header');
  // The representation's own error member is a $ref to JobError, not a copy.
  assert.deepEqual(doc.components.schemas.StatusRepresentation.properties.error, { $ref: '#/components/schemas/JobError' });
});

test('problems join the answers by status: one type is a $ref, several a oneOf beside the route\'s own body', () => {
  const doc = openApiDocument(routes, options) as Json;
  const get = doc.paths['/p/jobs/{id}'].get;
  assert.deepEqual(get.responses['404'], { $ref: '#/components/responses/job-not-found' });
  assert.deepEqual(get.responses['410'], { $ref: '#/components/responses/job-gone' });
  const conflict = get.responses['409'];
  assert.ok(conflict.content['text/plain']);
  assert.deepEqual(conflict.content['application/problem+json'].schema.oneOf, [
    { $ref: '#/components/schemas/Problem.result-not-ready' },
    { $ref: '#/components/schemas/Problem.job-failed' },
  ]);
  assert.match(conflict.description, /^Mine; or result-not-ready: .*; job-failed: /);
  // HEAD answers without bodies.
  const head = doc.paths['/p/jobs/{id}'].head;
  assert.equal(head.responses['200'].content, undefined);
  assert.equal(head.responses['404'].content, undefined);
  // The access check's problems: the admin API's.
  const retry = doc.paths['/p/admin/jobs/retry'].post;
  assert.deepEqual(Object.keys(retry.responses).sort(), ['200', '401', '403', '404']);
  assert.deepEqual(retry.security, [{ adminToken: [] }, { dashboardSession: [] }]);
});

test('with --owner-header and --public-url the document is still valid OpenAPI 3.1, and says so', async () => {
  const doc = openApiDocument(routes, { ...options, ownerHeader: 'x-api-key', publicUrl: 'https://api.example.com' }) as Json;
  const result = await validate(structuredClone(doc) as never);
  assert.ok(result.valid, result.valid ? '' : compileErrors(result));
  assert.deepEqual(doc.servers, [{ url: 'https://api.example.com', description: 'The public URL' }]);
  assert.equal(doc.components.securitySchemes.ownerHeader.name, 'x-api-key');
  assert.equal(doc.components.securitySchemes.ownerAuthorization, undefined);
  assert.deepEqual(doc.paths['/p/jobs/{id}'].get.security, [{}, { ownerHeader: [] }]);
  assert.equal(doc.info.version, '1.2.3');
});

test('a method twice in the table is refused', () => {
  assert.throws(() => openApiDocument([routes[1]!, routes[1]!], options), /twice/);
});
