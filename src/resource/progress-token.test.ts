import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { newJobId } from '../engine/ids.js';
import { ProgressTokens } from './progress-token.js';

test('a progress token belongs to one job and one server key', () => {
  const key = randomBytes(32).toString('base64url');
  const tokens = new ProgressTokens(key);
  const [a, b] = [newJobId(), newJobId()];
  const ta = tokens.issue(a);
  assert.equal(ta, new ProgressTokens(key).issue(a)); // any process with the key agrees: nothing is stored
  assert.ok(tokens.verify(a, ta));
  assert.ok(!tokens.verify(b, ta));
  assert.ok(!tokens.verify(a, tokens.issue(b)));
  assert.ok(!new ProgressTokens(randomBytes(32).toString('base64url')).verify(a, ta));
  for (const bad of ['', ta.slice(1), `${ta}x`, ta.toUpperCase()]) assert.ok(!tokens.verify(a, bad), bad);
});
