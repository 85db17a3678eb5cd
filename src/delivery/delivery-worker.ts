import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { JobUrls } from '../resource/urls.js';
import { SpanKind, endSpan, errorType, jobTraceId, outgoingTraceparent, startExecutionSpan } from '../engine/job-trace.js';
import { PUSH_MODE, type Delivery, type Job, type PushSubscription, type TraceExecution } from '../model.js';
import { parseRetryAfter } from '../protocol/retry-after.js';
import { ClaimLoop } from '../shared/claim-loop.js';
import { collect } from '../shared/pieces.js';
import type { CallbackHandoff } from '../engine/callback-handoff.js';
import type { DeliveryLease, DeliveryNext, JobStore } from '../store/port.js';
import type { Metrics } from '../telemetry/metrics.js';
import { SSRF_ERROR_CODE } from './ssrf.js';
import { buildCallback, type CallbackRequest } from './payload.js';
import { sealPush, subscriptionEnded, type PushOptions } from './push/push-message.js';
import { judgeAttempt, nextDelayMs } from './schedule.js';
import { signWebhookOffThread, type Ed25519Signer } from './signing.js';
import { sendCallback } from './send.js';
import { qstashCallback } from './qstash-callback.js';
import type { UpstashKeys } from './upstash-signature.js';
import { Slots } from './slots.js';

export interface DeliveryOptions {
  workerId: string;
  /** Attempts in flight at once in this process, and per receiving host. */
  concurrency: number;
  perHost: number;
  leaseMs: number;
  pollMs: number;
  timeoutMs: number;
  schedule: readonly number[];
  /** The server's signing secrets (each signs: more than one during a rotation); see useSecrets. */
  secrets: readonly string[];
  ed25519: Ed25519Signer | undefined;
  /** Absolute monitor URLs of a job, from the origin it was accepted on. */
  urlsFor: (job: Job) => JobUrls;
  /** How a callback attempt's span relates to its job's accept span (docs/operations/tracing.md). */
  tracing: TraceExecution;
  metrics: Metrics;
  /** VAPID keys and message options of `push` deliveries (docs/push.md); absent: they fail. */
  push?: PushOptions;
  /** The owners' `Upstash-Signature` keys, for the callbacks of QStash messages (docs/qstash.md). */
  upstash?: UpstashKeys;
}

const SNIPPET_BYTES = 256;
const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/** A finished job and its stored result, in hand when the completion handed its callbacks over. */
interface Known {
  job: Job;
  /** null: not in memory (stored in pieces), read it from the store. */
  result: Uint8Array | null;
}

interface Held {
  delivery: Delivery;
  known: Known;
}

/**
 * Delivers callbacks of finished jobs: claims due deliveries (first attempts before retries, a bounded number
 * per host so one slow receiver never holds up the others), signs each attempt (Standard Webhooks, the same
 * webhook-id every time), sends it through the SSRF-guarded agent, and records the attempt and what comes next.
 */
export class DeliveryWorker implements CallbackHandoff {
  private readonly slots: Slots<Held>;
  private readonly loop: ClaimLoop<Delivery>;
  private readonly running = new Set<Promise<void>>();
  /** Cut the exchanges in flight (shutdown, after the grace period). */
  private readonly cuts = new Set<(reason: Error) => void>();
  /** The grace period ended: exchanges still in flight were cut, and go unrecorded. */
  private cutOff = false;
  /** The per-host counts the last claim was bounded by. */
  private claimedWith: Record<string, number> = {};
  private secrets: readonly string[];

  constructor(
    private readonly store: JobStore,
    private readonly agent: Dispatcher,
    private readonly options: DeliveryOptions,
    private readonly log: Logger,
  ) {
    this.secrets = options.secrets;
    this.slots = new Slots(options.concurrency, options.perHost);
    this.loop = new ClaimLoop<Delivery>({
      pollMs: options.pollMs,
      capacity: () => this.slots.free,
      claim: (n) => {
        this.claimedWith = this.slots.inflightByHost();
        return store.claimDeliveries(options.workerId, n, Date.now(), options.leaseMs, options.perHost, this.claimedWith);
      },
      launch: (d) => {
        this.slots.take(d.host);
        this.begin(d);
      },
      onError: (error) => log.error({ err: error }, 'claiming deliveries failed; will retry'),
      // Fewer than asked may also mean a host had more than the room it was given: keep looking then.
      exhausted: (items) => tookAllDue(items, this.claimedWith, options.perHost),
    });
  }

