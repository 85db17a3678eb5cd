import { JOB_STATES } from '../model.js';
import { STATUS_NAMES } from '../resource/representation.js';
import { adminCall, choiceFlag, connectionFrom, CONNECTION_HELP, CONNECTION_OPTIONS, query, runAdmin, timeFlag, type AdminConnection } from './admin-client.js';
import { fields, list, obj, print, printJson, str, table, when } from './admin-output.js';
import { runBulk, type BulkAction } from './bulk.js';
import { intFlag, parseFlagsAndArgs, UsageError } from './flags.js';

export const JOBS_HELP = `Usage: asyncgate jobs <command> [ID] [options]

Every job in the gateway, whoever submitted it, over the admin API (the server needs --admin-token).

Commands:
  list                  jobs, newest first (a table; --json for scripts)
  show ID               one job: request, response summary, timeline, callbacks
  cancel ID             cancel a queued or running job
  retry ID              run a failed or canceled job again: same id, request and callbacks
  retry --state failed --since T [--yes]
                        retry every job matching the filters (only failed and canceled ones count):
                        says how many first, then asks (on a terminal) or needs --yes
  delete ID             forget a job and its result (its monitor answers 410 Gone for a while)

Filters (list and bulk retry):
  --state S             NotStarted, Running, Succeeded, Failed, Canceled (any case), or queued, running…
  --search TEXT         an exact job id or idempotency key, part of the request URL, or text in the
                        request or response body (the first 64 KiB of text bodies)
  --method M            the request method (GET, POST…)
  --path PREFIX         the request path starts with it, e.g. /exports
  --since T / --until T created from / until T: an ISO date, epoch ms, or how long ago (2h, 7d)
  --error CODE          the job's error code, e.g. upstream-timeout
  --limit N             list: jobs per page, 1-500 (default 50); bulk retry: the cap, 1-1000 (default 100)
  --after ID            list: the page after this job (the last id of the page before)

Bulk retry:
  --dry-run             only say how many jobs would be retried
  --yes                 do not ask

${CONNECTION_HELP}
Examples:
  asyncgate jobs list --state failed --since 1h
  asyncgate jobs list --search invoice-2041 --json | jq -r '.items[].id'
  asyncgate jobs retry --state failed --since 2026-11-24T08:00:00Z --yes
`;

