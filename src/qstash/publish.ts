import { AsyncgateError } from '../errors/asyncgate-error.js';
import { checkCallbackUrl } from '../delivery/callback-url.js';
import { CallbackPolicyError, type CallbackPolicy } from '../delivery/ssrf.js';
import { newDeliveryId, sha256 } from '../engine/ids.js';
import type { HeaderPairs, MessageOptions, NewJob } from '../model.js';
import { hopByHopNames } from '../protocol/hop-by-hop.js';
import {
  UpstashHeaderError,
  compileRetryDelay,
  parseFlowControlValue,
  parseLabels,
  parseNotBefore,
  parseRetries,
  parseUpstashDuration,
} from '../protocol/upstash-headers.js';
import { invalidMessage } from './answer.js';
import { flowControlKey, NAME, queueKey } from './group-keys.js';

/** What every message of a QStash API shares, from the settings. */
export interface PublishSettings {
  /** A message's timeout when it names none (--timeout). */
  timeoutMs: number;
  retentionMs: number;
  /** The SSRF guard's policy, for destinations and callbacks alike (--allow-callback-hosts). */
  policy: CallbackPolicy;
}

/** Who publishes, and when. */
export interface Publisher {
  owner: string | null;
  now: number;
  callerIp?: string;
}

/** Where a message goes beside its destination: the URL group (and endpoint), the queue, the schedule. */
export interface Placement {
  urlGroup?: string;
  endpointName?: string;
  queue?: string;
  scheduleId?: string;
  /** The Idempotency-Key of a schedule's fire (one message per fire, whichever process fires it), in place of
   * the message's own deduplication. */
  fireKey?: string;
}

/** QStash's default number of retries. */
export const DEFAULT_RETRIES = 3;
const METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS']);
const FORWARD = 'upstash-forward-';
/** Never forwarded: they describe this hop (framing, the connection), not the message. */
const NOT_FORWARDED = new Set([...hopByHopNames(undefined), 'content-length', 'host']);

/** A message's request headers (lower-case names) as sent: a request's own, or a batch entry's. */
export type MessageHeaders = Record<string, string>;

/**
 * Build the job of one message to `destination` (an absolute URL) from the `Upstash-*` headers QStash's API
 * takes (docs/qstash.md#publishing): method, delay / not-before, retries and retry delay, timeout, callback
 * and failure callback, deduplication id or content-based deduplication, `Upstash-Forward-*` headers, flow
 * control (recorded; docs/qstash.md#compatibility), labels. Throws `invalid-message` (400) naming the header
 * at fault, or `destination-refused` (400) when the SSRF guard refuses a URL.
 */
export function messageJob(m: MessageDraft): NewJob {
  try {
    return build(m);
  } catch (error) {
    if (error instanceof UpstashHeaderError) throw invalidMessage(`${error.header}: ${error.message}`);
    throw error;
  }
}

/** One message to build: where to, its headers (lower-case names) and body, who publishes, where it goes. */
export interface MessageDraft {
  destination: string;
  headers: MessageHeaders;
  body: Buffer | null;
  who: Publisher;
  settings: PublishSettings;
  place: Placement;
  /** The new job's id, in the shard its Idempotency-Key or group names (Engine.newJobId). */
  newId: (idempotencyKey: string | undefined, group: string | undefined) => string;
}

