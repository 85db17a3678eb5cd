import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import { UrlBuilder } from '../resource/urls.js';
import { AdminAccess } from './admin-access.js';
import { crossSiteRefusal, SESSION_MS, sessionCookie, Sessions, sessionSetCookie } from './session.js';

const KEY = 'session-key-for-tests-0123456789abcdef';
const ADMIN = 'admin-token-0123456789';
const VIEWER = 'viewer-token-0123456789';
const NOW = 1_800_000_000_000;

/** Just enough of a request for the checks: headers, method, a plain (not TLS) socket. */
function req(method: string, headers: Record<string, string>): IncomingMessage {
  return { method, headers, socket: {} } as unknown as IncomingMessage;
}

test('a session cookie grants the role it was issued for, until it expires', () => {
  const sessions = new Sessions(KEY, { admin: ADMIN, viewer: VIEWER });
  const admin = sessions.issue('admin', NOW);
  assert.equal(sessions.verify(admin, NOW), 'admin');
  assert.equal(sessions.verify(admin, NOW + SESSION_MS - 1), 'admin');
  assert.equal(sessions.verify(admin, NOW + SESSION_MS), undefined, 'expired at 12 h');
  assert.equal(sessions.verify(sessions.issue('viewer', NOW), NOW), 'viewer');
});

test('a tampered cookie grants nothing: another role, a later expiry, a changed MAC, garbage', () => {
  const sessions = new Sessions(KEY, { admin: ADMIN, viewer: VIEWER });
  const viewer = sessions.issue('viewer', NOW);
  const [, expires, mac] = viewer.split('.');
  assert.equal(sessions.verify(`admin.${expires}.${mac}`, NOW), undefined, 'promoted to admin');
  assert.equal(sessions.verify(`viewer.${Number(expires) + SESSION_MS}.${mac}`, NOW + SESSION_MS), undefined, 'extended');
  const flipped = mac!.slice(0, -1) + (mac!.endsWith('A') ? 'B' : 'A');
  assert.equal(sessions.verify(`viewer.${expires}.${flipped}`, NOW), undefined, 'one character of the MAC');
  for (const junk of ['', 'viewer', 'viewer..', `viewer.${expires}`, `root.${expires}.${mac}`, `${viewer}x`]) assert.equal(sessions.verify(junk, NOW), undefined, junk);
  // Another key (another store) does not accept it either.
  assert.equal(new Sessions('another-key-0123456789abcdefghij', { admin: ADMIN, viewer: VIEWER }).verify(viewer, NOW), undefined);
});

test('changing a token ends the sessions made with it, and only those', () => {
  const before = new Sessions(KEY, { admin: ADMIN, viewer: VIEWER });
  const admin = before.issue('admin', NOW);
  const viewer = before.issue('viewer', NOW);
  const after = new Sessions(KEY, { admin: 'a-new-admin-token-0123456789', viewer: VIEWER });
  assert.equal(after.verify(admin, NOW), undefined);
  assert.equal(after.verify(viewer, NOW), 'viewer');
  // A role whose token is no longer configured at all.
  assert.equal(new Sessions(KEY, { admin: ADMIN }).verify(viewer, NOW), undefined);
  assert.throws(() => new Sessions(KEY, { admin: ADMIN }).issue('viewer'), /no viewer token/);
});

test('the cookie: read from Cookie among others; Set-Cookie is HttpOnly, SameSite=Strict, on the prefix, Secure over https', () => {
  assert.equal(sessionCookie(req('GET', { cookie: 'a=1; asyncgate_session=viewer.1.x ; b=2' })), 'viewer.1.x');
  assert.equal(sessionCookie(req('GET', { cookie: 'xasyncgate_session=1' })), undefined);
  assert.equal(sessionCookie(req('GET', {})), undefined);
  const set = sessionSetCookie('v', { path: '/_async', secure: false, maxAgeMs: SESSION_MS });
  assert.equal(set, 'asyncgate_session=v; Path=/_async; Max-Age=43200; HttpOnly; SameSite=Strict');
  assert.match(sessionSetCookie('v', { path: '/_async', secure: true, maxAgeMs: 0 }), /Max-Age=0; HttpOnly; SameSite=Strict; Secure$/);
});