const OWN = {
  state: { type: 'string' },
  search: { type: 'string' },
  method: { type: 'string' },
  path: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  error: { type: 'string' },
  limit: { type: 'string' },
  after: { type: 'string' },
  'dry-run': { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
} as const;
const OPTIONS = { ...CONNECTION_OPTIONS, ...OWN };

type Values = ReturnType<typeof parseFlagsAndArgs<typeof OPTIONS>>['values'];

const FILTERS = ['state', 'search', 'method', 'path', 'since', 'until', 'error'] as const;
const STATES = [...Object.values(STATUS_NAMES), ...JOB_STATES];
/** The flags each command takes besides the connection flags. */
const ALLOWED: Record<string, readonly string[]> = {
  list: [...FILTERS, 'limit', 'after'],
  show: [],
  cancel: [],
  delete: [],
  retry: [],
  'retry-bulk': [...FILTERS, 'limit', 'dry-run', 'yes'],
};

/** `asyncgate jobs …`: returns the exit code. */
export async function jobs(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseFlagsAndArgs(argv, OPTIONS);
  if (v.help) {
    print(JOBS_HELP);
    return 0;
  }
  const [command, id, ...extra] = positionals;
  if (command === undefined) throw new UsageError('say what to do: asyncgate jobs list | show ID | cancel ID | retry ID | delete ID');
  if (!Object.hasOwn(ALLOWED, command) || command === 'retry-bulk') throw new UsageError(`unknown jobs command '${command}'`);
  if (extra.length) throw new UsageError(`unexpected '${extra.join(' ')}'`);
  const bulk = command === 'retry' && id === undefined;
  const key = bulk ? 'retry-bulk' : command;
  const given = Object.keys(v).filter((k) => k in OWN);
  const stray = given.filter((k) => !ALLOWED[key]!.includes(k));
  if (stray.length) throw new UsageError(`jobs ${command}${bulk ? ' (bulk)' : ''} takes no --${stray[0]}`);
  if (command === 'list' && id !== undefined) throw new UsageError(`jobs list takes no ID (to see one job: asyncgate jobs show ${id})`);
  if (command !== 'list' && !bulk && id === undefined) throw new UsageError(`jobs ${command} needs a job ID`);
  if (bulk && !FILTERS.some((f) => v[f] !== undefined)) {
    throw new UsageError('jobs retry needs a job ID, or filters for a bulk retry (e.g. --state failed --since 1h)');
  }
  const filters = filterQuery(v);
  const conn = connectionFrom(v);
  const json = v.json ?? false;
  return runAdmin(async () => {
    switch (command) {
      case 'list': {
        filters.set('limit', String(intFlag('limit', v.limit, 1, 500) ?? 50));
        if (v.after !== undefined) filters.set('after', v.after);
        return listJobs(conn, filters, json);
      }
      case 'show':
        return showJob(conn, id!, json);
      case 'cancel':
        return jobAction(conn, 'POST', id!, '/cancel', json, 'canceled');
      case 'delete':
        return deleteJob(conn, id!, json);
      default:
        if (!bulk) return jobAction(conn, 'POST', id!, '/retry', json, 'retrying');
        filters.set('limit', String(intFlag('limit', v.limit, 1, 1000) ?? 100));
        return retryBulk(conn, filters, json, v['dry-run'] ?? false, v.yes ?? false);
    }
  });
}

function filterQuery(v: Values): URLSearchParams {
  return query({
    state: choiceFlag('state', v.state, STATES),
    q: v.search,
    method: v.method?.toUpperCase(),
    path: v.path,
    since: timeFlag('since', v.since),
    until: timeFlag('until', v.until),
    error: v.error,
  });
}

const jobPath = (id: string) => `/admin/jobs/${encodeURIComponent(id)}`;

/** One row of the jobs table, from a status representation. */
function jobRow(item: unknown): string[] {
  const j = obj(item);
  const req = obj(j.request);
  const percent = j.percentComplete === undefined ? '' : `${str(j.percentComplete)}%`;
  return [str(j.id), str(j.status), percent, str(req.method), str(req.url), when(j.createdDateTime), str(obj(j.error).code)];
}

async function listJobs(conn: AdminConnection, params: URLSearchParams, json: boolean): Promise<number> {
  const page = obj(await adminCall(conn, 'GET', '/admin/jobs', params));
  if (json) {
    printJson(page);
    return 0;
  }
  const items = list(page.items);
  if (!items.length) {
    print('no jobs match\n');
    return 0;
  }
  print(table(['ID', 'STATUS', 'DONE', 'METHOD', 'URL', 'CREATED', 'ERROR'], items.map(jobRow)));
  if (typeof page.next === 'string') {
    const last = str(obj(items.at(-1)).id);
    process.stderr.write(`more: the same command with --after ${last}\n`);
  }
  return 0;
}

function headerLines(headers: unknown): string[] {
  return list(headers).map((h) => (Array.isArray(h) ? `  ${str(h[0])}: ${str(h[1])}` : `  ${str(h)}`));
}

function bodyLines(part: Record<string, unknown>): string[] {
  const size = Number(part.bodySize ?? 0);
  if (!size) return ['  (no body)'];
  const preview = part.bodyPreview;
  const out = [`  body: ${size} bytes${typeof preview === 'string' ? (part.bodyTruncated ? ', first bytes:' : ':') : ' (binary: not shown)'}`];
  if (typeof preview === 'string') out.push(...preview.split('\n').map((l) => `    ${l}`));
  return out;
}

async function showJob(conn: AdminConnection, id: string, json: boolean): Promise<number> {
  const detail = obj(await adminCall(conn, 'GET', jobPath(id)));
  if (json) {
    printJson(detail);
    return 0;
  }
  const job = obj(detail.job);
  const error = obj(detail.error ?? job.error);
  const progress = obj(detail.progress ?? job.progress);
  const progressText = [job.percentComplete === undefined ? '' : `${str(job.percentComplete)}%`, progress.current !== undefined ? `${str(progress.current)}/${str(progress.total)}` : '', str(progress.message)]
    .filter(Boolean)
    .join(' ');
  let out = fields([
    ['job', job.id],
    ['status', job.status],
    ['created', when(job.createdDateTime)],
    ['updated', when(job.lastUpdatedDateTime)],
    ['expires', when(job.expirationDateTime)],
    ['progress', progressText],
    ['attempts', detail.attempts],
    ['error', error.code ? `${str(error.code)}: ${str(error.message)}` : undefined],
  ]);
  const req = obj(detail.request);
  out += `\nRequest\n  ${str(req.method ?? obj(job.request).method)} ${str(req.url ?? obj(job.request).url)}\n${[...headerLines(req.headers), ...bodyLines(req)].join('\n')}\n`;
  const res = detail.response === null || detail.response === undefined ? undefined : obj(detail.response);
  out += res ? `\nResponse\n  ${str(res.status)}\n${[...headerLines(res.headers), ...bodyLines(res)].join('\n')}\n` : '\nResponse\n  (none yet)\n';
  const timeline = list(detail.timeline).map(obj);
  if (timeline.length) {
    // An attempt's duration or a callback's latency: how long it took.
    const took = (t: Record<string, unknown>) => (t.durationMs ?? t.latencyMs) === undefined ? '' : `${str(t.durationMs ?? t.latencyMs)} ms`;
    const rows = timeline.map((t) => [when(t.at), str(t.kind), str(t.status), took(t), str(t.detail)]);
    out += `\nTimeline\n${indent(table(['AT', 'WHAT', 'STATUS', 'TOOK', 'DETAIL'], rows, 80))}`;
  }
  const deliveries = list(detail.deliveries).map(obj);
  out += deliveries.length
    ? `\nCallbacks\n${indent(table(['DELIVERY', 'STATE', 'URL', 'ATTEMPTS', 'LAST STATUS'], deliveries.map((d) => [str(d.id), str(d.state), str(d.url), str(Array.isArray(d.attempts) ? d.attempts.length : d.attempts), str(d.lastStatus)])))}`
    : '\nCallbacks\n  (none)\n';
  print(out);
  return 0;
}

function indent(text: string): string {
  return text.replace(/^(?=.)/gm, '  ');
}

async function jobAction(conn: AdminConnection, method: string, id: string, suffix: string, json: boolean, verb: string): Promise<number> {
  const answer = obj(await adminCall(conn, method, `${jobPath(id)}${suffix}`));
  if (json) {
    printJson(answer);
    return 0;
  }
  const job = obj(answer.job ?? answer);
  print(`${verb} job ${str(job.id) || id}: now ${str(job.status)}\n`);
  return 0;
}

async function deleteJob(conn: AdminConnection, id: string, json: boolean): Promise<number> {
  await adminCall(conn, 'DELETE', jobPath(id));
  if (json) printJson({ id, deleted: true });
  else print(`deleted job ${id}\n`);
  return 0;
}

async function retryBulk(conn: AdminConnection, params: URLSearchParams, json: boolean, dryRun: boolean, yes: boolean): Promise<number> {
  const probe = obj(await adminCall(conn, 'POST', '/admin/jobs/retry', new URLSearchParams([...params, ['dry-run', '1']])));
  return runBulk(conn, RETRY, params, probe, { json, dryRun, yes });
}

const RETRY: BulkAction = { path: '/admin/jobs/retry', noun: 'failed or canceled job', verb: 'Retry', doneKey: 'retried', doneNoun: 'job' };
