import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Engine } from '../engine/engine.js';
import { isJobId, sameOwner } from '../engine/ids.js';
import { credentialOwner } from '../engine/owner.js';
import { suggestedPollSeconds } from '../engine/poll-interval.js';
import { asProblem } from '../errors/as-problem.js';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import { TERMINAL_STATES, type Job } from '../model.js';
import { ifNoneMatchMatches } from '../protocol/etag.js';
import { formatLink } from '../protocol/link.js';
import { parsePrefer, preferredWait } from '../protocol/prefer.js';
import { formatContentRange, parseRange } from '../protocol/range.js';
import { EventStreams, lastEventId } from './event-stream.js';
import { PollGate } from './poll-gate.js';
import { httpDate, maxAge, replayResult } from '../resource/replay.js';
import { jobEtag, representation } from '../resource/representation.js';
import { sendJson, type Headers } from '../resource/respond.js';
import type { UrlBuilder } from '../resource/urls.js';

export interface JobRoutesOptions {
  /** Register a callback after submission (SPEC §2, seed 003's "webhook registration link"). */
  registerCallback: (req: IncomingMessage, job: Job) => Promise<Record<string, unknown>>;
  engine: Engine;
  urls: UrlBuilder;
  ownerSalt: string;
  ownerHeader: string | undefined;
  maxWaitMs: number;
  minPollIntervalMs: number;
  /** Interval of the event streams' `: keep-alive` comments. */
  heartbeatMs: number;
  retentionMs: number;
}

/**
 * asyncgate's own job endpoints (SPEC §2): monitor, long poll, result replay, cancel, delete. Every one
 * checks the caller's credentials against the job's owner and answers 404 on mismatch (existence is not
 * revealed).
 */
export class JobRoutes {
  private readonly pollGate: PollGate;
  readonly streams: EventStreams;

  constructor(private readonly o: JobRoutesOptions) {
    this.pollGate = new PollGate(o.minPollIntervalMs);
    this.streams = new EventStreams(o.engine.events, o.heartbeatMs);
  }

  /** Route `/jobs/{id}[/sub]` (path relative to the prefix). Returns false when nothing matched. */
  async handle(req: IncomingMessage, res: ServerResponse, rest: string): Promise<boolean> {
    const m = /^\/jobs\/([^/]+)(\/[a-z]+)?$/.exec(rest);
    if (!m) return false;
    const id = m[1]!;
    const sub = m[2] ?? '';
    const method = req.method ?? 'GET';
    const allow = (methods: string[]) => {
      if (!methods.includes(method)) {
        throw new AsyncgateError('method-not-allowed', `use ${methods.join(' or ')}`, { headers: { allow: methods.join(', ') } });
      }
    };
    switch (sub) {
      case '':
        allow(['GET', 'HEAD', 'DELETE']);
        if (method === 'DELETE') await this.remove(req, res, id);
        else await this.monitor(req, res, id, method === 'HEAD');
        return true;
      case '/events':
        allow(['GET']);
        await this.eventStream(req, res, id);
        return true;
      case '/result':
        allow(['GET', 'HEAD']);
        await this.result(req, res, id, method === 'HEAD');
        return true;
      case '/cancel':
        allow(['POST']);
        await this.cancel(req, res, id);
        return true;
      case '/callbacks': {
        allow(['POST']);
        const job = await this.load(req, id);
        const created = await this.o.registerCallback(req, job);
        sendJson(res, 201, created, { 'cache-control': 'no-store' });
        return true;
      }
      default:
        return false;
    }
  }

  /** Load a job the caller may see, or throw the 404 / 410 problem. */
  private async load(req: IncomingMessage, id: string): Promise<Job> {
    if (!isJobId(id)) throw new AsyncgateError('job-not-found');
    const job = await this.o.engine.getJob(id);
    if (!job) {
      if (await this.o.engine.hasTombstone(id)) throw new AsyncgateError('job-gone');
      throw new AsyncgateError('job-not-found');
    }
    // Expired but not yet swept: gone all the same, so expiry does not depend on the sweeper's pace.
    if (job.expiresAt !== null && job.expiresAt <= Date.now()) throw new AsyncgateError('job-gone');
    if (!sameOwner(job.owner, credentialOwner(req.headers, this.o.ownerSalt, this.o.ownerHeader))) {
      throw new AsyncgateError('job-not-found');
    }
    return job;
  }

