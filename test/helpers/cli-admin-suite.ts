/**
 * The admin CLI (`asyncgate jobs …`, `asyncgate deliveries …`) as a subprocess against a real gateway and a real
 * upstream / callback receiver on loopback: every command's happy path (its JSON parsed, its table read), and
 * exit 1 when the server refuses. Registered by test/cli-admin-sqlite.test.ts and cli-admin-postgres.test.ts.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { cliJson, runCli, runCliOnTty } from './cli-process.js';
import { eventually, GatewayProcess } from './gateway-process.js';
import { TinyServer } from './tiny-server.js';

const TOKEN = 'cli-admin-token-0123456789';

/** The upstream and the callback receiver. /fail-once/KEY answers 500 the first time, then 200. */
const failed = new Set<string>();
const server = new TinyServer((req, res) => {
  const path = req.path.split('?')[0]!;
  if (path === '/orders') return res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ got: req.body.length }));
  if (path === '/hang') return; // never answers: a job that stays running
  const once = /^\/fail-once\/(\w+)$/.exec(path);
  if (once) {
    const first = !failed.has(once[1]!);
    failed.add(once[1]!);
    return res.writeHead(first ? 500 : 200, { 'content-type': 'application/json' }).end(JSON.stringify({ first }));
  }
  if (path.startsWith('/hook/dead')) return res.writeHead(500, { 'content-type': 'text/plain' }).end('receiver down');
  if (path.startsWith('/hook/')) return res.writeHead(204).end();
  res.writeHead(404).end();
});
before(() => server.start());
after(() => server.close());

interface Item {
  id: string;
  status: string;
}
interface Page {
  items: Item[];
  next?: string;
}

