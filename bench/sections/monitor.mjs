// Section B: status-monitor polls/s on one finished job, plain GET (200) and If-None-Match with its ETag
// (304), through the gateway and against the ceiling's answers of the same shape.
import { setTimeout as sleep } from 'node:timers/promises';
import { fetch } from 'undici';
import { withCpu } from '../lib/cpu.mjs';
import { ACCEPT_REQUEST, getJson, load, summary } from '../lib/load.mjs';
import { log } from '../lib/paths.mjs';
import { probe, startGateway, stopChild } from '../lib/processes.mjs';

export async function sectionMonitor(ctx) {
  const { ceiling, upstream, settings: s } = ctx;
  const gateway = await startGateway(s, upstream.url, ctx.dbFile, 'monitor');
  log('B. status monitor: creating one job and waiting for it to finish');
  const created = await fetch(`${gateway.url}/work`, { ...ACCEPT_REQUEST });
  if (created.status !== 202) throw new Error(`expected 202 from the gateway, got ${created.status}: ${await created.text()}`);
  const { id } = await created.json();
  const monitorUrl = `${gateway.url}/_async/jobs/${id}`;
  let job;
  const deadline = Date.now() + 15_000;
  for (;;) {
    job = await getJson(monitorUrl);
    if (job.json?.status === 'Succeeded') break;
    if (['Failed', 'Canceled'].includes(job.json?.status) || Date.now() > deadline) {
      throw new Error(`job ${id} did not succeed: ${job.status} ${JSON.stringify(job.json)}`);
    }
    await sleep(20);
  }
  const etag = job.headers.get('etag');
  const check304 = await fetch(monitorUrl, { headers: { 'if-none-match': etag } });
  await check304.arrayBuffer();
  if (check304.status !== 304) throw new Error(`If-None-Match: ${etag} answered ${check304.status}, not 304`);
  const baseMonitor = `${ceiling.url}/_async/jobs/${id}`;

  log(`B. monitor GET polls: ceiling, then asyncgate, c=${s.connections}, ${s.duration} s each`);
  const base200 = await withCpu({ ceiling }, () => load(s, { url: baseMonitor }));
  await probe(gateway);
  const gw200 = await withCpu({ gateway }, () => load(s, { url: monitorUrl }));
  const probe200 = await probe(gateway);
  log('B. monitor If-None-Match polls (304): ceiling, then asyncgate');
  const base304 = await withCpu({ ceiling }, () => load(s, { url: baseMonitor, headers: { 'if-none-match': '"3"' } }));
  await probe(gateway);
  const gw304 = await withCpu({ gateway }, () => load(s, { url: monitorUrl, headers: { 'if-none-match': etag } }));
  const probe304 = await probe(gateway);
  await stopChild(gateway);
  return {
    jobId: id,
    etag,
    monitorBytes: JSON.stringify(job.json).length,
    get: { gateway: { ...summary(gw200.result, 200), cpu: gw200.cpu, probe: probe200 }, baseline: { ...summary(base200.result, 200), cpu: base200.cpu } },
    inm: { gateway: { ...summary(gw304.result, 304), cpu: gw304.cpu, probe: probe304 }, baseline: { ...summary(base304.result, 304), cpu: base304.cpu } },
    warnings: gateway.warnings,
  };
}
