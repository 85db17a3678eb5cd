import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { JOB_ERROR_CODES } from '../model.js';
import { JOB_FAILURE_PROBLEMS, PROBLEM_TYPES } from './codes.js';

const doc = readFileSync(new URL('../../docs/reference/errors.md', import.meta.url), 'utf8');

test('every problem type and job error code is documented in docs/reference/errors.md (they are API)', () => {
  for (const [slug, { status }] of Object.entries(PROBLEM_TYPES)) {
    assert.match(doc, new RegExp(`\\| \`${slug}\` \\| ${status} \\|`), `problem type ${slug} (${status}) is not in docs/reference/errors.md`);
  }
  for (const code of Object.keys(JOB_ERROR_CODES)) {
    assert.match(doc, new RegExp(`\\| \`${code}\` \\|`), `job error code ${code} is not in docs/reference/errors.md`);
  }
});

test('every code is spelled one way: lower-case words joined by hyphens', () => {
  for (const code of [...Object.keys(PROBLEM_TYPES), ...Object.keys(JOB_ERROR_CODES)]) assert.match(code, /^[a-z]+(-[a-z0-9]+)*$/);
});

test('a failed job without a response maps to a problem type that exists, for every job error code', () => {
  assert.deepEqual(Object.keys(JOB_FAILURE_PROBLEMS).sort(), Object.keys(JOB_ERROR_CODES).sort());
  for (const type of Object.values(JOB_FAILURE_PROBLEMS)) assert.ok(type in PROBLEM_TYPES, type);
});