/** The suite on the store `db()` names (undefined: skipped, PostgreSQL absent). */
export function adminCliSuite(name: string, db: () => Promise<string | undefined>) {
  describe(`admin CLI on ${name}`, () => {
    let gw: GatewayProcess;
    let env: Record<string, string>;
    let skip = false;
    before(async () => {
      const url = await db();
      if (!url) {
        skip = true;
        return;
      }
      gw = await new GatewayProcess([
        '--upstream', server.url, '--db', url, '--admin-token', TOKEN,
        '--allow-callback-hosts', '127.0.0.1', '--retry-schedule', '0s',
      ]).start();
      env = { ASYNCGATE_URL: gw.url, ASYNCGATE_ADMIN_TOKEN: TOKEN };
    });
    after(() => gw?.stop());

    const submit = async (path: string, init: RequestInit = {}): Promise<string> => {
      const headers = new Headers(init.headers);
      headers.set('prefer', 'respond-async');
      const res = await fetch(`${gw.url}${path}`, { ...init, headers });
      assert.equal(res.status, 202, await res.clone().text());
      return ((await res.json()) as { id: string }).id;
    };
    /** The admin API itself, for waiting (quicker than a CLI process per poll); the commands are what is tested. */
    const api = async <T>(path: string): Promise<T> => (await (await fetch(`${gw.url}/_async${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as T;
    const statusOf = async (id: string) => (await api<{ job: Item }>(`/admin/jobs/${id}`)).job.status;
    const settled = (id: string, status: string) => eventually(async () => (await statusOf(id)) === status, 15_000, 50);

    test('jobs list: newest first, filters, search in the body, pages, table and JSON', async (t) => {
      if (skip) return t.skip('PostgreSQL is not available');
      const word = `pineapple${randomBytes(4).toString('hex')}`;
      const ids = [
        await submit('/orders', { method: 'POST', body: '{"fruit":"apple"}', headers: { 'content-type': 'application/json' } }),
        await submit('/orders', { method: 'POST', body: `{"fruit":"${word}"}`, headers: { 'content-type': 'application/json' } }),
        await submit('/orders?kind=b', { method: 'POST', body: '{"fruit":"pear"}', headers: { 'content-type': 'application/json' } }),
      ];
      for (const id of ids) await settled(id, 'Succeeded');

      const all = await cliJson<Page>(['jobs', 'list'], env);
      const order = all.items.map((j) => j.id).filter((id) => ids.includes(id));
      assert.deepEqual(order, [...ids].reverse(), 'newest first');

      const found = await cliJson<Page>(['jobs', 'list', '--search', word], env);
      assert.deepEqual(found.items.map((j) => j.id), [ids[1]]);

      const filtered = await cliJson<Page>(['jobs', 'list', '--state', 'succeeded', '--method', 'post', '--path', '/orders', '--since', '1h'], env);
      for (const id of ids) assert.ok(filtered.items.some((j) => j.id === id), id);
      assert.ok(filtered.items.every((j) => j.status === 'Succeeded'));
      const none = await cliJson<Page>(['jobs', 'list', '--since', new Date(Date.now() + 3_600_000).toISOString()], env);
      assert.deepEqual(none.items, []);

      const page = await runCli(['jobs', 'list', '--limit', '1'], env);
      assert.equal(page.status, 0, page.stderr);
      const lines = page.stdout.trimEnd().split('\n');
      assert.match(lines[0]!, /^ID\s+STATUS\s+DONE\s+METHOD\s+URL\s+CREATED\s+ERROR$/);
      assert.equal(lines.length, 2, page.stdout);
      assert.match(lines[1]!, new RegExp(`^${ids[2]}\\s+Succeeded\\s+100%\\s+POST\\s+\\S*/orders\\?kind=b\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ`));
      assert.match(page.stderr, new RegExp(`more: the same command with --after ${ids[2]}`));
      const second = await cliJson<Page>(['jobs', 'list', '--limit', '1', '--after', ids[2]!], env);
      assert.equal(second.items[0]!.id, ids[1]);

      // The flags win over the environment.
      const flags = await runCli(['jobs', 'list', '--json', '--url', gw.url, '--admin-token', TOKEN], { ASYNCGATE_URL: 'http://127.0.0.1:1', ASYNCGATE_ADMIN_TOKEN: 'wrong-token-0123456789' });
      assert.equal(flags.status, 0, flags.stderr);
    });

    test('jobs show: request (Authorization redacted), response, timeline, callbacks', async (t) => {
      if (skip) return t.skip('PostgreSQL is not available');
      const id = await submit('/orders', {
        method: 'POST',
        body: '{"fruit":"kiwi"}',
        headers: { 'content-type': 'application/json', authorization: 'Bearer alice-secret', pragma: 'redirect', callback: `<${server.url}/hook/show>` },
      });
      await settled(id, 'Succeeded');
      await eventually(async () => server.requests('/hook/show').length > 0);
      const detail = await cliJson<{
        job: Item;
        request: { method: string; headers: string[][]; bodyPreview: string };
        response: { status: number };
        timeline: Array<{ kind: string }>;
        deliveries: Array<{ id: string; url: string }>;
      }>(['jobs', 'show', id], env);
      assert.equal(detail.job.id, id);
      assert.equal(detail.request.method, 'POST');
      assert.equal(detail.request.bodyPreview, '{"fruit":"kiwi"}');
      assert.deepEqual(detail.request.headers.find(([n]) => n!.toLowerCase() === 'authorization')?.[1], '[redacted]');
      assert.equal(detail.response.status, 201);
      assert.ok(detail.timeline.some((e) => e.kind === 'accepted'));
      assert.equal(detail.deliveries[0]!.url, `${server.url}/hook/show`);

      const text = await runCli(['jobs', 'show', id], env);
      assert.equal(text.status, 0, text.stderr);
      assert.match(text.stdout, new RegExp(`^job\\s+${id}\\nstatus\\s+Succeeded\\n`));
      assert.match(text.stdout, /\nRequest\n {2}POST \S*\/orders\n/);
      assert.match(text.stdout, /authorization: \[redacted\]/i);
      assert.match(text.stdout, /\nResponse\n {2}201\n/);
      assert.match(text.stdout, /\nTimeline\n {2}AT\s+WHAT/);
      assert.match(text.stdout, new RegExp(`\\nCallbacks\\n {2}DELIVERY.*\\n {2}${detail.deliveries[0]!.id}\\s+delivered\\s+\\S+/hook/show\\s+1\\s+204\\n`));
      assert.doesNotMatch(text.stdout, /alice-secret/);
    });

    test('jobs cancel, retry (one, and in bulk by filter) and delete', async (t) => {
      if (skip) return t.skip('PostgreSQL is not available');
      const hanging = await submit('/hang');
      await settled(hanging, 'Running');
      const cancel = await runCli(['jobs', 'cancel', hanging], env);
      assert.equal(cancel.status, 0, cancel.stderr);
      assert.equal(cancel.stdout, `canceled job ${hanging}: now Canceled\n`);
      assert.equal(await statusOf(hanging), 'Canceled');

      const key = randomBytes(4).toString('hex');
      const flaky = await submit(`/fail-once/${key}`);
      await settled(flaky, 'Failed');
      const retry = await runCli(['jobs', 'retry', flaky], env);
      assert.equal(retry.status, 0, retry.stderr);
      assert.match(retry.stdout, new RegExp(`^retrying job ${flaky}: now `));
      await settled(flaky, 'Succeeded');
      assert.equal(server.requests(`/fail-once/${key}`).length, 2, 'the upstream saw a second request');

      const keys = [randomBytes(4).toString('hex'), randomBytes(4).toString('hex')];
      const bulkIds = [await submit(`/fail-once/${keys[0]}`), await submit(`/fail-once/${keys[1]}`)];
      for (const id of bulkIds) await settled(id, 'Failed');
      const dry = await cliJson<{ matched: number; cap: number }>(['jobs', 'retry', '--state', 'failed', '--path', '/fail-once', '--since', '1h', '--dry-run'], env);
      assert.equal(dry.matched, 2);
      assert.equal(dry.cap, 100);
      const refused = await runCli(['jobs', 'retry', '--state', 'failed', '--path', '/fail-once', '--since', '1h'], env);
      assert.equal(refused.status, 2, refused.stderr);
      assert.match(refused.stderr, /2 failed or canceled jobs match/);
      assert.match(refused.stderr, /not without --yes \(stdin is not a terminal/);
      for (const id of bulkIds) assert.equal(await statusOf(id), 'Failed', 'nothing retried without --yes');
      // On a terminal it asks: "n" changes nothing, "y" retries them.
      const bulkArgs = ['jobs', 'retry', '--state', 'failed', '--path', '/fail-once', '--since', '1h'];
      const declined = await runCliOnTty(bulkArgs, env, /\[y\/N\] /, 'n');
      assert.equal(declined.status, 0, declined.stdout);
      assert.match(declined.stdout, /Retry 2 failed or canceled jobs\? \[y\/N\] /);
      assert.match(declined.stdout, /nothing retried/);
      for (const id of bulkIds) assert.equal(await statusOf(id), 'Failed', 'declined at the prompt');
      const confirmed = await runCliOnTty(bulkArgs, env, /\[y\/N\] /, 'y');
      assert.equal(confirmed.status, 0, confirmed.stdout);
      assert.match(confirmed.stdout, /retrying 2 jobs\r?\n/);
      for (const id of bulkIds) await settled(id, 'Succeeded');
      // And with --yes it asks nothing (on the jobs that failed since).
      const later = await submit(`/fail-once/${randomBytes(4).toString('hex')}`);
      await settled(later, 'Failed');
      const bulk = await runCli([...bulkArgs, '--yes'], env);
      assert.equal(bulk.status, 0, bulk.stderr);
      assert.equal(bulk.stdout, 'retrying 1 job\n');
      bulkIds.push(later);
      for (const id of bulkIds) await settled(id, 'Succeeded');

      const del = await runCli(['jobs', 'delete', flaky], env);
      assert.equal(del.status, 0, del.stderr);
      assert.equal(del.stdout, `deleted job ${flaky}\n`);
      const gone = await runCli(['jobs', 'show', flaky], env);
      assert.equal(gone.status, 1);
      assert.match(gone.stderr, /the server refused: GET \S+: (404|410)/);
    });

    test('deliveries list, show, redeliver one and in bulk', async (t) => {
      if (skip) return t.skip('PostgreSQL is not available');
      const hook = `/hook/dead-${randomBytes(4).toString('hex')}`;
      const job = await submit('/orders', { method: 'POST', body: '{}', headers: { pragma: 'redirect', callback: `<${server.url}${hook}>` } });
      const [dead] = await eventually(async () => {
        const page = await api<{ items: Array<{ id: string; state: string; host: string; lastStatus: number }> }>(`/admin/deliveries?job=${job}`);
        return page.items[0]?.state === 'failed' ? page.items : undefined;
      }, 15_000, 100);
      assert.equal(dead!.lastStatus, 500);
      const host = new URL(server.url).host;
      const byFilters = await cliJson<Page>(['deliveries', 'list', '--state', 'failed', '--host', host, '--status', '5xx', '--since', '1h'], env);
      assert.ok(byFilters.items.some((d) => d.id === dead!.id));

      const table = await runCli(['deliveries', 'list', '--job', job], env);
      assert.equal(table.status, 0, table.stderr);
      assert.match(table.stdout, /^ID\s+STATE\s+HOST\s+LAST STATUS\s+ATTEMPTS\s+NEXT ATTEMPT\s+UPDATED\s+JOB\n/);
      assert.match(table.stdout, new RegExp(`\\n${dead!.id}\\s+failed\\s+${host}\\s+500\\s+1\\s+-\\s+\\S+ \\S+\\s+${job}\\n$`));

      const shown = await cliJson<{ id: string; attempts: Array<{ status: number; snippet: string }> }>(['deliveries', 'show', dead!.id], env);
      assert.equal(shown.attempts[0]!.status, 500);
      const shownText = await runCli(['deliveries', 'show', dead!.id], env);
      assert.match(shownText.stdout, /\nAttempts\n {2}#\s+AT\s+STATUS\s+LATENCY\s+ERROR\s+REPLY\n {2}1\s+\S+ \S+\s+500\s+\d+ ms\s+.*receiver down/);

      const one = await runCli(['deliveries', 'redeliver', dead!.id], env);
      assert.equal(one.status, 0, one.stderr);
      assert.match(one.stdout, new RegExp(`^redelivering ${dead!.id} to ${server.url}${hook}: now `));
      await eventually(async () => server.requests(hook).length === 2);
      const ids = server.requests(hook).map((r) => r.headers['webhook-id']);
      assert.equal(ids[0], ids[1], 'the same webhook-id');
      await eventually(async () => (await api<{ state: string }>(`/admin/deliveries/${dead!.id}`)).state === 'failed');

      const since = new Date(Date.now() - 60_000).toISOString();
      const refused = await runCli(['deliveries', 'redeliver', '--since', since, '--host', host], env);
      assert.equal(refused.status, 2, refused.stderr);
      assert.match(refused.stderr, /dead letters? match/);
      assert.match(refused.stderr, /--yes/);
      const dry = await cliJson<{ matched: number }>(['deliveries', 'redeliver', '--since', since, '--host', host, '--dry-run'], env);
      assert.ok(dry.matched >= 1);
      const bulk = await cliJson<{ redelivered: number }>(['deliveries', 'redeliver', '--since', since, '--host', host, '--yes'], env);
      assert.ok(bulk.redelivered >= 1);
      await eventually(async () => server.requests(hook).length === 3);
    });

    test('exit 1 when the server refuses: wrong or missing token, unknown job', async (t) => {
      if (skip) return t.skip('PostgreSQL is not available');
      const wrong = await runCli(['jobs', 'list'], { ASYNCGATE_URL: gw.url, ASYNCGATE_ADMIN_TOKEN: 'wrong-token-0123456789' });
      assert.equal(wrong.status, 1);
      assert.equal(wrong.stdout, '');
      assert.match(wrong.stderr, /^asyncgate: the server refused: GET \S+\/_async\/admin\/jobs\?limit=50: 401 Admin token required: .+\n$/);
      const missing = await runCli(['deliveries', 'list'], { ASYNCGATE_URL: gw.url });
      assert.equal(missing.status, 1);
      assert.match(missing.stderr, /401 Admin token required.*\(pass --admin-token or set ASYNCGATE_ADMIN_TOKEN\)/);
      const unknown = await runCli(['jobs', 'cancel', 'no-such-job'], env);
      assert.equal(unknown.status, 1);
      assert.match(unknown.stderr, /the server refused: POST .*404/);
    });
  });
}

