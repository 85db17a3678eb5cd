import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PROBLEM_CONTENT_TYPE, type ProblemDetails } from './problem.js';

test('RFC 9457 §6.1 media type', () => {
  assert.equal(PROBLEM_CONTENT_TYPE, 'application/problem+json');
});

test('RFC 9457 §3 example fits the type, extensions included', () => {
  const problem: ProblemDetails = {
    type: 'https://example.com/probs/out-of-credit',
    title: 'You do not have enough credit.',
    status: 403,
    detail: 'Your current balance is 30, but that costs 50.',
    instance: '/account/12345/msgs/abc',
    balance: 30,
    accounts: ['/account/12345', '/account/67890'],
  };
  assert.deepEqual(JSON.parse(JSON.stringify(problem)), problem);
});

test('property: a problem survives JSON serialisation', () => {
  fc.assert(
    fc.property(fc.record({ type: fc.webUrl(), title: fc.string(), status: fc.integer({ min: 400, max: 599 }), detail: fc.string() }), (p: ProblemDetails) => {
      assert.deepEqual(JSON.parse(JSON.stringify(p)), { ...p });
    }),
  );
});