  private async monitor(req: IncomingMessage, res: ServerResponse, id: string, head: boolean): Promise<void> {
    let job = await this.load(req, id);
    const waitMs = this.longPollMs(req);
    if (waitMs > 0 && !TERMINAL_STATES.has(job.state)) {
      // Long poll: from the version the client holds (If-None-Match) or the current one.
      const since = ifNoneMatchMatches(req.headers['if-none-match'], jobEtag(job)) || !req.headers['if-none-match'];
      if (since) {
        const closed = new AbortController();
        res.once('close', () => closed.abort());
        const changed = await this.o.engine.waitForChange(id, job.version, waitMs, closed.signal);
        if (!changed) throw new AsyncgateError(await this.o.engine.hasTombstone(id) ? 'job-gone' : 'job-not-found');
        job = changed;
      }
    } else if (!this.pollGate.allow(id, Date.now())) {
      const retry = Math.ceil(this.o.minPollIntervalMs / 1000);
      throw new AsyncgateError('poll-too-soon', `poll at most every ${retry} s`, { headers: { 'retry-after': String(retry) } });
    }
    const urls = this.o.urls.job(req, id);
    const now = Date.now();
    const terminal = TERMINAL_STATES.has(job.state);
    const headers: Headers = { etag: jobEtag(job), vary: 'Prefer', link: formatLink(urls.events, { rel: 'events' }) };
    if (terminal) {
      headers['cache-control'] = `private, max-age=${maxAge(job, now)}`;
    } else {
      headers['cache-control'] = 'private, no-cache';
      headers['retry-after'] = String(suggestedPollSeconds(job, now));
    }
    if (terminal && job.options.redirectWhenDone) {
      // seed 004 says 301; 303 See Other is RFC 9110's "the answer is elsewhere" (README explains).
      res.writeHead(303, { location: urls.result, expires: httpDate(job.expiresAt ?? now), ...headers, 'content-length': 0 });
      res.end();
      return;
    }
    if (ifNoneMatchMatches(req.headers['if-none-match'], jobEtag(job))) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    sendJson(res, 200, representation(job, urls), headers, head);
  }

  /**
   * The event stream: the same authorisation as the monitor; no minimum poll interval, since one stream
   * replaces a series of polls (as a long poll does).
   */
  private async eventStream(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const stream = this.streams.attach(id, lastEventId(req.headers['last-event-id']));
    let job: Job;
    try {
      job = await this.load(req, id);
    } catch (error) {
      stream.close();
      throw error;
    }
    stream.start(res, job, this.o.urls.job(req, id));
  }

  private longPollMs(req: IncomingMessage): number {
    const wait = asProblem('invalid-prefer', () => preferredWait(parsePrefer(req.headers.prefer)));
    return wait === undefined ? 0 : Math.min(wait * 1000, this.o.maxWaitMs);
  }

  private async result(req: IncomingMessage, res: ServerResponse, id: string, head: boolean): Promise<void> {
    const job = await this.load(req, id);
    const now = Date.now();
    if (!TERMINAL_STATES.has(job.state)) {
      const retry = String(suggestedPollSeconds(job, now));
      throw new AsyncgateError('result-not-ready', `the job is ${job.state}; poll ${this.o.urls.job(req, id).self}`, {
        headers: { 'retry-after': retry },
      });
    }
    if (!job.response) {
      const type = job.state === 'canceled' ? 'job-canceled' : 'job-failed';
      throw new AsyncgateError(type, job.error?.message, { members: { error: job.error } });
    }
    // Ranges only of a successful 2xx result (RFC 9110 §14.2: a server may ignore Range), and only while
    // If-Range still names this job's result.
    const size = job.response.size;
    const wanted = job.response.status >= 200 && job.response.status < 300 && ifRangeHolds(req, job) ? req.headers.range : undefined;
    const decision = parseRange(wanted, size);
    const extra: Headers = { 'accept-ranges': 'bytes' };
    if (!storedHeader(job, 'etag')) extra.etag = resultEtag(job);
    if (decision.kind === 'unsatisfiable') {
      throw new AsyncgateError('range-not-satisfiable', `the result is ${size} bytes`, {
        headers: { 'content-range': formatContentRange(null, size) },
        members: { size },
      });
    }
    const range = decision.kind === 'range' ? decision.range : undefined;
    await replayResult(res, job, this.o.engine.readResult(id, range), head, now, extra, range);
  }

  private async cancel(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    let job = await this.load(req, id);
    if (!TERMINAL_STATES.has(job.state)) job = (await this.o.engine.cancel(id, job.options.retentionMs)) ?? job;
    const body = representation(job, this.o.urls.job(req, id));
    if (job.state === 'succeeded' || job.state === 'failed') {
      throw new AsyncgateError('job-already-finished', `the job has already ${job.state}`, { members: { job: body } });
    }
    sendJson(res, 200, body, { etag: jobEtag(job), 'cache-control': 'no-store' });
  }

  private async remove(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    await this.load(req, id);
    await this.o.engine.delete(id);
    res.writeHead(204, { 'cache-control': 'no-store' });
    res.end();
  }
}

/** A stored response header's value (first of its name), if the upstream sent it. */
function storedHeader(job: Job, name: string): string | undefined {
  return job.response?.headers.find(([n]) => n.toLowerCase() === name)?.[1];
}

/** The result's validator: the upstream's ETag if it gave one, else ours — a stored result never changes. */
function resultEtag(job: Job): string {
  return storedHeader(job, 'etag') ?? `"result-${job.id}"`;
}

/**
 * RFC 9110 §13.1.5: a Range applies only if `If-Range` (when present) still matches — a strong ETag compared
 * exactly, or the exact Last-Modified date the upstream gave. Otherwise the whole result is sent.
 */
function ifRangeHolds(req: IncomingMessage, job: Job): boolean {
  const condition = req.headers['if-range'];
  if (condition === undefined) return true;
  const value = String(condition).trim();
  if (value.startsWith('"')) return value === resultEtag(job);
  return value === storedHeader(job, 'last-modified');
}
