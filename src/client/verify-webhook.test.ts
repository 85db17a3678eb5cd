import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { newEd25519Signer, newSigningSecret, signWebhook } from '../delivery/signing.js';
import { WebhookVerificationError } from './errors.js';
import { verifyWebhook } from './verify-webhook.js';

const now = 1_790_000_000;
const body = JSON.stringify({ id: 'job1', status: 'Succeeded' });
const refused = (code: string) => (e: unknown) => e instanceof WebhookVerificationError && e.code === code;

describe('verifyWebhook', () => {
  it('accepts what asyncgate signs (v1 HMAC) and returns the parsed payload', () => {
    const secret = newSigningSecret();
    const headers = signWebhook({ id: 'msg_1', timestamp: now, body, secrets: [secret] });
    assert.deepEqual(verifyWebhook(secret, { ...headers, 'content-type': 'application/json' }, body, { now }), { id: 'job1', status: 'Succeeded' });
    // fetch's Headers, a Buffer body, a Date for now, no content-type (JSON recognised by content)
    assert.deepEqual(verifyWebhook(secret, new Headers(headers), Buffer.from(body), { now: new Date(now * 1000) }), { id: 'job1', status: 'Succeeded' });
  });

  it('accepts what the standardwebhooks package signs, and the package accepts what it verifies', () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const wh = new Webhook(secret.slice('whsec_'.length));
    const signature = wh.sign('msg_2', new Date(now * 1000), body);
    const headers = { 'webhook-id': 'msg_2', 'webhook-timestamp': String(now), 'webhook-signature': signature };
    assert.deepEqual(verifyWebhook(secret, headers, body, { now }), { id: 'job1', status: 'Succeeded' });
  });

  it('returns a non-JSON body as text', () => {
    const secret = newSigningSecret();
    const headers = signWebhook({ id: 'msg_3', timestamp: now, body: 'Hello world', secrets: [secret] });
    assert.equal(verifyWebhook(secret, { ...headers, 'content-type': 'text/plain' }, 'Hello world', { now }), 'Hello world');
  });

  it('verifies during key rotation: several signatures, several keys, either side holding either key', () => {
    const [oldKey, newKey, other] = [newSigningSecret(), newSigningSecret(), newSigningSecret()];
    const headers = signWebhook({ id: 'msg_4', timestamp: now, body, secrets: [newKey, oldKey] });
    assert.equal(headers['webhook-signature'].split(' ').length, 2);
    assert.ok(verifyWebhook(oldKey, headers, body, { now }));
    assert.ok(verifyWebhook([other, newKey], headers, body, { now }));
    assert.throws(() => verifyWebhook(other, headers, body, { now }), refused('WEBHOOK_INVALID_SIGNATURE'));
  });

  it("verifies a callback's raw secret (seed 000's secret=) as its UTF-8 bytes", () => {
    const headers = signWebhook({ id: 'msg_5', timestamp: now, body, secrets: ['s3cret'] });
    assert.ok(verifyWebhook('s3cret', headers, body, { now }));
  });

  it('verifies v1a ed25519 signatures with the whpk_ public key, and refuses them with an HMAC key', () => {
    const { signer } = newEd25519Signer();
    const headers = signWebhook({ id: 'msg_6', timestamp: now, body, secrets: [], ed25519: signer });
    assert.match(headers['webhook-signature'], /^v1a,/);
    assert.ok(verifyWebhook(signer.publicKey, headers, body, { now }));
    assert.throws(() => verifyWebhook(newSigningSecret(), headers, body, { now }), refused('WEBHOOK_INVALID_SIGNATURE'));
    const otherKey = newEd25519Signer().signer.publicKey;
    assert.throws(() => verifyWebhook(otherKey, headers, body, { now }), refused('WEBHOOK_INVALID_SIGNATURE'));
  });

  it('refuses tampering: body, id, timestamp or signature changed', () => {
    const secret = newSigningSecret();
    const { signer } = newEd25519Signer();
    const headers = signWebhook({ id: 'msg_7', timestamp: now, body, secrets: [secret], ed25519: signer });
    for (const key of [secret, signer.publicKey]) {
      assert.throws(() => verifyWebhook(key, headers, body.replace('Succeeded', 'Failed'), { now }), refused('WEBHOOK_INVALID_SIGNATURE'));
      assert.throws(() => verifyWebhook(key, { ...headers, 'webhook-id': 'msg_8' }, body, { now }), refused('WEBHOOK_INVALID_SIGNATURE'));
      assert.throws(() => verifyWebhook(key, { ...headers, 'webhook-timestamp': String(now + 1) }, body, { now }), refused('WEBHOOK_INVALID_SIGNATURE'));
      const flipped = headers['webhook-signature'].replace(/,(.)/g, (_, c: string) => `,${c === 'A' ? 'B' : 'A'}`);
      assert.throws(() => verifyWebhook(key, { ...headers, 'webhook-signature': flipped }, body, { now }), refused('WEBHOOK_INVALID_SIGNATURE'));
      assert.throws(() => verifyWebhook(key, { ...headers, 'webhook-signature': 'v2,abc garbage' }, body, { now }), refused('WEBHOOK_INVALID_SIGNATURE'));
    }
  });

  it('checks the timestamp tolerance both ways (default 5 minutes, configurable)', () => {
    const secret = newSigningSecret();
    const headers = signWebhook({ id: 'msg_9', timestamp: now, body, secrets: [secret] });
    assert.ok(verifyWebhook(secret, headers, body, { now: now + 300 }));
    assert.throws(() => verifyWebhook(secret, headers, body, { now: now + 301 }), refused('WEBHOOK_TIMESTAMP_TOO_OLD'));
    assert.throws(() => verifyWebhook(secret, headers, body, { now: now - 301 }), refused('WEBHOOK_TIMESTAMP_TOO_NEW'));
    assert.ok(verifyWebhook(secret, headers, body, { now: now + 3000, toleranceSeconds: 3600 }));
    assert.throws(() => verifyWebhook(secret, headers, body, { now: now + 11, toleranceSeconds: 10 }), refused('WEBHOOK_TIMESTAMP_TOO_OLD'));
    // The real clock: a delivery signed an hour ago is stale.
    const stale = signWebhook({ id: 'msg_10', timestamp: Math.floor(Date.now() / 1000) - 3600, body, secrets: [secret] });
    assert.throws(() => verifyWebhook(secret, stale, body), refused('WEBHOOK_TIMESTAMP_TOO_OLD'));
  });

  it('refuses missing headers and malformed timestamps; throws TypeError for a key that is not a key', () => {
    const secret = newSigningSecret();
    const headers = signWebhook({ id: 'msg_11', timestamp: now, body, secrets: [secret] });
    assert.throws(() => verifyWebhook(secret, { 'webhook-id': 'x' }, body, { now }), refused('WEBHOOK_MISSING_HEADERS'));
    assert.throws(() => verifyWebhook(secret, { ...headers, 'webhook-timestamp': '1e9' }, body, { now }), refused('WEBHOOK_INVALID_TIMESTAMP'));
    assert.throws(() => verifyWebhook([], headers, body, { now }), refused('WEBHOOK_NO_KEY'));
    assert.throws(() => verifyWebhook('whsec_!!!', headers, body, { now }), TypeError);
    assert.throws(() => verifyWebhook('whpk_AAAA', headers, body, { now }), TypeError);
  });

  it('reads header names in any case and repeated signature fields (node:http arrays)', () => {
    const secret = newSigningSecret();
    const h = signWebhook({ id: 'msg_12', timestamp: now, body, secrets: [secret] });
    const headers = { 'Webhook-Id': h['webhook-id'], 'WEBHOOK-TIMESTAMP': h['webhook-timestamp'], 'webhook-signature': ['v1,bogus', h['webhook-signature']] };
    assert.ok(verifyWebhook(secret, headers, body, { now }));
  });
});
