import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { newSigningSecret, secretKey } from '../protocol/standard-webhooks.js';
import { loadEd25519Signer, newEd25519Signer, signWebhook, signWebhookOffThread } from './signing.js';

const now = (): number => Math.floor(Date.now() / 1000);
const body = '{"type":"job.completed","data":{"id":"0AbC_-x"}}';

/** The package verifies a Buffer or a string (never a bare Uint8Array) and throws when it rejects. */
function packageVerifies(secret: string, headers: Record<string, string>, payload: Uint8Array | string): boolean {
  try {
    new Webhook(secret).verify(typeof payload === 'string' ? payload : Buffer.from(payload), headers, { jsonParse: false });
    return true;
  } catch {
    return false;
  }
}

function publicKeyObject(whpk: string) {
  assert.match(whpk, /^whpk_/);
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(whpk.slice(5), 'base64').toString('base64url') }, format: 'jwk' });
}

describe('signWebhook, verified by the standardwebhooks package', () => {
  it('a whsec_ secret', () => {
    const secret = newSigningSecret();
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.equal(secretKey(secret).length, 32);
    const headers = signWebhook({ id: 'msg_1', timestamp: now(), body, secrets: [secret] });
    assert.equal(headers['webhook-id'], 'msg_1');
    assert.match(headers['webhook-signature'], /^v1,[A-Za-z0-9+/]{43}=$/);
    assert.equal(packageVerifies(secret, headers, body), true);
  });

  it('two secrets during rotation: a Webhook built with either verifies', () => {
    const [oldSecret, newSecret] = [newSigningSecret(), newSigningSecret()];
    const headers = signWebhook({ id: 'msg_2', timestamp: now(), body, secrets: [newSecret, oldSecret] });
    assert.equal(headers['webhook-signature'].split(' ').length, 2);
    assert.equal(packageVerifies(oldSecret, headers, body), true);
    assert.equal(packageVerifies(newSecret, headers, body), true);
    assert.equal(packageVerifies(newSigningSecret(), headers, body), false);
  });

  it('a raw (non-whsec) callback secret is its UTF-8 bytes; the package takes their base64', () => {
    const raw = 'correct horse battery staple — ü';
    assert.deepEqual(secretKey(raw), Buffer.from(raw, 'utf8'));
    const headers = signWebhook({ id: 'msg_3', timestamp: now(), body, secrets: [raw] });
    assert.equal(packageVerifies(Buffer.from(raw, 'utf8').toString('base64'), headers, body), true);
    assert.equal(packageVerifies(`whsec_${Buffer.from(raw, 'utf8').toString('base64')}`, headers, body), true);
  });

  it('binary (Uint8Array) and string bodies sign the same bytes', () => {
    const secret = newSigningSecret();
    const text = '{"emoji":"🦀","accent":"é"}';
    const binary = new Uint8Array(Buffer.from(text, 'utf8'));
    const ts = now();
    const fromBinary = signWebhook({ id: 'msg_4', timestamp: ts, body: binary, secrets: [secret] });
    const fromString = signWebhook({ id: 'msg_4', timestamp: ts, body: text, secrets: [secret] });
    assert.deepEqual(fromBinary, fromString);
    assert.equal(packageVerifies(secret, fromBinary, binary), true);
    assert.equal(packageVerifies(secret, fromString, text), true);
  });

  it('non-UTF-8 bodies are signed as raw bytes (the spec; the JS package would decode them first)', () => {
    const secret = newSigningSecret();
    const binary = new Uint8Array([0xff, 0x00, 0xfe, 0x80, 0x2e]);
    const headers = signWebhook({ id: 'msg_5', timestamp: 1_700_000_000, body: binary, secrets: [secret] });
    const expected = createHmac('sha256', secretKey(secret))
      .update(Buffer.concat([Buffer.from('msg_5.1700000000.'), binary]))
      .digest('base64');
    assert.equal(headers['webhook-signature'], `v1,${expected}`);
  });

  it('rejects a tampered body, a tampered id, an old or a future timestamp', () => {
    const secret = newSigningSecret();
    const headers = signWebhook({ id: 'msg_6', timestamp: now(), body, secrets: [secret] });
    assert.equal(packageVerifies(secret, headers, body.replace('0AbC', '0AbD')), false);
    assert.equal(packageVerifies(secret, { ...headers, 'webhook-id': 'msg_7' }, body), false);
    const old = signWebhook({ id: 'msg_6', timestamp: now() - 301, body, secrets: [secret] });
    assert.equal(packageVerifies(secret, old, body), false);
    const future = signWebhook({ id: 'msg_6', timestamp: now() + 400, body, secrets: [secret] });
    assert.equal(packageVerifies(secret, future, body), false);
    // One second before the signed one (not `now() - 1`: across a second boundary that is the signed one).
    assert.equal(packageVerifies(secret, { ...headers, 'webhook-timestamp': String(Number(headers['webhook-timestamp']) - 1) }, body), false);
  });

  it('the package still verifies the v1 signature when a v1a one sits beside it', () => {
    const secret = newSigningSecret();
    const headers = signWebhook({ id: 'msg_8', timestamp: now(), body, secrets: [secret], ed25519: newEd25519Signer().signer });
    assert.match(headers['webhook-signature'], /^v1,\S+ v1a,\S+$/);
    assert.equal(packageVerifies(secret, headers, body), true);
  });
});

