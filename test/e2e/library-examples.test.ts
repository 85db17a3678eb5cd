/**
 * Library mode, framework by framework: each example in examples/ runs as a real process on a free port
 * (importing asyncgate through the package's own exports, i.e. the built dist/), and is driven over real
 * sockets: a job to completion with its progress seen in the monitor, an inline answer, and a cancel that
 * fires the handler's AbortSignal. Each prints a curl line, which is run with the real curl.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { AppProcess } from '../helpers/app-process.js';
import { eventually, tempDir } from '../helpers/gateway-process.js';

const EXAMPLES = join(import.meta.dirname, '..', '..', 'examples');
const run = promisify(execFile);

interface Status {
  id: string;
  status: string;
  percentComplete?: number;
  progress?: { current?: number; total?: number; message?: string };
  error?: { code: string };
}

for (const example of ['node-http', 'express', 'fastify', 'hono']) {
  describe(`examples/${example}.ts`, () => {
    let app: AppProcess;
    before(async () => {
      app = await new AppProcess(join(EXAMPLES, `${example}.ts`), { DB: `sqlite:${join(tempDir(), 'jobs.db')}` }).start();
    });
    after(async () => {
      await app?.stop();
    });

    const submit = (body: object, headers: Record<string, string> = { prefer: 'respond-async' }) =>
      fetch(`${app.url}/reports`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

    test('a job runs to completion; its progress shows in the monitor; the result replays', async () => {
      const res = await submit({ steps: 4, stepMs: 250 });
      assert.equal(res.status, 202);
      const monitor = res.headers.get('location')!;
      assert.match(monitor, new RegExp(`^${app.url}/_async/jobs/`));
      const accepted = (await res.json()) as Status;
      assert.ok(['NotStarted', 'Running'].includes(accepted.status), accepted.status); // Running: started at once

      // Long polls (Prefer: wait) wake on each progress report.
      const seen: Status[] = [];
      const done = await eventually(async () => {
        const s = (await (await fetch(monitor, { headers: { prefer: 'wait=5' } })).json()) as Status;
        seen.push(s);
        return s.status === 'Succeeded' && s;
      }, 30_000, 0);
      const partial = seen.find((s) => s.status === 'Running' && s.progress?.current !== undefined && s.progress.current < 4);
      assert.ok(partial, `no partial progress among ${JSON.stringify(seen.map((s) => s.progress))}`);
      assert.equal(partial.progress!.total, 4);
      assert.equal(partial.percentComplete, partial.progress!.current! * 25);
      assert.match(partial.progress!.message!, /^step \d of 4$/);
      assert.equal(done.percentComplete, 100);

      const result = await fetch(`${monitor}/result`);
      assert.equal(result.status, 200);
      assert.equal(result.headers.get('content-type'), 'application/json');
      assert.deepEqual(await result.json(), { report: 'ready', steps: 4, jobId: accepted.id });
    });

    test('without Prefer: respond-async the handler answers inline', async () => {
      const res = await submit({ steps: 2, stepMs: 10 }, {});
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('location'), null);
      assert.deepEqual(await res.json(), { report: 'ready', steps: 2, jobId: null });
    });

    test('cancel fires the handler’s AbortSignal and the job ends Canceled', async () => {
      const res = await submit({ steps: 200, stepMs: 100 });
      const { id } = (await res.json()) as Status;
      const monitor = res.headers.get('location')!;
      await eventually(async () => ((await (await fetch(monitor)).json()) as Status).progress?.current, 15_000);
      const canceled = await fetch(`${monitor}/cancel`, { method: 'POST' });
      assert.equal(canceled.status, 200);
      assert.equal(((await canceled.json()) as Status).status, 'Canceled');
      assert.match(await app.waitForLine(new RegExp(`^report ${id} aborted: .*canceled`)), /canceled/);
      const final = (await (await fetch(monitor)).json()) as Status;
      assert.equal(final.status, 'Canceled');
      assert.equal(final.error?.code, 'canceled');
    });

    test('it prints a curl line that works as printed', async () => {
      const line = (await app.waitForLine(/^try: curl /)).slice('try: '.length);
      // Quoted, so that a shell (zsh) takes the URL as it is.
      assert.ok(line.includes(` '${app.url}/reports' `), line);
      const { stdout } = await run('sh', ['-c', `${line} --silent --show-error --max-time 20`], { encoding: 'utf8' });
      assert.match(stdout, /^HTTP\/1\.1 202 Accepted/);
      const monitor = /^location: (\S+)/im.exec(stdout)![1]!;
      const done = await eventually(async () => {
        const s = (await (await fetch(monitor, { headers: { prefer: 'wait=5' } })).json()) as Status;
        return s.status !== 'Running' && s.status !== 'NotStarted' && s;
      }, 30_000, 0);
      assert.equal(done.status, 'Succeeded');
    });

    if (example === 'express') {
      test('malformed JSON is a 400 problem, not an HTML page with a stack trace', async () => {
        const res = await fetch(`${app.url}/reports`, { method: 'POST', headers: { 'content-type': 'application/json', prefer: 'respond-async' }, body: '{"steps": 5' });
        assert.equal(res.status, 400);
        assert.equal(res.headers.get('content-type'), 'application/problem+json');
        const problem = (await res.json()) as { type: string; detail: string; instance: string };
        assert.equal(problem.type, 'urn:asyncgate:problem:invalid-body');
        assert.match(problem.detail, /^the body is not valid JSON: /);
        assert.equal(problem.instance, '/reports');
      });
    }

    test('unknown paths under the prefix are asyncgate’s 404 problem', async () => {
      const res = await fetch(`${app.url}/_async/jobs/nope-not-an-id`);
      assert.equal(res.status, 404);
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
      assert.equal(((await res.json()) as { type: string }).type, 'urn:asyncgate:problem:job-not-found');
    });
  });
}