  start(): void {
    this.loop.start();
  }

  /** Stop claiming; give attempts in flight `graceMs` to finish, then abort them unrecorded (their leases are
   * handed back by the store, so they are attempted again, with the same webhook-id). Held callbacks are
   * not started: their leases are handed back the same way. */
  async stop(graceMs = 5_000): Promise<void> {
    this.loop.stop();
    this.slots.dropHeld();
    const timer = setTimeout(() => {
      this.cutOff = true;
      for (const cut of this.cuts) cut(new Error('shutting down'));
    }, graceMs);
    await Promise.allSettled([...this.running]);
    clearTimeout(timer);
  }

  /** Look for due deliveries now (a job just finished, a callback was registered, an operator redelivered). */
  /** Sign from now on with these secrets (a rotation started or finished while the server runs). */
  useSecrets(secrets: readonly string[]): void {
    this.secrets = secrets;
  }

  lookForWork(): void {
    this.loop.lookForWork();
  }

  /** A slot freed: start a held callback, or claim if the store may have due ones. */
  private slotFreed(): void {
    this.startHeld();
    this.loop.slotFreed();
  }

  reserve(hosts: readonly string[]): DeliveryLease | undefined {
    if (!this.loop.running) return undefined;
    const promised: Record<string, number> = {};
    let n = 0;
    for (const host of hosts) {
      if (!this.slots.promise(host)) continue;
      promised[host] = (promised[host] ?? 0) + 1;
      n++;
    }
    return n ? { owner: this.options.workerId, leaseMs: this.options.leaseMs, hosts: promised } : undefined;
  }

  launch(lease: DeliveryLease, job: Job, result: Uint8Array | null, deliveries: readonly Delivery[]): void {
    this.release(lease);
    for (const d of deliveries) {
      const known = { job, result };
      if (this.loop.running && this.slots.canStart(d.host)) {
        this.slots.take(d.host);
        this.begin(d, known);
      } else if (this.loop.running) this.slots.hold(d.host, { delivery: d, known });
      // Stopping: leave it leased; the store hands it back with the other leases.
    }
  }

  release(lease: DeliveryLease): void {
    for (const [host, n] of Object.entries(lease.hosts)) this.slots.unpromise(host, n);
  }

  /** Start held callbacks whose host has a free slot again. */
  private startHeld(): void {
    for (let next = this.slots.nextHeld(); next; next = this.slots.nextHeld()) this.begin(next.item.delivery, next.item.known);
  }

  /** Run an attempt whose slot is already taken; `known` is the job (and result) when already in hand. */
  private begin(d: Delivery, known?: Known): void {
    // The per-host bound limits requests open at the receiver: the slot is freed as soon as the exchange
    // ends, not after the attempt is recorded (that commit is our cost, not the receiver's).
    let holdsHost = true;
    const releaseHost = (): void => {
      if (!holdsHost) return;
      holdsHost = false;
      this.slots.freeHost(d.host);
      this.slotFreed();
    };
    const p = this.attempt(d, releaseHost, known)
      .catch((error: unknown) =>
        this.log.error({ err: error, delivery_id: d.id, job_id: d.jobId, trace_id: known && jobTraceId(known.job) }, 'delivery attempt crashed'),
      )
      .finally(() => {
        this.slots.done();
        releaseHost();
        this.running.delete(p);
        this.slotFreed();
      });
    this.running.add(p);
  }

