import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RouteRule } from '../config/routes.js';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import { bodyPush, pushHeaderWish } from './push-wish.js';

const rule = (extra: Partial<RouteRule> = {}): RouteRule => ({ name: 'r', match: 'POST /orders', async: 'allowed', pushBodyField: 'push_notification', ...extra });
const problem = (type: string) => (e: unknown) => e instanceof AsyncgateError && e.type === type;

test('Asyncgate-Push: on asks, off or absent does not, anything else is a 400', () => {
  assert.equal(pushHeaderWish({ 'asyncgate-push': 'on' }), true);
  assert.equal(pushHeaderWish({ 'asyncgate-push': ' ON ' }), true);
  assert.equal(pushHeaderWish({ 'asyncgate-push': 'off' }), false);
  assert.equal(pushHeaderWish({}), false);
  assert.throws(() => pushHeaderWish({ 'asyncgate-push': 'yes' }), problem('invalid-header'));
});

test('the pushBodyField is found and cut out of a JSON body, or kept with keepPushBodyField', () => {
  const body = Buffer.from('{"item":7,"push_notification":true,"n":1}');
  assert.deepEqual(bodyPush(body, rule()), { push: true, body: Buffer.from('{"item":7,"n":1}') });
  assert.deepEqual(bodyPush(body, rule({ keepPushBodyField: true })), { push: true, body });
  assert.deepEqual(bodyPush(Buffer.from('{"push_notification" : false}'), rule()), { push: false, body: Buffer.from('{}') });
});

test('a body without the field, not JSON, or on a rule without one is not a wish; a non-boolean or repeated field is a 400', () => {
  assert.equal(bodyPush(Buffer.from('{"item":7}'), rule()), undefined);
  assert.equal(bodyPush(Buffer.from('not json'), rule()), undefined);
  assert.equal(bodyPush(Buffer.from('{"push_notification":true}'), rule({ pushBodyField: undefined })), undefined);
  assert.equal(bodyPush(null, rule()), undefined);
  assert.throws(() => bodyPush(Buffer.from('{"push_notification":"yes"}'), rule()), problem('invalid-body'));
  assert.throws(() => bodyPush(Buffer.from('{"push_notification":true,"push_notification":true}'), rule()), problem('invalid-body'));
});
