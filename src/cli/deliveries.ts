import { DELIVERY_STATES } from '../model.js';
import { adminCall, choiceFlag, connectionFrom, CONNECTION_HELP, CONNECTION_OPTIONS, query, runAdmin, timeFlag, type AdminConnection } from './admin-client.js';
import { fields, list, obj, print, printJson, str, table, when } from './admin-output.js';
import { runBulk, type BulkAction } from './bulk.js';
import { intFlag, parseFlagsAndArgs, UsageError } from './flags.js';

export const DELIVERIES_HELP = `Usage: asyncgate deliveries <command> [ID] [options]

Callback deliveries (one per job and callback URL; its id is the webhook-id), over the admin API
(the server needs --admin-token). Dead letters are the ones in state failed.

Commands:
  list                  deliveries, newest first (a table; --json for scripts)
  show ID               one delivery with every attempt (time, status, latency, first bytes of the reply)
  redeliver ID          send a finished delivery again now (same webhook-id)
  redeliver --since T [--yes]
                        send every dead letter since T again: says how many first, then asks (on a
                        terminal) or needs --yes

Filters:
  --state S             ${DELIVERY_STATES.join(', ')} (list)
  --job ID              the deliveries of one job (list)
  --host H              the receiver's host, e.g. hooks.example.com (list, bulk redeliver)
  --status CODE         the last attempt's HTTP status, e.g. 500, or a class: 5xx (list)
  --since T / --until T updated from / until T: an ISO date, epoch ms, or how long ago (2h, 7d)
                        (list; bulk redeliver takes --since, dead-lettered since T)
  --limit N             list: deliveries per page, 1-500 (default 50); bulk redeliver: the cap,
                        1-1000 (default 100)
  --after ID            list: the page after this delivery

Bulk redeliver:
  --dry-run             only say how many dead letters would be sent again
  --yes                 do not ask

${CONNECTION_HELP}
Examples:
  asyncgate deliveries list --state failed --host hooks.example.com
  asyncgate deliveries redeliver --since 2h --yes
`;

