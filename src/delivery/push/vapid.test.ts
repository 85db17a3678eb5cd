import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkVapidSubject, formatVapidKeys, newVapidKeys, parseVapidKeys } from './vapid.js';

test('a new VAPID key pair is a P-256 point and scalar, and survives the text it is kept as', () => {
  const keys = newVapidKeys();
  assert.equal(Buffer.from(keys.publicKey, 'base64url').length, 65);
  assert.equal(Buffer.from(keys.privateKey, 'base64url').length, 32);
  assert.deepEqual(parseVapidKeys(formatVapidKeys(keys)), keys);
  assert.deepEqual(parseVapidKeys(` ${keys.publicKey} , ${keys.privateKey} `), keys);
});

test('malformed VAPID keys and subjects are refused with a reason', () => {
  const { publicKey, privateKey } = newVapidKeys();
  for (const text of ['', publicKey, `${privateKey},${publicKey}`, `${publicKey},${privateKey},x`, `${publicKey},not base64!`]) {
    assert.throws(() => parseVapidKeys(text), /VAPID/, text);
  }
  assert.equal(checkVapidSubject('mailto:ops@example.com'), 'mailto:ops@example.com');
  assert.equal(checkVapidSubject('https://example.com/contact'), 'https://example.com/contact');
  for (const subject of ['ops@example.com', 'http://example.com']) assert.throws(() => checkVapidSubject(subject), /mailto: or https:/);
});
