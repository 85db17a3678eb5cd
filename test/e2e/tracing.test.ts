/**
 * One trace across the asynchronous gap (docs/operations/tracing.md), in one process: gateways in both
 * execution modes over real SQLite files, a real upstream and a real callback receiver on loopback. First with
 * no OpenTelemetry SDK registered (the wire headers and `traceId` alone), then with a BasicTracerProvider and
 * an in-memory exporter (the spans, their parents and links, and the ids on the wire). Last, library mode: the
 * handler sees the run's traceparent and runs inside its span.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { pino } from 'pino';
import { withMonitor } from '../../src/adapters/node.js';
import { serveCommand } from '../../src/cli/serve.js';
import { UsageError } from '../../src/cli/flags.js';
import { ConfigError, resolveSettings } from '../../src/config/settings.js';
import { createGateway, type Gateway } from '../../src/gateway/server.js';
import { createAsyncgate, type Asyncgate } from '../../src/library/asyncgate.js';
import type { TraceExecution } from '../../src/model.js';
import { eventually, tempDir } from '../helpers/gateway-process.js';
import { Receiver } from '../helpers/receiver.js';
import { TestUpstream } from '../helpers/upstream.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE}-${CALLER}-01`;
const TRACESTATE = 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE';
const WIRE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;

const dir = tempDir();
const upstream = new TestUpstream();
let receiver: Receiver;
const gateways = {} as Record<TraceExecution, Gateway>;
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

before(async () => {
  await upstream.start();
  receiver = await new Receiver().start();
  for (const mode of ['link', 'child'] as const) {
    const settings = resolveSettings(
      {},
      {
        upstream: upstream.url,
        port: 0,
        db: `sqlite:${join(dir, `${mode}.db`)}`,
        traceExecution: mode,
        callbacks: { allowHosts: '127.0.0.1', retrySchedule: '0s,200ms' },
      },
    );
    gateways[mode] = await createGateway(settings, pino({ level: 'silent' }));
    await gateways[mode].listen();
  }
});
after(async () => {
  for (const gw of Object.values(gateways)) await gw.close(1_000);
  await upstream.close();
  await receiver.close();
  trace.disable();
  context.disable();
  await provider.shutdown();
});

test('the setting: link by default, tracing.execution in the config file, --trace-execution over it', async () => {
  const settings = async (...argv: string[]) => (await serveCommand(['--upstream', 'http://127.0.0.1:9', ...argv]))!.settings;
  assert.equal((await settings()).traceExecution, 'link');
  const file = join(dir, 'tracing.json');
  writeFileSync(file, JSON.stringify({ tracing: { execution: 'child' } }));
  assert.equal((await settings('--config', file)).traceExecution, 'child');
  assert.equal((await settings('--config', file, '--trace-execution', 'link')).traceExecution, 'link');
  await assert.rejects(settings('--trace-execution', 'sibling'), (e: unknown) => e instanceof UsageError && /--trace-execution must be link or child/.test(e.message));
  writeFileSync(file, JSON.stringify({ tracing: { execution: 'sibling' } }));
  await assert.rejects(settings('--config', file), (e: unknown) => e instanceof ConfigError && /tracing\.execution/.test(e.message));
});

interface Run {
  id: string;
  traceId: string;
  /** What the upstream saw, attempt by attempt, and what the receiver saw. */
  upstream: IncomingHttpHeaders[];
  callback: IncomingHttpHeaders;
}

/** Submit a job with a callback and follow it to its callback; `path` is the upstream path. */
async function run(mode: TraceExecution, headers: Record<string, string>, path = '/echo', attempts = 1): Promise<Run> {
  const gw = gateways[mode];
  const res = await fetch(`${gw.url}${path}`, { headers: { ...headers, prefer: 'respond-async', callback: `<${receiver.url}/cb>` } });
  assert.equal(res.status, 202, await res.clone().text());
  const { id } = (await res.json()) as { id: string };
  const callback = await eventually(async () => receiver.received.find((r) => r.headers['asyncgate-job-id'] === id));
  const seen = await eventually(async () => {
    const got = upstream.requestsFor(id);
    return got.length >= attempts && got;
  });
  const status = (await (await fetch(`${gw.url}/_async/jobs/${id}`)).json()) as { traceId: string; status: string };
  assert.equal(status.status, 'Succeeded');
  return { id, traceId: status.traceId, upstream: seen.map((r) => r.headers), callback: callback.headers };
}

function wire(headers: IncomingHttpHeaders): { traceId: string; parentId: string; flags: string } {
  const m = WIRE.exec(String(headers.traceparent));
  assert.ok(m, `a version 00 traceparent: ${headers.traceparent}`);
  return { traceId: m[1]!, parentId: m[2]!, flags: m[3]! };
}