const OWN = {
  state: { type: 'string' },
  job: { type: 'string' },
  host: { type: 'string' },
  status: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  limit: { type: 'string' },
  after: { type: 'string' },
  'dry-run': { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
} as const;
const OPTIONS = { ...CONNECTION_OPTIONS, ...OWN };

const ALLOWED: Record<string, readonly string[]> = {
  list: ['state', 'job', 'host', 'status', 'since', 'until', 'limit', 'after'],
  show: [],
  redeliver: [],
  'redeliver-bulk': ['since', 'host', 'limit', 'dry-run', 'yes'],
};

/** `asyncgate deliveries …`: returns the exit code. */
export async function deliveries(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseFlagsAndArgs(argv, OPTIONS);
  if (v.help) {
    print(DELIVERIES_HELP);
    return 0;
  }
  const [command, id, ...extra] = positionals;
  if (command === undefined) throw new UsageError('say what to do: asyncgate deliveries list | show ID | redeliver ID | redeliver --since T');
  if (!Object.hasOwn(ALLOWED, command) || command === 'redeliver-bulk') throw new UsageError(`unknown deliveries command '${command}'`);
  if (extra.length) throw new UsageError(`unexpected '${extra.join(' ')}'`);
  const bulk = command === 'redeliver' && id === undefined;
  const key = bulk ? 'redeliver-bulk' : command;
  const stray = Object.keys(v).filter((k) => k in OWN && !ALLOWED[key]!.includes(k));
  if (stray.length) throw new UsageError(`deliveries ${command}${bulk ? ' (bulk)' : ''} takes no --${stray[0]}`);
  if (command === 'list' && id !== undefined) throw new UsageError(`deliveries list takes no ID (to see one: asyncgate deliveries show ${id})`);
  if (command === 'show' && id === undefined) throw new UsageError('deliveries show needs a delivery ID');
  if (bulk && v.since === undefined) throw new UsageError('deliveries redeliver needs a delivery ID, or --since T to redeliver every dead letter since T');
  if (v.status !== undefined && !/^[1-5](\d\d|xx)$/i.test(v.status)) throw new UsageError(`--status "${v.status}" is not an HTTP status (500) or class (5xx)`);
  const conn = connectionFrom(v);
  const json = v.json ?? false;
  const since = timeFlag('since', v.since);
  return runAdmin(async () => {
    if (command === 'list') {
      const params = query({
        state: choiceFlag('state', v.state, DELIVERY_STATES),
        job: v.job,
        host: v.host,
        status: v.status?.toLowerCase(),
        since,
        until: timeFlag('until', v.until),
        limit: intFlag('limit', v.limit, 1, 500) ?? 50,
        after: v.after,
      });
      return listDeliveries(conn, params, json);
    }
    if (command === 'show') return showDelivery(conn, id!, json);
    if (!bulk) return redeliverOne(conn, id!, json);
    const params = query({ since, host: v.host, limit: intFlag('limit', v.limit, 1, 1000) ?? 100 });
    return redeliverBulk(conn, params, json, v['dry-run'] ?? false, v.yes ?? false);
  });
}

const deliveryPath = (id: string) => `/admin/deliveries/${encodeURIComponent(id)}`;

async function listDeliveries(conn: AdminConnection, params: URLSearchParams, json: boolean): Promise<number> {
  const page = obj(await adminCall(conn, 'GET', '/admin/deliveries', params));
  if (json) {
    printJson(page);
    return 0;
  }
  const items = list(page.items).map(obj);
  if (!items.length) {
    print('no deliveries match\n');
    return 0;
  }
  const rows = items.map((d) => [str(d.id), str(d.state), str(d.host), str(d.lastStatus), str(d.attempts), when(d.nextAttemptAt), when(d.updatedAt), str(d.jobId)]);
  print(table(['ID', 'STATE', 'HOST', 'LAST STATUS', 'ATTEMPTS', 'NEXT ATTEMPT', 'UPDATED', 'JOB'], rows));
  if (typeof page.next === 'string') process.stderr.write(`more: the same command with --after ${str(items.at(-1)?.id)}\n`);
  return 0;
}

async function showDelivery(conn: AdminConnection, id: string, json: boolean): Promise<number> {
  const d = obj(await adminCall(conn, 'GET', deliveryPath(id)));
  if (json) {
    printJson(d);
    return 0;
  }
  let out = fields([
    ['delivery', d.id],
    ['job', d.jobId],
    ['state', d.state],
    ['url', `${str(d.method)} ${str(d.url)}`],
    ['mode', d.mode],
    ['attempts', Array.isArray(d.attempts) ? d.attempts.length : d.attempts],
    ['next attempt', when(d.nextAttemptAt)],
    ['last status', d.lastStatus],
    ['last error', d.lastError],
    ['created', when(d.createdAt)],
    ['updated', when(d.updatedAt)],
  ]);
  // In one delivery's view, `attempts` is the list of attempts (in the list view, their count).
  const tries = list(d.attempts).map(obj);
  if (tries.length) {
    const rows = tries.map((a) => [str(a.n), when(a.at), str(a.status), `${str(a.latencyMs)} ms`, str(a.error ?? ''), str(a.snippet).replace(/\s+/g, ' ')]);
    out += `\nAttempts\n${table(['#', 'AT', 'STATUS', 'LATENCY', 'ERROR', 'REPLY'], rows).replace(/^(?=.)/gm, '  ')}`;
  }
  print(out);
  return 0;
}

async function redeliverOne(conn: AdminConnection, id: string, json: boolean): Promise<number> {
  const d = obj(await adminCall(conn, 'POST', `${deliveryPath(id)}/redeliver`));
  if (json) printJson(d);
  else print(`redelivering ${str(d.id) || id} to ${str(d.url)}: now ${str(d.state)}\n`);
  return 0;
}

async function redeliverBulk(conn: AdminConnection, params: URLSearchParams, json: boolean, dryRun: boolean, yes: boolean): Promise<number> {
  const probe = obj(await adminCall(conn, 'POST', '/admin/deliveries/redeliver', new URLSearchParams([...params, ['dry-run', '1']])));
  if (probe.matched === undefined && probe.redelivered !== undefined) {
    // A server from before dry runs redelivered already: say so rather than pretend.
    if (json) printJson(probe);
    else print(`the server has no dry run: it redelivered ${str(probe.redelivered)} dead letters at once\n`);
    return 0;
  }
  return runBulk(conn, REDELIVER, params, probe, { json, dryRun, yes });
}

const REDELIVER: BulkAction = { path: '/admin/deliveries/redeliver', noun: 'dead letter', verb: 'Redeliver', doneKey: 'redelivered', doneNoun: 'dead letter' };
