import { randomBytes } from 'node:crypto';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import type { ScheduleRecord } from '../store/port.js';
import { CronError, parseCron } from '../protocol/cron.js';
import { invalidMessage, messageNotFound, sendQstashJson, sendQstashOk } from './answer.js';
import type { QstashCall, QstashDeps, QstashRoute } from './api.js';
import { lowerCased } from './publish-routes.js';
import type { Publisher } from './publisher.js';
import { scheduleView } from './schedule-view.js';

/** Headers of a schedule's request that are not part of the messages it makes. */
const NOT_KEPT = new Set(['authorization', 'upstash-cron', 'upstash-schedule-id', 'host', 'content-length', 'connection', 'transfer-encoding']);
const ID = /^[A-Za-z0-9._-]{1,100}$/;

/**
 * Schedules (docs/qstash.md#schedules): `POST /v2/schedules/{destination}` with `Upstash-Cron` (and the headers
 * and body of the messages it makes; `Upstash-Schedule-Id` replaces one of the owner's), `GET /v2/schedules[/{id}]`,
 * `DELETE /v2/schedules/{id}`, `PATCH /v2/schedules/{id}/pause|resume`. The Scheduler fires them.
 */
export function scheduleRoutes(deps: QstashDeps, publisher: Publisher): QstashRoute[] {
  const { messaging } = deps.store;
  const own = async (call: QstashCall) => {
    const s = await messaging.schedule(call.owner, call.params[0]!);
    if (!s) throw messageNotFound('schedule');
    return s;
  };
  const view = (s: ScheduleRecord) => scheduleView(s, deps.engine);
  // Resumed, it fires next at its cron's next time from now, not for the times it was paused.
  const setPaused = async (call: QstashCall, paused: boolean) => {
    const s = await own(call);
    const now = Date.now();
    await messaging.setSchedulePaused(call.owner, s.id, paused, now, ...(paused ? [] : [parseCron(s.cron).nextAfter(now)]));
    sendQstashOk(call.res);
  };
  return [
    {
      method: 'POST',
      path: /^schedules\/(.+)$/s,
      raw: true,
      name: 'schedule create',
      async handle(call) {
        const destination = call.params[0]!;
        const all = lowerCased(call.req.headers);
        const cronText = all['upstash-cron'];
        if (cronText === undefined) throw invalidMessage('Upstash-Cron: a schedule needs a cron expression, e.g. "*/5 * * * *" or "CRON_TZ=Europe/Paris 0 9 * * 1-5"');
        let next: number;
        try {
          next = parseCron(cronText).nextAfter(Date.now());
        } catch (error) {
          if (error instanceof CronError) throw invalidMessage(`Upstash-Cron: ${error.message}`);
          throw error;
        }
        const id = all['upstash-schedule-id'] ?? `scd_${randomBytes(16).toString('base64url')}`;
        if (!ID.test(id)) throw invalidMessage('Upstash-Schedule-Id: 1 to 100 of A-Z a-z 0-9 . _ -');
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(all)) if (!NOT_KEPT.has(name) && (name.startsWith('upstash-') || name === 'content-type')) headers[name] = value;
        const body = await call.body();
        // The messages it will make are judged now: a bad header or a refused destination is refused here.
        await publisher.draft({ owner: call.owner, destination, headers, body, place: { scheduleId: id } });
        const now = Date.now();
        const existing = await messaging.schedule(call.owner, id);
        const stored = await messaging.putSchedule({
          id,
          owner: call.owner,
          cron: cronText,
          destination,
          headers,
          body,
          paused: false,
          createdAt: existing?.createdAt ?? now,
          updatedAt: now,
          nextAt: next,
          lastAt: existing?.lastAt ?? null,
          lastMessageIds: existing?.lastMessageIds ?? [],
        });
        if (!stored) throw new AsyncgateError('invalid-message', 'Upstash-Schedule-Id: that id is taken; choose another');
        sendQstashJson(call.res, { scheduleId: id }, 201);
      },
    },
    {
      method: 'GET',
      path: /^schedules$/,
      name: 'schedules',
      async handle(call) {
        const all = await messaging.schedules(call.owner);
        sendQstashJson(call.res, await Promise.all(all.map(view)));
      },
    },
    {
      method: 'GET',
      path: /^schedules\/([^/]+)$/,
      name: 'schedule',
      async handle(call) {
        sendQstashJson(call.res, await view(await own(call)));
      },
    },
    {
      method: 'DELETE',
      path: /^schedules\/([^/]+)$/,
      name: 'schedule delete',
      async handle(call) {
        if (!(await messaging.deleteSchedule(call.owner, call.params[0]!))) throw messageNotFound('schedule');
        sendQstashOk(call.res);
      },
    },
    { method: 'PATCH', path: /^schedules\/([^/]+)\/pause$/, name: 'schedule pause', handle: (call) => setPaused(call, true) },
    { method: 'PATCH', path: /^schedules\/([^/]+)\/resume$/, name: 'schedule resume', handle: (call) => setPaused(call, false) },
  ];
}