  private async attempt(d: Delivery, releaseHost: () => void, known?: Known): Promise<void> {
    const job = known ? known.job : await this.store.getJob(d.jobId);
    const started = Date.now();
    if (!job) {
      this.options.metrics.delivery(d.mode, 'failed', null, started);
      await this.record(d, started, { status: null, error: 'the job no longer exists', snippet: null }, { state: 'failed' });
      return;
    }
    // A push message is sealed for its subscription (RFC 8291) and carries a VAPID JWT instead of signatures.
    let sub: PushSubscription | undefined;
    let call: CallbackRequest;
    if (d.mode === PUSH_MODE) {
      sub = (await this.store.pushSubscriptions.of(job.owner)).find((s) => s.endpoint === d.url);
      if (!sub || !this.options.push) {
        this.options.metrics.delivery(d.mode, 'failed', null, started);
        await this.record(d, started, { status: null, error: 'the push subscription was removed', snippet: null }, { state: 'gone' });
        return;
      }
      call = sealPush(sub, job, this.options.urlsFor(job), this.options.push);
    } else if (d.mode === 'qstash-callback' || d.mode === 'qstash-failure-callback') {
      const result = job.response ? await this.resultOf(job, known) : null;
      const built = this.options.upstash ? await qstashCallback(d, job, result, this.options.upstash) : null;
      if (!built) {
        // A failure callback of a message that did not fail: nothing to send, ever.
        await this.record(d, started, { status: null, error: `not sent: the message ${job.state}`, snippet: null }, { state: 'gone' });
        return;
      }
      call = built;
    } else call = await this.signedCallback(d, job, started, known);
    // The job's trace, on every attempt (the signature covers the body, not these); a push service is no
    // part of it.
    const span = startExecutionSpan(job, this.options.tracing, 'asyncgate callback', SpanKind.CLIENT);
    const traceparent = sub ? undefined : outgoingTraceparent(job, this.options.tracing, span);
    if (traceparent) {
      call.headers.traceparent = traceparent;
      if (job.options.trace!.tracestate) call.headers.tracestate = job.options.trace!.tracestate;
    }
    if (span?.isRecording()) {
      const target = new URL(d.url);
      target.username = target.password = '';
      span.setAttributes({
        'http.request.method': call.method,
        'url.full': target.href,
        'server.address': target.hostname,
        'server.port': Number(target.port) || (target.protocol === 'https:' ? 443 : 80),
        'asyncgate.job.id': job.id,
        'asyncgate.delivery.id': d.id,
        'asyncgate.attempt': d.attempts + 1,
      });
    }
    let status: number | undefined;
    let retryAfterMs: number | undefined;
    let snippet: string | null = null;
    let error: string | null = null;
    let timedOut = false;
    let refused = false;
    let cut: ((reason: Error) => void) | undefined;
    try {
      // undici's own timers bound the wait for the answer and for each piece of it.
      const reply = await sendCallback(
        this.agent,
        d.url,
        { method: call.method, headers: call.headers, body: call.method === 'GET' ? undefined : call.body, timeoutMs: this.options.timeoutMs, keep: SNIPPET_BYTES },
        (c) => {
          cut = c;
          this.cuts.add(c);
        },
      );
      status = reply.status;
      retryAfterMs = parseRetryAfter(reply.retryAfter);
      snippet = reply.snippet;
    } catch (e) {
      timedOut = TIMEOUTS.has((e as { code?: string }).code ?? '');
      refused = isRefusal(e);
      endSpan(span, { error: timedOut ? 'timeout' : errorType(e) });
      if (this.cutOff) return; // shutting down: not the receiver's fault, not recorded
      error = timedOut ? `no answer within ${this.options.timeoutMs} ms` : describe(e);
    } finally {
      if (cut) this.cuts.delete(cut);
    }
    if (status !== undefined) endSpan(span, { status });
    releaseHost();
    // RFC 8030 §7.3: a push service's 404 or 410 ends the subscription itself, not only this delivery.
    const ended = sub !== undefined && subscriptionEnded(status);
    const verdict = ended ? ({ kind: 'gone' } as const) : judgeAttempt(status, retryAfterMs, timedOut);
    if (ended) await this.store.pushSubscriptions.delete(sub!.id, sub!.owner);
    const outcome = verdict.kind === 'delivered' || verdict.kind === 'gone' ? verdict.kind : timedOut ? 'timeout' : refused ? 'refused' : 'failed';
    this.options.metrics.delivery(d.mode, outcome, job.finishedAt, Date.now());
    let next: DeliveryNext;
    if (verdict.kind === 'delivered') next = { state: 'delivered' };
    else if (verdict.kind === 'gone') next = { state: 'gone' };
    else {
      const delay = nextDelayMs(this.options.schedule, d.round + 1, verdict);
      next = delay === undefined ? { state: 'failed' } : { state: 'pending', nextAttemptAt: Date.now() + delay };
    }
    if (status !== undefined && verdict.kind === 'retry') error = `the receiver answered ${status}`;
    await this.record(d, started, { status: status ?? null, error, snippet }, next);
    // A delivered callback is the everyday case (the admin API lists every attempt): debug, not one info line
    // per callback. Retries are info, dead letters warn.
    const level = next.state === 'failed' ? 'warn' : next.state === 'delivered' ? 'debug' : 'info';
    this.log[level]({ delivery_id: d.id, job_id: d.jobId, trace_id: jobTraceId(job), url: d.url, status, error, next: next.state }, 'callback attempt');
  }

