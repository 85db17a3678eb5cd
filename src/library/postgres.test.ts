/**
 * Library mode on PostgreSQL: two app instances share one job space (as two processes would), a job
 * submitted to one runs its handler there or in the other, and both monitors see its progress and result.
 * A large upload reaches the handler whole (it was streamed into the store in pieces).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { dropSchemas, postgresAvailable, schemaUrl, uniqueSchema } from '../../test/helpers/postgres.js';
import { withMonitor } from '../adapters/node.js';
import { createAsyncgate, type Asyncgate } from './asyncgate.js';

const available = await postgresAvailable();
const schema = uniqueSchema('library');

describe('library mode on PostgreSQL', { skip: !available && 'PostgreSQL not reachable' }, () => {
  const apps: Array<{ gate: Asyncgate; server: Server; url: string }> = [];
  before(async () => {
    for (let i = 0; i < 2; i++) {
      const gate = await createAsyncgate({ db: schemaUrl(schema) });
      const digest = gate.route('digest', async ({ request, progress }) => {
        await progress(1, 2, 'hashing');
        // Long enough for the other instance to see the running job's progress: once Succeeded, the
        // representation no longer shows it.
        await new Promise((r) => setTimeout(r, 1500));
        const body = request.body ?? new Uint8Array();
        return { size: body.byteLength, sha256: createHash('sha256').update(body).digest('hex') };
      });
      const server = createServer(withMonitor(gate, (req, res) => void digest(req, res)));
      await gate.start();
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      apps.push({ gate, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    }
  });
  after(async () => {
    for (const app of apps) {
      await new Promise((r) => app.server.close(r));
      await app.gate.close();
    }
    await dropSchemas([schema]);
  });

  test('submitted to one instance, followed on the other until done; a 1 MiB upload arrives whole', async () => {
    const body = Buffer.alloc(1024 * 1024, 7);
    const res = await fetch(`${apps[0]!.url}/digest`, { method: 'POST', headers: { prefer: 'respond-async' }, body });
    assert.equal(res.status, 202);
    const { id } = (await res.json()) as { id: string };
    let status = '';
    let sawProgress = false;
    // Plain polls, not long polls: a long poll answers the next change, so one sent after the progress report
    // would wait past it to the end.
    for (let i = 0; i < 300 && status !== 'Succeeded'; i++) {
      if (i) await new Promise((r) => setTimeout(r, 50));
      const polled = (await (await fetch(`${apps[1]!.url}/_async/jobs/${id}`)).json()) as {
        status: string;
        progress?: { message?: string };
      };
      status = polled.status;
      if (polled.progress?.message === 'hashing') sawProgress = true;
    }
    assert.equal(status, 'Succeeded');
    assert.ok(sawProgress, 'the other instance saw the progress report');
    const result = (await (await fetch(`${apps[1]!.url}/_async/jobs/${id}/result`)).json()) as { size: number; sha256: string };
    assert.deepEqual(result, { size: body.length, sha256: createHash('sha256').update(body).digest('hex') });
  });
});
