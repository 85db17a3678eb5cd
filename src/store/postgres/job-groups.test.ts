/**
 * Job groups across processes on PostgreSQL: two stores (two pools, as two asyncgate processes would have)
 * claiming from the same groups at the same time never run more of a group than its parallelism, and the
 * rate's window is counted once across both.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { dropSchemas, postgresAvailable, schemaUrl, uniqueSchema } from '../../../test/helpers/postgres.js';
import type { Job } from '../../model.js';
import { newJob } from '../contract-fixtures.js';
import { parsePgUrl } from './connect.js';
import { PostgresJobStore } from './postgres-store.js';

const available = await postgresAvailable();
const schemas = new Set<string>();
after(() => dropSchemas(schemas));

async function twoProcesses(): Promise<[PostgresJobStore, PostgresJobStore]> {
  const schema = uniqueSchema('groups');
  schemas.add(schema);
  const a = await PostgresJobStore.open(parsePgUrl(schemaUrl(schema, '&pool=4')));
  const b = await PostgresJobStore.open(parsePgUrl(schemaUrl(schema, '&pool=4')));
  return [a, b];
}

describe('postgres job groups across processes', { skip: !available && 'PostgreSQL not reachable' }, () => {
  test('two processes claiming at once never exceed a group’s parallelism; fifo order holds', async () => {
    const [a, b] = await twoProcesses();
    try {
      const bounds = { 'fifo-2': 2, 'plain-3': 3, recordless: 1 } as const;
      const t = Date.now();
      await a.putGroup({ key: 'fifo-2', parallelism: 2, fifo: true, paused: false }, t);
      await a.putGroup({ key: 'plain-3', parallelism: 3, fifo: false, paused: false }, t);
      const accepted: Record<string, string[]> = { 'fifo-2': [], 'plain-3': [], recordless: [] };
      for (let i = 0; i < 12; i++) {
        for (const group of Object.keys(bounds)) {
          const job = newJob({ group, createdAt: t });
          accepted[group]!.push(job.id);
          await a.insertJob(job);
        }
      }
      const running = new Map<string, Job>();
      const started: Record<string, string[]> = { 'fifo-2': [], 'plain-3': [], recordless: [] };
      for (let round = 0; round < 100 && Object.values(started).flat().length < 36; round++) {
        // Both at once, several claims each, as two busy processes would.
        const claims = await Promise.all([a, b, a, b].map((s, i) => s.claimJobs(`w${i}`, 5, Date.now(), 60_000)));
        for (const job of claims.flat()) {
          assert.equal(running.has(job.id), false, 'claimed once');
          running.set(job.id, job);
          started[job.group!]!.push(job.id);
        }
        for (const [group, bound] of Object.entries(bounds)) {
          const n = [...running.values()].filter((j) => j.group === group).length;
          assert.ok(n <= bound, `${group}: ${n} running, parallelism ${bound}`);
        }
        // Finish about half of what runs, from either process.
        let k = 0;
        for (const job of [...running.values()]) {
          if (k++ % 2 === round % 2) continue;
          await (k % 2 ? a : b).completeJob(job.id, job.leaseToken, { state: 'succeeded', response: null, error: null, finishedAt: Date.now() }, 60_000);
          running.delete(job.id);
        }
      }
      assert.equal(Object.values(started).flat().length, 36, 'every job ran');
      assert.deepEqual(started['fifo-2'], accepted['fifo-2'], 'fifo: started in acceptance order');
      assert.deepEqual(started.recordless, accepted.recordless, 'a group without a record: in order, one at a time');
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('a rate is counted once across processes', async () => {
    const [a, b] = await twoProcesses();
    try {
      const t = Date.now();
      await a.putGroup({ key: 'rated', parallelism: 100, fifo: false, rate: 3, periodMs: 60_000, paused: false }, t);
      for (let i = 0; i < 10; i++) await a.insertJob(newJob({ group: 'rated', createdAt: t }));
      for (let round = 0; round < 3; round++) {
        const claims = await Promise.all([a, b, a, b].map((s) => s.claimJobs('w', 10, t + 1 + round, 60_000)));
        assert.equal(claims.flat().length, round === 0 ? 3 : 0, `round ${round}`);
      }
      assert.equal((await b.claimJobs('w', 10, t + 60_001, 60_000)).length, 3, 'the next window');
    } finally {
      await a.close();
      await b.close();
    }
  });
});