test('CSRF: a state change must name this origin (Origin, else Sec-Fetch-Site: same-origin); reads are free', () => {
  const own = ['http://127.0.0.1:8080'];
  assert.equal(crossSiteRefusal(req('GET', { origin: 'http://evil.example' }), own), undefined);
  assert.equal(crossSiteRefusal(req('HEAD', {}), own), undefined);
  for (const method of ['POST', 'PUT', 'DELETE']) {
    assert.equal(crossSiteRefusal(req(method, { origin: 'http://127.0.0.1:8080' }), own), undefined);
    assert.match(crossSiteRefusal(req(method, { origin: 'http://evil.example' }), own)!, /cross-site request was refused: Origin http:\/\/evil.example/);
    assert.match(crossSiteRefusal(req(method, { origin: 'null' }), own)!, /cross-site/);
    assert.match(crossSiteRefusal(req(method, {}), own)!, /must carry Origin/);
    assert.equal(crossSiteRefusal(req(method, { 'sec-fetch-site': 'same-origin' }), own), undefined);
    assert.match(crossSiteRefusal(req(method, { 'sec-fetch-site': 'same-site' }), own)!, /cross-site/);
    // Origin wins over Sec-Fetch-Site: a same-site sibling port is still another origin.
    assert.match(crossSiteRefusal(req(method, { origin: 'http://127.0.0.1:9999', 'sec-fetch-site': 'same-origin' }), own)!, /cross-site/);
  }
});

function access(tokens: { admin?: string; viewer?: string }, publicUrl?: string): AdminAccess {
  return new AdminAccess({ adminToken: tokens.admin, viewerToken: tokens.viewer, sessionKey: KEY, urls: new UrlBuilder('/_async', publicUrl, 'localhost'), fallbackHost: 'localhost' });
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof AsyncgateError, String(error));
    return `${error.status} ${error.type}`;
  }
  return 'passed';
}

test('the gates: bearer admin or viewer; the viewer may not change things (403); CSRF only for the cookie', () => {
  const a = access({ admin: ADMIN, viewer: VIEWER });
  const host = { host: '127.0.0.1:8080' };
  assert.equal(a.identify(req('GET', { ...host, authorization: `Bearer ${VIEWER}` })).role, 'viewer');
  assert.equal(refusal(() => a.requireAdmin(req('POST', { ...host, authorization: `Bearer ${VIEWER}` }))), '403 forbidden');
  assert.equal(a.requireAdmin(req('POST', { ...host, authorization: `Bearer ${ADMIN}`, origin: 'http://evil.example' })).by, 'bearer');
  assert.equal(refusal(() => a.identify(req('GET', { ...host, authorization: 'Bearer not-the-token-at-all' }))), '401 unauthorized');
  assert.equal(refusal(() => a.identify(req('GET', host))), '401 unauthorized');

  const adminCookie = { ...host, cookie: `asyncgate_session=${a.sessions.issue('admin')}` };
  assert.equal(a.identify(req('GET', adminCookie)).by, 'session');
  assert.equal(a.requireAdmin(req('POST', { ...adminCookie, origin: 'http://127.0.0.1:8080' })).role, 'admin');
  assert.equal(refusal(() => a.requireAdmin(req('POST', { ...adminCookie, origin: 'http://evil.example' }))), '403 forbidden');
  assert.equal(refusal(() => a.requireAdmin(req('DELETE', adminCookie))), '403 forbidden');
  const viewerCookie = { ...host, cookie: `asyncgate_session=${a.sessions.issue('viewer')}`, origin: 'http://127.0.0.1:8080' };
  assert.equal(refusal(() => a.requireAdmin(req('POST', viewerCookie))), '403 forbidden');
  assert.equal(refusal(() => a.identify(req('GET', { ...host, cookie: 'asyncgate_session=admin.1.forged' }))), '401 unauthorized');
});

test('the gates: off (404) with no token; the public URL is an own origin too', () => {
  assert.equal(refusal(() => access({}).identify(req('GET', { authorization: `Bearer ${ADMIN}` }))), '404 not-found');
  assert.equal(access({}).enabled, false);
  const viewerOnly = access({ viewer: VIEWER });
  assert.equal(refusal(() => viewerOnly.requireAdmin(req('POST', { authorization: `Bearer ${VIEWER}` }))), '403 forbidden');
  assert.equal(refusal(() => viewerOnly.requireAdmin(req('POST', { authorization: `Bearer ${ADMIN}` }))), '401 unauthorized');
  const behind = access({ admin: ADMIN }, 'https://ops.example.com');
  assert.deepEqual(behind.ownOrigins(req('POST', { host: '10.0.0.5:8080' })), ['https://ops.example.com', 'http://10.0.0.5:8080']);
  assert.equal(behind.secure(req('POST', { host: '10.0.0.5:8080' })), true);
  assert.equal(access({ admin: ADMIN }).secure(req('POST', { host: '10.0.0.5:8080' })), false);
  assert.equal(access({ admin: ADMIN }).secure(req('POST', { host: 'x', 'x-forwarded-proto': 'https' })), true);
});