describe('known answer (the Standard Webhooks example)', () => {
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
  const timestamp = 1614265330;
  const payload = '{"test": 2432232314}';
  const signature = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';

  it('gives the published signature', () => {
    assert.deepEqual(signWebhook({ id, timestamp, body: payload, secrets: [secret] }), {
      'webhook-id': id,
      'webhook-timestamp': '1614265330',
      'webhook-signature': signature,
    });
    assert.equal(signWebhook({ id, timestamp, body: new TextEncoder().encode(payload), secrets: [secret] })['webhook-signature'], signature);
  });

  it('agrees with the package', () => {
    assert.equal(new Webhook(secret).sign(id, new Date(timestamp * 1000), payload), signature);
  });
});

describe('v1a (ed25519)', () => {
  it('signs the same content; verifies with the published whpk_ key', () => {
    const { signer } = newEd25519Signer();
    assert.match(signer.publicKey, /^whpk_[A-Za-z0-9+/]{43}=$/);
    assert.equal(Buffer.from(signer.publicKey.slice(5), 'base64').length, 32);
    const headers = signWebhook({ id: 'msg_9', timestamp: 1_700_000_000, body, secrets: [], ed25519: signer });
    const [only, ...rest] = headers['webhook-signature'].split(' ');
    assert.equal(rest.length, 0);
    assert.match(only ?? '', /^v1a,/);
    const sig = Buffer.from((only ?? '').slice(4), 'base64');
    assert.equal(sig.length, 64);
    const content = Buffer.from(`msg_9.1700000000.${body}`, 'utf8');
    const key = publicKeyObject(signer.publicKey);
    assert.equal(verify(null, content, key, sig), true);
    assert.equal(verify(null, Buffer.from(`msg_9.1700000000.${body} `, 'utf8'), key, sig), false);
  });

  it('stored key round-trips to the same public key and the same signatures', () => {
    const { signer, stored } = newEd25519Signer();
    assert.match(stored, /^whsk_[A-Za-z0-9+/]+=*$/);
    const restored = loadEd25519Signer(stored);
    assert.equal(restored.publicKey, signer.publicKey);
    const input = { id: 'msg_10', timestamp: 1_700_000_000, body, secrets: [] };
    // ed25519 is deterministic (RFC 8032), so the restored key signs identically.
    assert.deepEqual(signWebhook({ ...input, ed25519: restored }), signWebhook({ ...input, ed25519: signer }));
  });

  it('signing off the event loop gives the same headers, and checks its input the same way', async () => {
    const { signer } = newEd25519Signer();
    const secrets = [newSigningSecret(), newSigningSecret()];
    for (const input of [
      { id: 'msg_11', timestamp: 1_700_000_000, body, secrets, ed25519: signer },
      { id: 'msg_12', timestamp: 1_700_000_001, body: Buffer.from([0xff, 0x00, 0x80]), secrets: [], ed25519: signer },
      { id: 'msg_13', timestamp: 1_700_000_002, body, secrets },
    ]) {
      assert.deepEqual(await signWebhookOffThread(input), signWebhook(input));
    }
    await assert.rejects(signWebhookOffThread({ id: 'msg.14', timestamp: 1, body, secrets }), RangeError);
    await assert.rejects(signWebhookOffThread({ id: 'msg_15', timestamp: 1, body, secrets: [] }), RangeError);
  });

  it('also loads a raw 32-byte seed or a 64-byte seed‖public key, and refuses garbage', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
    const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
    const expected = `whpk_${raw.toString('base64')}`;
    assert.equal(loadEd25519Signer(`whsk_${seed.toString('base64')}`).publicKey, expected);
    assert.equal(loadEd25519Signer(`whsk_${Buffer.concat([seed, raw]).toString('base64')}`).publicKey, expected);
    assert.throws(() => loadEd25519Signer(`whsk_${Buffer.concat([seed, Buffer.alloc(32)]).toString('base64')}`), RangeError);
    assert.throws(() => loadEd25519Signer(seed.toString('base64')), RangeError);
    assert.throws(() => loadEd25519Signer('whsk_!!!!'), RangeError);
    assert.throws(() => loadEd25519Signer(`whsk_${Buffer.alloc(48).toString('base64')}`), RangeError);
  });
});

describe('input checks', () => {
  it('secretKey refuses empty keys and non-base64 whsec_ secrets', () => {
    assert.throws(() => secretKey(''), RangeError);
    assert.throws(() => secretKey('whsec_'), RangeError);
    assert.throws(() => secretKey('whsec_not base64!'), RangeError);
    assert.throws(() => secretKey('whsec_abcde'), RangeError);
    assert.deepEqual(secretKey('whsec_AQID'), Buffer.from([1, 2, 3]));
    assert.deepEqual(secretKey('whsec_AQI'), Buffer.from([1, 2]));
  });

  it('signWebhook refuses ids with "." or non-visible characters, bad timestamps, and nothing to sign with', () => {
    const ok = { id: 'msg_1', timestamp: 1_700_000_000, body, secrets: [newSigningSecret()] };
    assert.doesNotThrow(() => signWebhook(ok));
    for (const id of ['', 'a.b', 'a b', 'a\r\nb', 'é']) assert.throws(() => signWebhook({ ...ok, id }), RangeError, id);
    for (const timestamp of [1.5, -1, Number.NaN, Number.MAX_SAFE_INTEGER + 2]) assert.throws(() => signWebhook({ ...ok, timestamp }), RangeError);
    assert.throws(() => signWebhook({ ...ok, secrets: [] }), RangeError);
    assert.throws(() => signWebhook({ ...ok, secrets: [''] }), RangeError);
  });
});
