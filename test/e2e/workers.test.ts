/**
 * `--workers N` on SQLite, the real CLI: the primary forks the workers, each owns a shard file, and a
 * request on any connection (each request here on a new one, so the primary hands them to the workers in
 * turn) sees every job. A long poll and an event stream on one worker are woken by a job another ran; an
 * Idempotency-Key is one job whichever workers its repeats reach; /metrics adds the workers up; a database
 * from a single process is shard 0; and kill -9 of one worker under load loses no accepted job.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { eventually, GatewayProcess, sleep, tempDir } from '../helpers/gateway-process.js';
import { httpRequest } from '../helpers/http-request.js';
import { Receiver } from '../helpers/receiver.js';
import { SseReader } from '../helpers/sse.js';
import { TestUpstream } from '../helpers/upstream.js';

const upstream = new TestUpstream();
const dir = tempDir('asyncgate-workers-');
before(() => upstream.start());
after(() => upstream.close());

/** The worker processes of a primary (their parent pid is its pid). */
function workerPids(primary: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        // The fourth field of /proc/PID/stat, after the command in parentheses, is the parent's pid.
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === primary;
      } catch {
        return false;
      }
    })
    .map(Number);
}

const submit = (url: string, path: string, headers: Record<string, string> = {}) =>
  httpRequest(url + path, { headers: { prefer: 'respond-async', ...headers } }).then((a) => ({ ...a, json: JSON.parse(a.body) as { id: string; status: string } }));