function build({ destination, headers: h, body, who, settings, place, newId }: MessageDraft): NewJob {
  const url = guardedUrl(destination, 'destination', settings.policy);
  const method = (h['upstash-method'] ?? 'POST').toUpperCase();
  if (!METHODS.has(method)) throw invalidMessage(`Upstash-Method: ${JSON.stringify(method.slice(0, 20))} is not an HTTP method asyncgate sends (GET, POST, PUT, DELETE, PATCH)`);
  const forwarded = forwardedOf(h);
  const delay = h['upstash-delay'] === undefined ? 0 : parseUpstashDuration(h['upstash-delay'], 'Upstash-Delay');
  const notBefore = h['upstash-not-before'] === undefined ? who.now + delay : Math.max(parseNotBefore(h['upstash-not-before']), who.now);
  const retries = h['upstash-retries'] === undefined ? DEFAULT_RETRIES : parseRetries(h['upstash-retries']);
  const retryDelay = h['upstash-retry-delay'];
  if (retryDelay !== undefined) compileRetryDelay(retryDelay); // refused now, not at its first retry
  const timeoutMs = h['upstash-timeout'] === undefined ? settings.timeoutMs : parseUpstashDuration(h['upstash-timeout'], 'Upstash-Timeout');
  if (timeoutMs <= 0) throw invalidMessage('Upstash-Timeout: must be more than 0s');
  const flowControl = flowControlOf(h);
  const labels = h['upstash-label'] === undefined ? undefined : parseLabels(h['upstash-label']);
  const message: MessageOptions = { destination: url };
  if (retryDelay !== undefined) message.retryDelay = retryDelay;
  if (notBefore > who.now) message.notBefore = notBefore;
  if (labels?.length) message.labels = labels;
  if (who.callerIp) message.callerIp = who.callerIp;
  if (flowControl) message.flowControl = flowControl;
  const { fireKey, ...placed } = place;
  Object.assign(message, placed);
  if (place.queue !== undefined && !NAME.test(place.queue)) throw invalidMessage(`the queue name ${JSON.stringify(place.queue.slice(0, 40))} must be 1 to 100 of A-Z a-z 0-9 . _ -`);
  // A queue's order and parallelism govern its messages; a flow-control key bounds the others.
  const group = place.queue !== undefined ? queueKey(who.owner, place.queue) : flowControl ? flowControlKey(who.owner, flowControl.key) : undefined;
  const callbacks: NonNullable<NewJob['callbacks']> = [];
  const callback = h['upstash-callback'];
  const failureCallback = h['upstash-failure-callback'];
  if (callback !== undefined) message.callback = guardedUrl(callback, 'Upstash-Callback', settings.policy);
  if (failureCallback !== undefined) message.failureCallback = guardedUrl(failureCallback, 'Upstash-Failure-Callback', settings.policy);
  const key = fireKey ?? dedupKey(h, url, method, forwarded, body, place);
  const id = newId(key, group);
  if (message.callback) callbacks.push({ id: newDeliveryId(id), url: message.callback, method: 'POST', mode: 'qstash-callback', secret: null });
  if (message.failureCallback) {
    callbacks.push({ id: newDeliveryId(id), url: message.failureCallback, method: 'POST', mode: 'qstash-failure-callback', secret: null });
  }
  return {
    id,
    dialect: 'qstash',
    owner: who.owner,
    idempotencyKey: key ?? null,
    requestHash: sha256(method, url, body),
    request: { method, url, headers: forwarded, body: body && body.byteLength > 0 ? body : null },
    options: { timeoutMs, retryable: true, maxAttempts: retries + 1, retentionMs: settings.retentionMs, message },
    createdAt: who.now,
    ...(notBefore > who.now ? { runAt: notBefore } : {}),
    ...(group ? { group } : {}),
    callbacks,
  };
}

/** An absolute http(s) URL the SSRF guard lets through, as given: it is what the signature's `sub` names, and
 * every later parse of it finds the host that was judged. */
export function guardedUrl(url: string, what: string, policy: CallbackPolicy): string {
  try {
    checkCallbackUrl(url, policy);
    return url;
  } catch (error) {
    if (error instanceof CallbackPolicyError) {
      const reason = error.message.replace(/^callback URL/, 'URL');
      throw new AsyncgateError(/refused/.test(reason) ? 'destination-refused' : 'invalid-message', `${what}: ${reason}`);
    }
    throw error;
  }
}

/** The headers a message sends its destination: its Content-Type, and its `Upstash-Forward-*` ones without the
 * prefix (never one that frames this hop). */
export function forwardedOf(h: MessageHeaders): HeaderPairs {
  const out: HeaderPairs = [];
  for (const [name, value] of Object.entries(h)) {
    if (name === 'content-type') out.push([name, value]);
    else if (name.startsWith(FORWARD) && name.length > FORWARD.length && !NOT_FORWARDED.has(name.slice(FORWARD.length))) out.push([name.slice(FORWARD.length), value]);
  }
  return out;
}

/** `Upstash-Flow-Control-Key` with its `Upstash-Flow-Control-Value` (one needs the other). */
function flowControlOf(h: MessageHeaders): MessageOptions['flowControl'] {
  const key = h['upstash-flow-control-key'];
  const value = h['upstash-flow-control-value'];
  if (key === undefined && value === undefined) return undefined;
  if (key === undefined || !NAME.test(key)) throw invalidMessage('Upstash-Flow-Control-Key: 1 to 100 of A-Z a-z 0-9 . _ -, with Upstash-Flow-Control-Value');
  if (value === undefined) throw invalidMessage('Upstash-Flow-Control-Value: parallelism=N, rate=N, period=DURATION (at least one of parallelism and rate)');
  return { key, ...parseFlowControlValue(value) };
}

/** The Idempotency-Key a message is deduplicated by: its `Upstash-Deduplication-Id`, or a hash of what it sends
 * (`Upstash-Content-Based-Deduplication: true`); per endpoint of a URL group. undefined: none. */
function dedupKey(h: MessageHeaders, url: string, method: string, forwarded: HeaderPairs, body: Buffer | null, place: Placement): string | undefined {
  const id = h['upstash-deduplication-id'];
  const scope = place.urlGroup ? `\n${place.urlGroup}\n${url}` : '';
  if (id !== undefined) {
    if (id === '' || id.length > 256) throw invalidMessage('Upstash-Deduplication-Id: must be 1 to 256 characters');
    return `qstash-dedup:${id}${scope}`;
  }
  if (h['upstash-content-based-deduplication'] === 'true') {
    const sorted = forwarded.map(([n, v]) => `${n}:${v}`).sort();
    return `qstash-content:${sha256(method, url, ...sorted, body)}${scope}`;
  }
  return undefined;
}