  /** A callback's request, signed (Standard Webhooks): the stored result read when its mode carries it. */
  private async signedCallback(d: Delivery, job: Job, started: number, known?: Known): Promise<CallbackRequest> {
    const needsBody = (d.mode === 'response' || d.mode === 'status') && job.response !== null;
    const result = needsBody ? await this.resultOf(job, known) : null;
    const call = buildCallback(d, job, this.options.urlsFor(job), result);
    const secrets = d.secret ? [d.secret, ...this.secrets] : [...this.secrets];
    Object.assign(
      call.headers,
      await signWebhookOffThread({ id: d.id, timestamp: Math.floor(started / 1000), body: call.body, secrets, ed25519: this.options.ed25519 }),
    );
    return call;
  }

  /** A finished job's stored result: in hand when the completion handed it over, else read from the store. */
  private async resultOf(job: Job, known?: Known): Promise<Buffer> {
    const inHand = known?.result;
    return inHand ? Buffer.from(inHand.buffer, inHand.byteOffset, inHand.byteLength) : collect(this.store.readResult(job.id));
  }

  private async record(
    d: Delivery,
    started: number,
    r: { status: number | null; error: string | null; snippet: string | null },
    next: DeliveryNext,
  ): Promise<void> {
    const ok = await this.store.recordAttempt(
      { deliveryId: d.id, n: d.attempts + 1, at: started, latencyMs: Date.now() - started, ...r },
      d.leaseToken,
      next,
    );
    if (!ok) this.log.warn({ delivery_id: d.id, job_id: d.jobId }, 'delivery lease lost; attempt not recorded');
  }
}

/** Did a claim bounded per host (`perHost` minus what `inflight` had running) take everything due? Not if a
 * host had no room, or got as many as its room: it may have more. */
function tookAllDue(items: readonly Delivery[], inflight: Readonly<Record<string, number>>, perHost: number): boolean {
  for (const n of Object.values(inflight)) if (n >= perHost) return false;
  const got = new Map<string, number>();
  for (const d of items) got.set(d.host, (got.get(d.host) ?? 0) + 1);
  for (const [host, n] of got) if (n >= perHost - (inflight[host] ?? 0)) return false;
  return true;
}


/** The connection was refused: by the receiver (nothing listens), or by the SSRF guard (the address is not allowed). */
function isRefusal(e: unknown): boolean {
  const err = e as { code?: string; cause?: { code?: string } };
  return [err.code, err.cause?.code].some((code) => code === 'ECONNREFUSED' || code === SSRF_ERROR_CODE);
}

function describe(e: unknown): string {
  const err = e as { message?: string; cause?: { message?: string; code?: string }; code?: string };
  const code = err.code ?? err.cause?.code;
  return [err.message, err.cause?.message, code].filter(Boolean).join(': ').slice(0, 500);
}
