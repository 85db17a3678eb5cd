import type { JobGroupRecord } from '../store/port.js';
import { invalidMessage, messageNotFound, sendQstashJson, sendQstashOk } from './answer.js';
import type { QstashCall, QstashDeps, QstashRoute } from './api.js';
import { jsonObject } from './body-json.js';
import { NAME, nameOf, queueKey, queuePrefix } from './group-keys.js';

/** The most messages of one queue delivered at once. */
const MAX_PARALLELISM = 1000;

/** A queue as QStash shows it. */
const queueView = (g: JobGroupRecord) => ({ name: nameOf(g.key), parallelism: g.parallelism, lag: g.lag, paused: g.paused, createdAt: g.createdAt, updatedAt: g.updatedAt });

/**
 * Queues (docs/qstash.md#queues): `POST /v2/queues` (upsert, with parallelism and paused), `GET /v2/queues[/{name}]`,
 * `DELETE /v2/queues/{name}` (its pending messages are canceled), `POST /v2/queues/{name}/pause|resume`. A queue is
 * a FIFO job group of the owner's: its messages are delivered in the order they were enqueued, at most
 * `parallelism` at once, and one waiting for a retry holds back those after it.
 */
export function queueRoutes(deps: QstashDeps): QstashRoute[] {
  const { store, engine } = deps;
  const own = async (call: QstashCall) => {
    const name = call.params[0]!;
    const g = await store.group(queueKey(call.owner, name));
    if (!g) throw messageNotFound(`queue ${JSON.stringify(name.slice(0, 100))}`);
    return g;
  };
  const setPaused = async (call: QstashCall, paused: boolean) => {
    const g = await own(call);
    await store.putGroup({ key: g.key, parallelism: g.parallelism, fifo: true, paused }, Date.now());
    if (!paused) engine.groupChanged();
    sendQstashOk(call.res);
  };
  return [
    {
      method: 'POST',
      path: /^queues$/,
      name: 'queue upsert',
      async handle(call) {
        const shape = '{"queueName": "…", "parallelism": 1, "paused": false}';
        const { queueName, parallelism = 1, paused = false } = jsonObject(await call.body(), shape);
        if (typeof queueName !== 'string' || !NAME.test(queueName)) throw invalidMessage(`queueName: 1 to 100 of A-Z a-z 0-9 . _ - (${shape})`);
        if (typeof parallelism !== 'number' || !Number.isInteger(parallelism) || parallelism < 1 || parallelism > MAX_PARALLELISM) {
          throw invalidMessage(`parallelism: a whole number from 1 to ${MAX_PARALLELISM}`);
        }
        if (typeof paused !== 'boolean') throw invalidMessage('paused: true or false');
        await store.putGroup({ key: queueKey(call.owner, queueName), parallelism, fifo: true, paused }, Date.now());
        engine.groupChanged();
        sendQstashOk(call.res);
      },
    },
    {
      method: 'GET',
      path: /^queues$/,
      name: 'queues',
      async handle(call) {
        sendQstashJson(call.res, (await store.groups(queuePrefix(call.owner))).map(queueView));
      },
    },
    {
      method: 'GET',
      path: /^queues\/([^/]+)$/,
      name: 'queue',
      async handle(call) {
        sendQstashJson(call.res, queueView(await own(call)));
      },
    },
    {
      method: 'DELETE',
      path: /^queues\/([^/]+)$/,
      name: 'queue delete',
      async handle(call) {
        const g = await own(call);
        // Its pending messages go with it (canceled, so their records say what happened).
        for (;;) {
          const pending = [
            ...(await store.listJobs({ group: g.key, state: 'queued', limit: 500 })),
            ...(await store.listJobs({ group: g.key, state: 'running', limit: 500 })),
          ];
          if (pending.length === 0) break;
          let canceled = 0;
          for (const job of pending) if ((await engine.cancel(job.id, deps.publish.retentionMs))?.state === 'canceled') canceled++;
          if (canceled === 0) break;
        }
        await store.deleteGroup(g.key);
        sendQstashOk(call.res);
      },
    },
    { method: 'POST', path: /^queues\/([^/]+)\/pause$/, name: 'queue pause', handle: (call) => setPaused(call, true) },
    { method: 'POST', path: /^queues\/([^/]+)\/resume$/, name: 'queue resume', handle: (call) => setPaused(call, false) },
  ];
}