describe('with no OpenTelemetry SDK registered', () => {
  test('the job keeps the caller\'s trace: traceId, and every upstream attempt and callback carries it with a parent-id of its own', async () => {
    for (const mode of ['link', 'child'] as const) {
      const r = await run(mode, { traceparent: TRACEPARENT, tracestate: TRACESTATE });
      assert.equal(r.traceId, TRACE, mode);
      const up = wire(r.upstream[0]!);
      const cb = wire(r.callback);
      assert.deepEqual([up.traceId, cb.traceId], [TRACE, TRACE], mode);
      assert.notEqual(up.parentId, CALLER, `${mode}: not the caller's id (the header is replaced, not forwarded)`);
      assert.notEqual(cb.parentId, CALLER, mode);
      assert.deepEqual([up.flags, cb.flags], ['01', '01'], `${mode}: the caller's sampled flag`);
      assert.equal(r.upstream[0]!.tracestate, TRACESTATE, mode);
      assert.equal(r.callback.tracestate, TRACESTATE, mode);
      // link: both name the (unrecorded) accept span; child: each request its own span.
      if (mode === 'link') assert.equal(up.parentId, cb.parentId);
      else assert.notEqual(up.parentId, cb.parentId);
    }
  });

  test('each attempt of a retried job carries the trace (child: a new parent-id each time)', async () => {
    const r = await run('child', { traceparent: TRACEPARENT }, `/flaky/nosdk?fail=1`, 2);
    const [first, second] = r.upstream.map(wire);
    assert.deepEqual([first!.traceId, second!.traceId], [TRACE, TRACE]);
    assert.notEqual(first!.parentId, second!.parentId);
    assert.equal(r.upstream[1]!.tracestate, undefined, 'no tracestate was sent, none is made up');
  });

  test('a request without a valid traceparent starts a new trace: a fresh traceId, on the wire too', async () => {
    for (const headers of [{}, { traceparent: `00-${TRACE.toUpperCase()}-${CALLER}-01`, tracestate: TRACESTATE }] as Array<Record<string, string>>) {
      const r = await run('link', headers);
      assert.match(r.traceId, /^[0-9a-f]{32}$/);
      assert.notEqual(r.traceId, TRACE);
      assert.equal(wire(r.upstream[0]!).traceId, r.traceId);
      assert.equal(wire(r.callback).traceId, r.traceId);
      assert.equal(wire(r.callback).flags, '01', 'a new trace is marked sampled, for the upstream to decide');
      assert.equal(r.upstream[0]!.tracestate, undefined, 'the tracestate of an unreadable traceparent is dropped');
    }
    const [one, two] = [await run('link', {}), await run('link', {})];
    assert.notEqual(one.traceId, two.traceId, 'a new trace each time');
  });
});

