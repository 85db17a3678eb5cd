import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { JOB_ERROR_CODES, PROBLEM_TYPES } from './codes.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

test('every problem type and job error code is documented in the README (they are API)', () => {
  for (const [slug, { status }] of Object.entries(PROBLEM_TYPES)) {
    assert.match(readme, new RegExp(`\\| \`${slug}\` \\| ${status} \\|`), `problem type ${slug} (${status}) is not in the README`);
  }
  for (const code of Object.keys(JOB_ERROR_CODES)) {
    assert.match(readme, new RegExp(`\\| \`${code}\` \\|`), `job error code ${code} is not in the README`);
  }
});