test('two workers: jobs in both shards, each seen, waited on and streamed from either worker', async () => {
  const db = join(dir, 'two.db');
  const gw = await new GatewayProcess(['--upstream', upstream.url, '--db', `sqlite:${db}`, '--workers', '2', '--metrics-public']).start();
  try {
    assert.equal(workerPids(gw.pid).length, 2);
    assert.ok(existsSync(join(dir, 'two.shard1.db')), 'shard 1 next to the --db file');
    const ids = await Promise.all(Array.from({ length: 8 }, async () => (await submit(gw.url, '/ok')).json.id));
    assert.deepEqual(new Set(ids.map((id) => id.at(-1))), new Set(['0', '1']), 'both workers accepted, each in its own shard');
    for (const id of ids) {
      await eventually(async () => JSON.parse((await httpRequest(`${gw.url}/_async/jobs/${id}`)).body).status === 'Succeeded');
    }

    // Long polls and event streams on other connections than the submission's: half land on the other worker.
    for (let i = 0; i < 4; i++) {
      const { json } = await submit(gw.url, '/slow?ms=600');
      const started = Date.now();
      const polled = await httpRequest(`${gw.url}/_async/jobs/${json.id}`, { headers: { prefer: 'wait=10' } });
      assert.equal(JSON.parse(polled.body).status, 'Succeeded');
      assert.ok(Date.now() - started < 3_000, 'woken when the job finished, not at the end of the wait');
    }
    for (let i = 0; i < 4; i++) {
      const { json } = await submit(gw.url, '/slow?ms=400');
      const stream = await SseReader.open(`${gw.url}/_async/jobs/${json.id}/events`);
      let last = '';
      for (let item = await stream.next(); item !== 'end'; item = await stream.next()) if (item.kind === 'event') last = item.data;
      assert.equal(JSON.parse(last).status, 'Succeeded');
    }

    // One Idempotency-Key, six repeats at once on six connections: one job, one upstream request.
    const keyed = await Promise.all(Array.from({ length: 6 }, () => submit(gw.url, '/ok?keyed', { 'idempotency-key': '"order-42"' })));
    assert.equal(new Set(keyed.map((k) => k.json.id)).size, 1);
    await eventually(async () => upstream.seen.filter((s) => s.url === '/ok?keyed').length === 1);

    // /metrics on either worker counts what both accepted.
    const accepted = 8 + 4 + 4 + 1;
    for (let i = 0; i < 2; i++) {
      const text = (await httpRequest(`${gw.url}/_async/metrics`)).body;
      const total = [...text.matchAll(/^asyncgate_jobs_accepted_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
      assert.equal(total, accepted);
    }
  } finally {
    assert.equal(await gw.stop(), 0);
  }
  assert.equal(workerPids(gw.pid).length, 0, 'the workers are gone with the primary');
});

test('a database of a single process is shard 0 of a cluster: its jobs are found, new ones go to every shard', async () => {
  const db = join(dir, 'grown.db');
  const single = await new GatewayProcess(['--upstream', upstream.url, '--db', `sqlite:${db}`, '--workers', '1']).start();
  const old = (await submit(single.url, '/ok')).json.id;
  await eventually(async () => JSON.parse((await httpRequest(`${single.url}/_async/jobs/${old}`)).body).status === 'Succeeded');
  await single.stop();
  const gw = await new GatewayProcess(['--upstream', upstream.url, '--db', `sqlite:${db}`, '--workers', '2']).start();
  try {
    for (let i = 0; i < 4; i++) assert.equal(JSON.parse((await httpRequest(`${gw.url}/_async/jobs/${old}`)).body).status, 'Succeeded');
    const ids = await Promise.all(Array.from({ length: 6 }, async () => (await submit(gw.url, '/ok')).json.id));
    assert.deepEqual(new Set(ids.map((id) => id.at(-1))), new Set(['0', '1']));
  } finally {
    await gw.stop();
  }
});

test('kill -9 of one worker under load: every accepted job finishes and its callback arrives', { timeout: 90_000 }, async () => {
  const rx = await new Receiver().start();
  const db = join(dir, 'crash.db');
  const gw = await new GatewayProcess(['--upstream', upstream.url, '--db', `sqlite:${db}`, '--workers', '2', '--lease', '2s', '--allow-callback-hosts', '127.0.0.1']).start();
  try {
    const accepted: string[] = [];
    const acceptedSeq: number[] = [];
    let refused = 0;
    let killed = 0;
    const victims = workerPids(gw.pid);
    assert.equal(victims.length, 2);
    // 300 submissions, 16 at a time, each on a new connection; the 100th kills worker 0 outright.
    let next = 0;
    const one = async () => {
      for (let n = next++; n < 300; n = next++) {
        if (n === 100) {
          process.kill(victims[0]!, 'SIGKILL');
          killed = Date.now();
        }
        try {
          // PUT: idempotent, so a job the dead worker was running is run again, not failed.
          // A connection the primary was handing to the worker as it died is never answered (node:cluster
          // neither closes nor re-deals it): the client's timeout ends it, and nothing was accepted on it.
          const a = await httpRequest(`${gw.url}/slow?ms=100&n=${n}`, { method: 'PUT', headers: { pragma: 'redirect', callback: `<${rx.url}/cb/${n}>` }, timeoutMs: 5_000 });
          if (a.status === 202) {
            accepted.push(JSON.parse(a.body).id);
            acceptedSeq.push(n);
          }
          else refused++;
        } catch {
          refused++; // the connection the dead worker held
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, one));
    assert.ok(killed > 0 && accepted.length >= 250, `accepted ${accepted.length}, refused ${refused}`);
    await eventually(async () => workerPids(gw.pid).length === 2, 10_000);
    for (const id of accepted) {
      await eventually(async () => JSON.parse((await httpRequest(`${gw.url}/_async/jobs/${id}`)).body).status === 'Succeeded', 30_000, 100);
    }
    await eventually(async () => {
      const urls = new Set(rx.received.map((r) => r.url));
      return acceptedSeq.every((n) => urls.has(`/cb/${n}`));
    }, 30_000, 100);
    assert.ok(gw.logs.some((l) => l.msg === 'worker exited; restarting it'), 'the primary saw it and restarted it');
  } finally {
    await gw.stop();
    await rx.close();
  }
});

test('SIGTERM under load: every worker drains, answers what it has in flight, and the primary exits 0', async () => {
  const gw = await new GatewayProcess(['--upstream', upstream.url, '--db', `sqlite:${join(dir, 'term.db')}`, '--workers', '2']).start();
  const inFlight = Array.from({ length: 6 }, () => httpRequest(`${gw.url}/slow?ms=800`));
  await sleep(200);
  const exited = gw.stop();
  const answers = await Promise.all(inFlight);
  assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200, 200]);
  const why = () => `${gw.stderr}\n${gw.logs.filter((l) => Number(l.level) >= 40).map((l) => JSON.stringify(l)).join('\n')}`;
  assert.equal(await exited, 0, why());
});

test('SIGSTOP of one worker past the lease: the other rescues its running jobs and runs them while it is frozen', { timeout: 60_000 }, async () => {
  const gw = await new GatewayProcess(['--upstream', upstream.url, '--db', `sqlite:${join(dir, 'frozen.db')}`, '--workers', '2', '--lease', '2s']).start();
  const victim = workerPids(gw.pid)[0]!;
  // A new connection may be handed to the frozen worker (once: node:cluster waits for its answer before it
  // hands it another): ask again on another connection.
  const ask = async (url: string, options: Parameters<typeof httpRequest>[1] = {}) => {
    for (let tries = 0; ; tries++) {
      try {
        return await httpRequest(url, { ...options, timeoutMs: 1_000 });
      } catch (error) {
        if (tries >= 5) throw error;
      }
    }
  };
  const status = async (id: string) => JSON.parse((await ask(`${gw.url}/_async/jobs/${id}`)).body).status as string;
  try {
    // PUT: idempotent, so a rescued attempt runs again. Each holds the upstream 3 s.
    const ids = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => JSON.parse((await httpRequest(`${gw.url}/slow?ms=3000&frozen=${i}`, { method: 'PUT', headers: { prefer: 'respond-async' } })).body).id as string),
    );
    assert.deepEqual(new Set(ids.map((id) => id.at(-1))), new Set(['0', '1']));
    await eventually(async () => (await Promise.all(ids.map(status))).every((s) => s === 'Running'));
    process.kill(victim, 'SIGSTOP');
    try {
      await eventually(async () => (await Promise.all(ids.map(status))).every((s) => s === 'Succeeded'), 30_000, 250);
      const again = ids.filter((id) => upstream.seen.filter((r) => r.jobId === id).length === 2);
      assert.ok(again.length > 0, 'the frozen worker\'s jobs were sent again, by the other');
    } finally {
      process.kill(victim, 'SIGCONT');
    }
    // Back, its late answers are fenced off: every job stays as the other worker finished it.
    await sleep(3_500);
    assert.deepEqual(new Set(await Promise.all(ids.map(status))), new Set(['Succeeded']));
  } finally {
    await gw.stop();
  }
});