describe('with a BasicTracerProvider registered', () => {
  before(() => {
    assert.ok(trace.setGlobalTracerProvider(provider));
    exporter.reset();
  });

  /** The first finished span of each name about job `id`, once there is one of each. */
  const spansOf = (id: string, names: string[]): Promise<ReadableSpan[]> =>
    eventually(async () => {
      const mine = exporter.getFinishedSpans().filter((s) => s.attributes['asyncgate.job.id'] === id);
      const found = names.map((n) => mine.find((s) => s.name === n));
      return found.every((f) => f !== undefined) && (found as ReadableSpan[]);
    });

  test('child: accept, upstream and callback spans in one trace, each execution span a child of the accept span', async () => {
    const r = await run('child', { traceparent: TRACEPARENT, tracestate: TRACESTATE });
    const [accept, up, cb] = await spansOf(r.id, ['asyncgate accept', 'asyncgate upstream', 'asyncgate callback']);
    assert.equal(r.traceId, TRACE);
    assert.equal(accept!.kind, SpanKind.SERVER);
    assert.equal(accept!.spanContext().traceId, TRACE);
    assert.equal(accept!.parentSpanContext?.spanId, CALLER, "the accept span's parent is the caller's span");
    assert.equal(accept!.attributes['http.request.method'], 'GET');
    assert.equal(accept!.attributes['url.path'], '/echo');
    assert.equal(accept!.attributes['http.response.status_code'], 202);
    for (const span of [up!, cb!]) {
      assert.equal(span.kind, SpanKind.CLIENT);
      assert.equal(span.spanContext().traceId, TRACE, span.name);
      assert.equal(span.parentSpanContext?.spanId, accept!.spanContext().spanId, `${span.name}: a child of the accept span`);
      assert.equal(span.attributes['asyncgate.attempt'], 1);
      assert.equal(span.attributes['http.response.status_code'], 200);
      assert.equal(span.attributes['server.address'], '127.0.0.1');
      assert.equal(span.links.length, 0);
    }
    assert.equal(up!.attributes['http.request.method'], 'GET');
    assert.equal(up!.attributes['url.full'], `${upstream.url}/echo`);
    assert.equal(cb!.attributes['http.request.method'], 'POST');
    assert.equal(cb!.attributes['url.full'], `${receiver.url}/cb`);
    // On the wire: the job's trace, the parent-id the request's own span.
    assert.equal(r.upstream[0]!.traceparent, `00-${TRACE}-${up!.spanContext().spanId}-01`);
    assert.equal(r.callback.traceparent, `00-${TRACE}-${cb!.spanContext().spanId}-01`);
    assert.equal(r.callback.tracestate, TRACESTATE);
  });

  test('child: a retried attempt has a span of its own, the failed one marked with error.type', async () => {
    const r = await run('child', { traceparent: TRACEPARENT }, '/flaky/sdk?fail=1', 2);
    const byAttempt = await eventually(async () => {
      const all = exporter.getFinishedSpans().filter((s) => s.attributes['asyncgate.job.id'] === r.id && s.name === 'asyncgate upstream');
      return all.length === 2 && all.sort((a, b) => Number(a.attributes['asyncgate.attempt']) - Number(b.attributes['asyncgate.attempt']));
    });
    assert.deepEqual(byAttempt.map((s) => s.attributes['asyncgate.attempt']), [1, 2]);
    assert.deepEqual(byAttempt.map((s) => s.attributes['http.response.status_code']), [503, 200]);
    assert.equal(byAttempt[0]!.attributes['error.type'], '503');
    assert.equal(byAttempt[1]!.attributes['error.type'], undefined);
    assert.deepEqual(r.upstream.map((h) => wire(h).parentId), byAttempt.map((s) => s.spanContext().spanId));
  });

  test('link: each execution span starts a trace of its own, linked to the accept span; the wire keeps the job\'s trace', async () => {
    const r = await run('link', { traceparent: TRACEPARENT, tracestate: TRACESTATE });
    const [accept, up, cb] = await spansOf(r.id, ['asyncgate accept', 'asyncgate upstream', 'asyncgate callback']);
    assert.equal(r.traceId, TRACE);
    assert.equal(accept!.spanContext().traceId, TRACE);
    assert.equal(accept!.parentSpanContext?.spanId, CALLER);
    for (const span of [up!, cb!]) {
      assert.notEqual(span.spanContext().traceId, TRACE, `${span.name}: a trace of its own`);
      assert.equal(span.parentSpanContext, undefined, `${span.name}: a root`);
      assert.equal(span.links.length, 1);
      assert.equal(span.links[0]!.context.traceId, TRACE);
      assert.equal(span.links[0]!.context.spanId, accept!.spanContext().spanId, `${span.name}: linked to the accept span`);
    }
    // The requests join the job's trace under the accept span (docs/operations/tracing.md says why).
    assert.equal(r.upstream[0]!.traceparent, `00-${TRACE}-${accept!.spanContext().spanId}-01`);
    assert.equal(r.callback.traceparent, `00-${TRACE}-${accept!.spanContext().spanId}-01`);
    assert.equal(r.upstream[0]!.tracestate, TRACESTATE);
  });

  test('no traceparent: the accept span is a root, and its trace is the job\'s', async () => {
    const r = await run('child', {});
    const [accept, up] = await spansOf(r.id, ['asyncgate accept', 'asyncgate upstream']);
    assert.equal(accept!.parentSpanContext, undefined);
    assert.equal(accept!.spanContext().traceId, r.traceId);
    assert.notEqual(r.traceId, TRACE);
    assert.equal(up!.spanContext().traceId, r.traceId);
    assert.equal(wire(r.upstream[0]!).traceId, r.traceId);
    assert.equal(wire(r.callback).traceId, r.traceId);
  });
});

describe('library mode, with the SDK and a context manager', () => {
  let gate: Asyncgate;
  let server: Server;
  let base = '';
  const seen: Array<{ traceparent: string | null; tracestate: string | null; active: string | undefined }> = [];

  before(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    gate = await createAsyncgate({ db: `sqlite:${join(dir, 'lib.db')}`, tracing: { execution: 'child' }, logger: pino({ level: 'silent' }) });
    const route = gate.route('traced', async ({ request }) => {
      await new Promise((r) => setTimeout(r, 5)); // the span stays active across an await
      seen.push({ traceparent: request.headers.get('traceparent'), tracestate: request.headers.get('tracestate'), active: trace.getActiveSpan()?.spanContext().spanId });
      return 'ok';
    });
    server = createServer(withMonitor(gate, (req, res) => void route(req, res)));
    await gate.start();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await gate.close(1_000);
  });

  test("the handler's request carries the run's traceparent, and the run's span is active while it runs", async () => {
    const res = await fetch(`${base}/traced`, { headers: { prefer: 'respond-async', traceparent: TRACEPARENT, tracestate: TRACESTATE } });
    assert.equal(res.status, 202);
    const { id, traceId } = (await res.json()) as { id: string; traceId: string };
    assert.equal(traceId, TRACE);
    const got = await eventually(async () => seen[0]);
    const handlerSpan = await eventually(async () =>
      exporter.getFinishedSpans().find((s) => s.name === 'asyncgate handler' && s.attributes['asyncgate.job.id'] === id),
    );
    assert.equal(handlerSpan.kind, SpanKind.INTERNAL);
    assert.equal(handlerSpan.spanContext().traceId, TRACE);
    assert.equal(got.traceparent, `00-${TRACE}-${handlerSpan.spanContext().spanId}-01`);
    assert.equal(got.tracestate, TRACESTATE);
    assert.equal(got.active, handlerSpan.spanContext().spanId);
  });
});
