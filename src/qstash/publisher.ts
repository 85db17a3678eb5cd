import { AsyncgateError } from '../errors/asyncgate-error.js';
import type { NewJob } from '../model.js';
import { messageNotFound } from './answer.js';
import type { QstashDeps } from './api.js';
import { flowControlKey, queueKey } from './group-keys.js';
import { messageJob, type MessageHeaders, type Placement } from './publish.js';

/** A published message's answer: its id and destination; `deduplicated` when an earlier one had its key. */
export interface Published {
  messageId: string;
  url: string;
  deduplicated?: boolean;
}

/** Flow control with only a rate leaves parallelism unbounded, as far as a group goes. */
const UNBOUNDED = 10_000;

/** A publish request, from the API or a schedule's fire. */
export interface PublishRequest {
  owner: string | null;
  destination: string;
  headers: MessageHeaders;
  body: Buffer | null;
  place: Placement;
  callerIp?: string;
}

/**
 * Publishing (docs/qstash.md#publishing): one message to a URL, or one per endpoint of a URL group, each committed
 * as a job before the answer leaves. A queue's messages run in its group (FIFO, the queue's parallelism; a queue
 * named for the first time is made with parallelism 1); a flow-control key's in theirs, whose bounds each message
 * restates (as QStash's do).
 */
export class Publisher {
  constructor(private readonly deps: QstashDeps) {}

  /** Judge every message of the request (nothing is committed): the jobs to accept. */
  async draft(r: PublishRequest): Promise<{ jobs: NewJob[]; fanOut: boolean }> {
    if (/^https?:\/\//i.test(r.destination)) return { jobs: [this.one(r, r.destination, r.place)], fanOut: false };
    if (/^api\//.test(r.destination)) throw new AsyncgateError('not-supported', 'the LLM and email APIs are not offered by asyncgate (docs/qstash.md#compatibility)');
    const group = await this.deps.store.messaging.urlGroup(r.owner, r.destination);
    if (!group || group.endpoints.length === 0) throw messageNotFound(`URL group ${JSON.stringify(r.destination.slice(0, 100))}`);
    const jobs = group.endpoints.map((e) =>
      this.one(r, e.url, {
        ...r.place,
        urlGroup: group.name,
        ...(e.name ? { endpointName: e.name } : {}),
        ...(r.place.fireKey ? { fireKey: `${r.place.fireKey}\n${e.url}` } : {}),
      }),
    );
    return { jobs, fanOut: true };
  }

  /** Commit drafted jobs, in order (their groups' records first). */
  async accept(jobs: readonly NewJob[]): Promise<Published[]> {
    const out: Published[] = [];
    for (const job of jobs) {
      await this.prepareGroup(job);
      const { job: stored, created } = await this.deps.engine.accept(job);
      const p: Published = { messageId: stored.id, url: stored.options.message?.destination ?? stored.request.url };
      if (!created) p.deduplicated = true;
      out.push(p);
    }
    return out;
  }

  private one(r: PublishRequest, url: string, place: Placement): NewJob {
    return messageJob({
      destination: url,
      headers: r.headers,
      body: r.body,
      who: { owner: r.owner, now: Date.now(), ...(r.callerIp ? { callerIp: r.callerIp } : {}) },
      settings: this.deps.publish,
      place,
      newId: (key, group) => this.deps.engine.newJobId(r.owner, key, group),
    });
  }

  private async prepareGroup(job: NewJob): Promise<void> {
    const m = job.options.message;
    if (!job.group || !m) return;
    const { store } = this.deps;
    if (m.queue !== undefined) {
      if (!(await store.group(job.group))) await store.putGroup({ key: queueKey(job.owner, m.queue), parallelism: 1, fifo: true, paused: false }, Date.now());
      return;
    }
    const fc = m.flowControl;
    if (!fc) return;
    const key = flowControlKey(job.owner, fc.key);
    await store.putGroup(
      {
        key,
        parallelism: fc.parallelism ?? UNBOUNDED,
        fifo: false,
        ...(fc.rate !== undefined ? { rate: fc.rate, periodMs: fc.periodMs ?? 1000 } : {}),
        paused: false,
      },
      Date.now(),
    );
    this.deps.engine.groupChanged();
  }
}
