import assert from 'node:assert/strict';
import { test } from 'node:test';
import { schemaErrors } from '../testing/json-schema.js';
import { storedJob } from '../testing/job.js';
import { representation } from './representation.js';
import { STATUS_REPRESENTATION_SCHEMA } from './representation-schema.js';
import { UrlBuilder } from './urls.js';

const id = '0Q8m3040~9kYF1Pe59V5T5ilKBWkZ0';
const urls = new UrlBuilder('/_async', undefined, 'localhost').forOrigin('http://gw', id);
const check = (value: unknown) => schemaErrors(STATUS_REPRESENTATION_SCHEMA, value);

test('real representations, in every state and shape, validate against the status representation schema', () => {
  const now = Date.now();
  const jobs = [
    storedJob({ id, state: 'queued' }),
    storedJob({ id, state: 'running', progress: { percent: 40, current: 2, total: 5, message: 'indexing' } }),
    storedJob({
      id, state: 'succeeded', finishedAt: now, expiresAt: now + 60_000,
      response: { status: 200, headers: [['content-type', 'application/json']], size: 84, contentType: 'application/json' },
    }),
    storedJob({
      id, state: 'failed', finishedAt: now, expiresAt: now + 60_000, progress: { current: 4, total: 5 },
      response: { status: 500, headers: [], size: 0, contentType: null },
      error: { code: 'upstream-http-error', message: 'the upstream answered 500' },
    }),
    storedJob({ id, state: 'canceled', finishedAt: now, expiresAt: now + 60_000, error: { code: 'canceled', message: 'the job was canceled' } }),
  ];
  for (const job of jobs) assert.deepEqual(check(representation(job, urls)), [], job.state);
});

test('the schema is strict: a field the representation does not make, or a wrong value, fails', () => {
  const good = representation(storedJob({ id, state: 'running' }), urls);
  assert.deepEqual(check(good), []);
  assert.match(check({ ...good, surprise: 1 }).join('\n'), /surprise is not allowed/);
  assert.match(check({ ...good, status: 'Done' }).join('\n'), /not one of/);
  const { links: _links, ...noLinks } = good;
  assert.match(check(noLinks).join('\n'), /links is missing/);
  assert.match(check({ ...good, error: { code: 'no-such-code', message: 'x' } }).join('\n'), /\$\.error\.code/);
});
