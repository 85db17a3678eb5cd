/**
 * Web Push (docs/push.md): the VAPID public key a page subscribes with, and the caller's push subscriptions.
 * A subscription belongs to the credentials that registered it (the owner hash jobs have): a job that asks for
 * a push goes to its owner's subscriptions, and no caller sees or removes another's.
 */
import type { IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { CallbackPolicy } from '../delivery/ssrf.js';
import type { VapidKeys } from '../delivery/push/vapid.js';
import { credentialOwner } from '../engine/owner.js';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import { readBody } from '../intake/body.js';
import { allowed } from '../intake/negotiate.js';
import type { PushSubscription } from '../model.js';
import { sendJson } from '../resource/respond.js';
import type { JsonSchema } from '../shared/json-schema.js';
import type { JobStore } from '../store/port.js';
import type { PrefixRoute } from './route-table.js';

export interface PushRouteOptions {
  store: JobStore;
  vapid: VapidKeys;
  /** The SSRF guard: a push service's endpoint is an outbound URL like any callback's. */
  policy: CallbackPolicy;
  ownerSalt: string;
  ownerHeader: string | undefined;
}

/** Subscriptions one owner may have: each finished job asking for a push sends one message to each. */
export const MAX_PUSH_SUBSCRIPTIONS = 20;

const B64URL = /^[A-Za-z0-9_-]+={0,2}$/;

export function pushRoutes(o: PushRouteOptions): PrefixRoute[] {
  const ownerOf = (req: IncomingMessage) => credentialOwner(req.headers, o.ownerSalt, o.ownerHeader);
  return [
    {
      methods: ['GET', 'HEAD'],
      path: '/push-key',
      access: 'public',
      summary: 'The VAPID public key push subscriptions are made with (applicationServerKey)',
      responses: { 200: { description: 'The key, base64url (RFC 8292 §3.2)', content: { 'application/json': PUSH_KEY_SCHEMA } } },
      async handle({ req, res }) {
        sendJson(res, 200, { publicKey: o.vapid.publicKey }, { 'cache-control': 'public, max-age=300' }, req.method === 'HEAD');
      },
    },
    {
      methods: ['POST'],
      path: '/push-subscriptions',
      access: 'public',
      summary: "Register a browser's push subscription for the caller's credentials",
      description: 'Jobs these credentials submit with `Asyncgate-Push: on` (or the route\'s pushBodyField) send it a message when done.',
      body: { mediaType: 'application/json', schema: SUBSCRIPTION_INPUT_SCHEMA, example: EXAMPLE_SUBSCRIPTION },
      responses: { 201: { description: 'Registered (a subscription of the same endpoint before is replaced)', content: { 'application/json': SUBSCRIPTION_SCHEMA } } },
      problems: ['invalid-push-subscription', 'callback-refused', 'too-many-push-subscriptions', 'body-too-large'],
      async handle({ req, res }) {
        const owner = ownerOf(req);
        const input = parseSubscription(await readBody(req, 8 * 1024), o.policy);
        const mine = await o.store.pushSubscriptions.of(owner);
        if (mine.length >= MAX_PUSH_SUBSCRIPTIONS && !mine.some((s) => s.endpoint === input.endpoint)) {
          throw new AsyncgateError('too-many-push-subscriptions', `these credentials already have ${mine.length} push subscriptions, the most they may have`, {
            members: { maxPushSubscriptions: MAX_PUSH_SUBSCRIPTIONS },
          });
        }
        const sub: PushSubscription = { id: `push_${randomBytes(12).toString('base64url')}`, owner, ...input, createdAt: Date.now() };
        await o.store.pushSubscriptions.add(sub);
        sendJson(res, 201, view(sub), { 'cache-control': 'no-store' });
      },
    },
    {
      methods: ['GET'],
      path: '/push-subscriptions',
      access: 'public',
      summary: "The caller's push subscriptions, oldest first",
      responses: { 200: { description: 'Only those the same credentials registered', content: { 'application/json': SUBSCRIPTION_LIST_SCHEMA } } },
      async handle({ req, res }) {
        const subs = await o.store.pushSubscriptions.of(ownerOf(req));
        sendJson(res, 200, { subscriptions: subs.map(view) }, { 'cache-control': 'no-store' });
      },
    },
    {
      methods: ['DELETE'],
      path: '/push-subscriptions/:id',
      access: 'public',
      summary: 'Remove one of the caller\'s push subscriptions',
      params: { id: { description: 'The subscription id (`push_…`)', schema: { type: 'string' } } },
      responses: { 204: { description: 'Removed' } },
      problems: ['push-subscription-not-found'],
      async handle({ req, res, params }) {
        if (!(await o.store.pushSubscriptions.delete(params.id ?? '', ownerOf(req)))) throw new AsyncgateError('push-subscription-not-found');
        res.writeHead(204, { 'cache-control': 'no-store' }).end();
      },
    },
  ];
}

const view = (s: PushSubscription) => ({ id: s.id, endpoint: s.endpoint, created_at: new Date(s.createdAt).toISOString() });

/** A PushSubscription's JSON (PushSubscription.toJSON()): the endpoint and its keys, checked. */
function parseSubscription(raw: Buffer | null, policy: CallbackPolicy): Pick<PushSubscription, 'endpoint' | 'p256dh' | 'auth'> {
  const bad = (why: string) => new AsyncgateError('invalid-push-subscription', why);
  let input: unknown;
  try {
    input = JSON.parse(raw?.toString('utf8') ?? '');
  } catch {
    throw bad('send the JSON of a PushSubscription: {"endpoint": "https://…", "keys": {"p256dh": "…", "auth": "…"}}');
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw bad('send a JSON object: {"endpoint": …, "keys": {…}}');
  const { endpoint, keys } = input as { endpoint?: unknown; keys?: unknown };
  if (typeof endpoint !== 'string') throw bad('"endpoint" must be the push service URL');
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw bad('"endpoint" must be an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw bad('"endpoint" must be an http(s) URL');
  if (url.username || url.password) throw bad('"endpoint" must not carry credentials');
  if (typeof keys !== 'object' || keys === null) throw bad('"keys" must hold "p256dh" and "auth"');
  const { p256dh, auth } = keys as { p256dh?: unknown; auth?: unknown };
  // RFC 8291 §3.1–3.2: an uncompressed P-256 point and a 16-byte authentication secret.
  const point = typeof p256dh === 'string' && B64URL.test(p256dh) ? Buffer.from(p256dh, 'base64url') : undefined;
  if (!point || point.length !== 65 || point[0] !== 0x04) throw bad('"keys.p256dh" must be an uncompressed P-256 public key, base64url (65 bytes)');
  const secret = typeof auth === 'string' && B64URL.test(auth) ? Buffer.from(auth, 'base64url') : undefined;
  if (!secret || secret.length !== 16) throw bad('"keys.auth" must be a 16-byte secret, base64url');
  return { endpoint: allowed(endpoint, policy, 'endpoint'), p256dh: point.toString('base64url'), auth: secret.toString('base64url') };
}

const EXAMPLE_SUBSCRIPTION = {
  endpoint: 'https://push.example/send/abc123',
  keys: {
    p256dh: 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM',
    auth: 'tBHItJI5svbpez7KI4CCXg',
  },
};

const PUSH_KEY_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['publicKey'],
  additionalProperties: false,
  properties: { publicKey: { type: 'string', description: 'The uncompressed P-256 public key, base64url: pass it to pushManager.subscribe as applicationServerKey' } },
};

const SUBSCRIPTION_INPUT_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['endpoint', 'keys'],
  properties: {
    endpoint: { type: 'string', format: 'uri', description: 'The push service URL; the SSRF guard must allow it' },
    expirationTime: { type: ['number', 'null'] },
    keys: {
      type: 'object',
      required: ['p256dh', 'auth'],
      properties: {
        p256dh: { type: 'string', description: "The browser's P-256 public key, base64url (RFC 8291 §3.1)" },
        auth: { type: 'string', description: 'The 16-byte authentication secret, base64url (RFC 8291 §3.2)' },
      },
    },
  },
};

const SUBSCRIPTION_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['id', 'endpoint', 'created_at'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', description: 'The subscription id, for DELETE' },
    endpoint: { type: 'string', format: 'uri' },
    created_at: { type: 'string', format: 'date-time' },
  },
};

const SUBSCRIPTION_LIST_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['subscriptions'],
  additionalProperties: false,
  properties: { subscriptions: { type: 'array', items: SUBSCRIPTION_SCHEMA } },
};
