import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { newEd25519Signer, signWebhook } from '../delivery/signing.js';
import { isValidSecret, newSigningSecret } from '../protocol/standard-webhooks.js';
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
    assert.throws(() => verifyWebhook(other, headers, body, { now }), refused('webhook-invalid-signature'));
  });

  it("verifies a callback's raw secret (the Callback header's secret=) as its UTF-8 bytes", () => {
    const headers = signWebhook({ id: 'msg_5', timestamp: now, body, secrets: ['s3cret'] });
    assert.ok(verifyWebhook('s3cret', headers, body, { now }));
  });

  it('verifies v1a ed25519 signatures with the whpk_ public key, and refuses them with an HMAC key', () => {
    const { signer } = newEd25519Signer();
    const headers = signWebhook({ id: 'msg_6', timestamp: now, body, secrets: [], ed25519: signer });
    assert.match(headers['webhook-signature'], /^v1a,/);
    assert.ok(verifyWebhook(signer.publicKey, headers, body, { now }));
    assert.throws(() => verifyWebhook(newSigningSecret(), headers, body, { now }), refused('webhook-invalid-signature'));
    const otherKey = newEd25519Signer().signer.publicKey;
    assert.throws(() => verifyWebhook(otherKey, headers, body, { now }), refused('webhook-invalid-signature'));
  });

  it('refuses tampering: body, id, timestamp or signature changed', () => {
    const secret = newSigningSecret();
    const { signer } = newEd25519Signer();
    const headers = signWebhook({ id: 'msg_7', timestamp: now, body, secrets: [secret], ed25519: signer });
    for (const key of [secret, signer.publicKey]) {
      assert.throws(() => verifyWebhook(key, headers, body.replace('Succeeded', 'Failed'), { now }), refused('webhook-invalid-signature'));
      assert.throws(() => verifyWebhook(key, { ...headers, 'webhook-id': 'msg_8' }, body, { now }), refused('webhook-invalid-signature'));
      assert.throws(() => verifyWebhook(key, { ...headers, 'webhook-timestamp': String(now + 1) }, body, { now }), refused('webhook-invalid-signature'));
      const flipped = headers['webhook-signature'].replace(/,(.)/g, (_, c: string) => `,${c === 'A' ? 'B' : 'A'}`);
      assert.throws(() => verifyWebhook(key, { ...headers, 'webhook-signature': flipped }, body, { now }), refused('webhook-invalid-signature'));
      assert.throws(() => verifyWebhook(key, { ...headers, 'webhook-signature': 'v2,abc garbage' }, body, { now }), refused('webhook-invalid-signature'));
    }
  });

  it('checks the timestamp tolerance both ways (default 5 minutes, configurable)', () => {
    const secret = newSigningSecret();
    const headers = signWebhook({ id: 'msg_9', timestamp: now, body, secrets: [secret] });
    assert.ok(verifyWebhook(secret, headers, body, { now: now + 300 }));
    assert.throws(() => verifyWebhook(secret, headers, body, { now: now + 301 }), refused('webhook-timestamp-too-old'));
    assert.throws(() => verifyWebhook(secret, headers, body, { now: now - 301 }), refused('webhook-timestamp-too-new'));
    assert.ok(verifyWebhook(secret, headers, body, { now: now + 3000, toleranceSeconds: 3600 }));
    assert.throws(() => verifyWebhook(secret, headers, body, { now: now + 11, toleranceSeconds: 10 }), refused('webhook-timestamp-too-old'));
    // The real clock: a delivery signed an hour ago is stale.
    const stale = signWebhook({ id: 'msg_10', timestamp: Math.floor(Date.now() / 1000) - 3600, body, secrets: [secret] });
    assert.throws(() => verifyWebhook(secret, stale, body), refused('webhook-timestamp-too-old'));
  });

  it('refuses missing headers and malformed timestamps; throws TypeError for a key that is not a key', () => {
    const secret = newSigningSecret();
    const headers = signWebhook({ id: 'msg_11', timestamp: now, body, secrets: [secret] });
    assert.throws(() => verifyWebhook(secret, { 'webhook-id': 'x' }, body, { now }), refused('webhook-missing-headers'));
    assert.throws(() => verifyWebhook(secret, { ...headers, 'webhook-timestamp': '1e9' }, body, { now }), refused('webhook-invalid-timestamp'));
    assert.throws(() => verifyWebhook([], headers, body, { now }), refused('webhook-no-key'));
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

/** true when verifyWebhook accepts, false when it refuses (WebhookVerificationError); anything else is thrown. */
function accepts(keys: readonly string[], headers: Record<string, string | undefined>, payload: Uint8Array | string, nowSec: number, toleranceSeconds?: number): boolean {
  try {
    verifyWebhook(keys, headers, payload, { now: nowSec, ...(toleranceSeconds !== undefined ? { toleranceSeconds } : {}) });
    return true;
  } catch (error) {
    if (error instanceof WebhookVerificationError) return false;
    throw error;
  }
}

describe('verifyWebhook against signWebhook and the package', () => {
  const secret = newSigningSecret();
  const ts = 1_700_000_000;
  const text = '{"type":"job.completed","data":{"id":"0AbC_-x"}}';
  const headers = signWebhook({ id: 'msg_v', timestamp: ts, body: text, secrets: [secret] });

  it('the Standard Webhooks example verifies at its time, 300 s later, and not 301 s later', () => {
    const example = { 'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek', 'webhook-timestamp': '1614265330', 'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=' };
    const key = ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'];
    assert.equal(accepts(key, example, '{"test": 2432232314}', 1614265330), true);
    assert.equal(accepts(key, example, '{"test": 2432232314}', 1614265330 + 300), true);
    assert.equal(accepts(key, example, '{"test": 2432232314}', 1614265330 + 301), false);
  });

  it('accepts a valid delivery, with header names in any case and either rotation secret', () => {
    assert.equal(accepts([secret], headers, text, ts), true);
    assert.equal(accepts([newSigningSecret(), secret], headers, Buffer.from(text), ts + 10), true);
    const upper = { 'Webhook-Id': headers['webhook-id'], 'WEBHOOK-TIMESTAMP': headers['webhook-timestamp'], 'Webhook-Signature': headers['webhook-signature'] };
    assert.equal(accepts([secret], upper, text, ts), true);
    const raw = 'my-callback-secret';
    assert.equal(accepts([raw], signWebhook({ id: 'x', timestamp: ts, body: text, secrets: [raw] }), text, ts), true);
  });

  it('accepts what the package signs, skipping a v1a entry it cannot check', () => {
    const signature = new Webhook(secret).sign('msg_p', new Date(ts * 1000), text);
    assert.equal(accepts([secret], { 'webhook-id': 'msg_p', 'webhook-timestamp': String(ts), 'webhook-signature': `v1a,xyz ${signature}` }, text, ts), true);
  });

  it('refuses a wrong secret, no secret, a tampered body/id, an expired or future timestamp', () => {
    assert.equal(accepts([newSigningSecret()], headers, text, ts), false);
    assert.equal(accepts([], headers, text, ts), false);
    assert.equal(accepts([secret], headers, `${text} `, ts), false);
    assert.equal(accepts([secret], { ...headers, 'webhook-id': 'msg_w' }, text, ts), false);
    assert.equal(accepts([secret], headers, text, ts + 301), false);
    assert.equal(accepts([secret], headers, text, ts - 301), false);
    assert.equal(accepts([secret], headers, text, ts + 60, 30), false);
  });

  it('refuses malformed headers (a refusal, never another error)', () => {
    const sig = headers['webhook-signature'];
    const cases: Record<string, string | undefined>[] = [
      {},
      { ...headers, 'webhook-id': undefined },
      { ...headers, 'webhook-timestamp': '' },
      { ...headers, 'webhook-timestamp': `${ts}.0` },
      { ...headers, 'webhook-timestamp': `${ts}abc` },
      { ...headers, 'webhook-timestamp': `-${ts}` },
      { ...headers, 'webhook-timestamp': '9'.repeat(400) },
      { ...headers, 'webhook-signature': '' },
      { ...headers, 'webhook-signature': sig.slice(3) },
      { ...headers, 'webhook-signature': sig.replace('v1,', 'v2,') },
      { ...headers, 'webhook-signature': sig.replace('v1,', 'v1a,') },
      { ...headers, 'webhook-signature': `${sig}x` },
      { ...headers, 'webhook-signature': 'v1,🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀' },
    ];
    for (const h of cases) assert.equal(accepts([secret], h, text, ts), false, JSON.stringify(h));
    assert.equal(accepts([secret], null as unknown as Record<string, string>, text, ts), false);
    assert.equal(accepts([secret], { ...headers, 'webhook-id': ['a'] as unknown as string }, text, ts), false);
    assert.throws(() => verifyWebhook([secret], headers, text, { now: Number.NaN }), TypeError, 'no freshness check without a clock');
  });

  it('property: random header strings and bodies, with any usable keys, are accepted or refused, never another error', () => {
    const field = fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('v1,', 'v1a,', ' ', 'whsec_', String(ts), headers['webhook-signature']));
    const maybe = fc.option(field, { nil: undefined });
    fc.assert(
      fc.property(
        fc.record({ 'webhook-id': maybe, 'webhook-timestamp': maybe, 'webhook-signature': maybe }),
        fc.dictionary(fc.string(), maybe),
        fc.array(field.filter((k) => isValidSecret(k) && !k.startsWith('whpk_')), { maxLength: 3 }),
        fc.oneof(fc.string({ unit: 'binary' }), fc.uint8Array()),
        (fixed, extra, keys, payload) => {
          assert.equal(typeof accepts([...keys, secret], { ...extra, ...fixed }, payload, ts), 'boolean');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('property: whatever signWebhook signs, verifyWebhook accepts under each secret, and no other body', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[\x21-\x2d\x2f-\x7e]{1,40}$/),
        fc.oneof(fc.string({ unit: 'binary' }), fc.uint8Array()),
        fc.array(
          fc.oneof(
            fc.string({ minLength: 1 }).filter((k) => !k.startsWith('whpk_') && isValidSecret(k)),
            fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => `whsec_${Buffer.from(b).toString('base64')}`),
          ),
          { minLength: 1, maxLength: 3 },
        ),
        (id, payload, secrets) => {
          const h = signWebhook({ id, timestamp: now, body: payload, secrets });
          assert.equal(accepts(secrets, h, payload, now), true);
          for (const s of secrets) assert.equal(accepts([s], h, payload, now), true);
          assert.equal(accepts(secrets, h, typeof payload === 'string' ? `${payload}.` : Buffer.concat([payload, Buffer.from('.')]), now), false);
        },
      ),
      { numRuns: 200 },
    );
  });
});
