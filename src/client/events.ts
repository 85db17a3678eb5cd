/**
 * Following a job through its event stream (`GET {prefix}/jobs/{id}/events`, `text/event-stream`): every
 * `status` event carries the full status representation; the stream ends after the terminal one; `gone` means
 * the job was deleted. A dropped or silent connection (no event and no `: keep-alive` within
 * `heartbeatTimeout`) is resumed with `Last-Event-ID`; after three failures in a row, or when the server does
 * not offer a stream after all, the caller falls back to polling.
 */
import { sleep, type Outcome, type WatchContext } from './context.js';
import { learnLinks, parseJson, type Operation } from './discovery.js';
import { AsyncClientError, AsyncJobGoneError } from './errors.js';
import { readEventStream } from './sse.js';
import { isTerminal, readStatus } from './status.js';

const MAX_FAILURES = 3;

/** Listen until an outcome; `undefined` means "no usable stream: poll instead". */
export async function watchEvents(op: Operation, ctx: WatchContext): Promise<Outcome | undefined> {
  const url = op.events;
  if (!url) return undefined;
  let lastEventId = '';
  let failures = 0;
  let retryMs = 500;
  let handlerError: { error: unknown } | undefined;
  while (failures < MAX_FAILURES) {
    // Already aborted (e.g. from onProgress of the 202's own status): the listener below would never fire.
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const connection = new AbortController();
    const abort = () => connection.abort(ctx.signal.reason);
    ctx.signal.addEventListener('abort', abort, { once: true });
    let watchdog: NodeJS.Timeout | undefined;
    const alive = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => connection.abort(new Error('event stream silent')), ctx.heartbeatTimeout);
    };
    try {
      const headers = ctx.headersFor(url);
      headers.set('accept', 'text/event-stream');
      if (lastEventId) headers.set('last-event-id', lastEventId);
      alive();
      const res = await ctx.fetch(url, { headers, signal: connection.signal });
      if (!res.ok || !/^text\/event-stream\b/i.test(res.headers.get('content-type') ?? '') || !res.body) {
        // Not a stream (an older server, a proxy that strips it, or the job is gone): polling will tell.
        await res.body?.cancel();
        return undefined;
      }
      for await (const event of readEventStream(res.body, alive)) {
        failures = 0;
        if (event.retry !== undefined) retryMs = event.retry;
        if (event.lastEventId) lastEventId = event.lastEventId;
        if (event.type === 'gone') throw new AsyncJobGoneError({ monitor: op.monitor, representation: op.representation });
        if (event.type !== 'status' && event.type !== 'message') continue;
        const representation = parseJson(event.data);
        const reading = readStatus(representation);
        if (!reading) continue;
        op.representation = representation;
        learnLinks(op, reading);
        try {
          ctx.observe(reading, representation);
        } catch (error) {
          // The caller's onProgress threw: that ends the wait, it is not a broken connection.
          handlerError = { error };
          throw error;
        }
        if (isTerminal(reading.status)) {
          const response = new Response(event.data, { status: 200, headers: { 'content-type': 'application/json' } });
          return { type: 'status', reading, representation, response };
        }
      }
      failures++;
    } catch (error) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      if (error instanceof AsyncClientError || (handlerError && error === handlerError.error)) throw error;
      failures++;
    } finally {
      clearTimeout(watchdog);
      ctx.signal.removeEventListener('abort', abort);
      connection.abort();
    }
    await sleep(retryMs * failures, ctx.signal);
  }
  return undefined;
}
