import type { Job } from '../model.js';
import { collect } from '../shared/pieces.js';
import { messageNotFound, sendQstashJson, sendQstashOk } from './answer.js';
import type { QstashCall, QstashDeps, QstashRoute } from './api.js';
import { dlqView, messageLog, messageView, type LogEntry } from './message-view.js';
import { countOf, filterOf, scanMessages } from './scan.js';

const PENDING = ['queued', 'running'] as const;
const DEAD = ['failed'] as const;
const EVERY = ['queued', 'running', 'succeeded', 'failed', 'canceled'] as const;
/** The bytes of a dead letter's last answer shown in a DLQ list. */
const RESPONSE_SHOWN = 64 * 1024;

/**
 * Messages, the DLQ, logs and signing keys (docs/qstash.md): `GET|DELETE /v2/messages/{id}`, `DELETE /v2/messages`,
 * `GET /v2/dlq`, `DELETE /v2/dlq[/{id}]`, `POST /v2/dlq/retry[/{id}]`, `GET /v2/events` (also `/v2/logs`),
 * `GET /v2/keys`, `POST /v2/keys/rotate`. A message is the owner's job of the `qstash` dialect; any other id is 404.
 * A DLQ entry is a message that failed after its last retry, and its dlqId is its message id.
 */
export function messageRoutes(deps: QstashDeps): QstashRoute[] {
  const { engine, store } = deps;

  async function ownMessage(call: QstashCall, id: string): Promise<Job> {
    const job = await engine.getJob(id);
    if (!job || job.dialect !== 'qstash' || job.owner !== call.owner) throw messageNotFound();
    return job;
  }

  async function cancel(job: Job): Promise<boolean> {
    const after = await engine.cancel(job.id, deps.publish.retentionMs);
    return after?.state === 'canceled' && job.state !== 'canceled';
  }

  async function retry(ids: readonly string[]): Promise<Array<{ messageId: string }>> {
    const out: Array<{ messageId: string }> = [];
    for (const id of ids) if ((await engine.retry(id))?.retried) out.push({ messageId: id });
    if (out.length) deps.lookForDeliveries();
    return out;
  }

  async function firstBytes(job: Job): Promise<Uint8Array | null> {
    if (!job.response || job.response.size === 0) return null;
    return collect(store.readResult(job.id, { start: 0, end: Math.min(job.response.size, RESPONSE_SHOWN) - 1 }));
  }

  const logs: QstashRoute['handle'] = async (call) => {
    const count = countOf(call.query, 100);
    const filter = filterOf(call.query);
    const cursor = call.query.get('cursor') || undefined;
    const page = await scanMessages(store, call.owner, EVERY, filter, count, cursor);
    const events: LogEntry[] = [];
    for (const job of page.jobs) events.push(...messageLog(job, await store.historyOf(job.id)));
    sendQstashJson(call.res, { events, ...(page.cursor ? { cursor: page.cursor } : {}) });
  };

  return [
    {
      method: 'GET',
      path: /^messages\/([^/]+)$/,
      name: 'message',
      async handle(call) {
        sendQstashJson(call.res, messageView(await ownMessage(call, call.params[0]!)));
      },
    },
    {
      method: 'DELETE',
      path: /^messages\/([^/]+)$/,
      name: 'cancel',
      async handle(call) {
        const job = await ownMessage(call, call.params[0]!);
        // Only a pending message can be canceled; one delivered or dead-lettered is not pending any more.
        if (job.state !== 'queued' && job.state !== 'running') throw messageNotFound('pending message');
        sendQstashJson(call.res, { cancelled: (await cancel(job)) ? 1 : 0 });
      },
    },
    {
      method: 'DELETE',
      path: /^messages$/,
      name: 'cancel many',
      async handle(call) {
        // Every matching pending message, in pages (the SDK's `count` is ignored, as QStash does).
        const filter = filterOf(call.query);
        let cancelled = 0;
        let cursor: string | undefined;
        do {
          const page = await scanMessages(store, call.owner, PENDING, filter, 1000, cursor);
          for (const job of page.jobs) if (await cancel(job)) cancelled++;
          cursor = page.cursor;
        } while (cursor);
        sendQstashJson(call.res, { cancelled });
      },
    },
    {
      method: 'GET',
      path: /^dlq$/,
      name: 'dlq',
      async handle(call) {
        const page = await scanMessages(store, call.owner, DEAD, filterOf(call.query), countOf(call.query, 100), call.query.get('cursor') || undefined);
        const messages = [];
        for (const job of page.jobs) messages.push(dlqView(job, await firstBytes(job)));
        sendQstashJson(call.res, { messages, ...(page.cursor ? { cursor: page.cursor } : {}) });
      },
    },
    {
      method: 'DELETE',
      path: /^dlq\/([^/]+)$/,
      name: 'dlq delete',
      async handle(call) {
        const job = await ownMessage(call, call.params[0]!);
        if (job.state !== 'failed') throw messageNotFound('DLQ entry');
        await engine.delete(job.id);
        sendQstashOk(call.res);
      },
    },
    {
      method: 'DELETE',
      path: /^dlq$/,
      name: 'dlq delete many',
      async handle(call) {
        const page = await scanMessages(store, call.owner, DEAD, filterOf(call.query), countOf(call.query, 100), call.query.get('cursor') || undefined);
        let deleted = 0;
        for (const job of page.jobs) if (await engine.delete(job.id)) deleted++;
        sendQstashJson(call.res, { deleted, ...(page.cursor ? { cursor: page.cursor } : {}) });
      },
    },
    {
      method: 'POST',
      path: /^dlq\/retry\/([^/]+)$/,
      name: 'dlq retry',
      async handle(call) {
        const job = await ownMessage(call, call.params[0]!);
        if (job.state !== 'failed') throw messageNotFound('DLQ entry');
        const [done] = await retry([job.id]);
        if (!done) throw messageNotFound('DLQ entry');
        sendQstashJson(call.res, done);
      },
    },
    {
      method: 'POST',
      path: /^dlq\/retry$/,
      name: 'dlq retry many',
      async handle(call) {
        const page = await scanMessages(store, call.owner, DEAD, filterOf(call.query), countOf(call.query, 100), call.query.get('cursor') || undefined);
        const responses = await retry(page.jobs.map((j) => j.id));
        sendQstashJson(call.res, { responses, ...(page.cursor ? { cursor: page.cursor } : {}) });
      },
    },
    { method: 'GET', path: /^events$/, name: 'logs', handle: logs },
    { method: 'GET', path: /^logs$/, name: 'logs', handle: logs },
    {
      method: 'GET',
      path: /^keys$/,
      name: 'keys',
      async handle(call) {
        sendQstashJson(call.res, await deps.keys.of(call.owner));
      },
    },
    {
      method: 'POST',
      path: /^keys\/rotate$/,
      name: 'keys rotate',
      async handle(call) {
        sendQstashJson(call.res, await deps.keys.rotate(call.owner));
      },
    },
  ];
}
