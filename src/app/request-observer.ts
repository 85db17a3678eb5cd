import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { parseTraceparent } from '../protocol/trace-context.js';
import type { Metrics } from '../telemetry/metrics.js';
import { requestNote } from '../telemetry/request-note.js';

/**
 * Count a request once it is answered (or its connection closed first): `asyncgate_http_requests_total` and
 * its duration under the route it was noted as, and with `accessLog`, one log line about it. Both faces call
 * it as a request arrives.
 */
export function observeRequest(req: IncomingMessage, res: ServerResponse, metrics: Metrics, accessLog: Logger | undefined): void {
  if (!metrics.enabled && !accessLog) return;
  const started = performance.now();
  res.once('close', () => {
    const seconds = (performance.now() - started) / 1000;
    const note = requestNote(req);
    // A connection closed before the answer was sent: 499, as nginx logs it (the client went away).
    const status = res.writableFinished ? res.statusCode : 499;
    metrics.http(note.route, status, seconds);
    if (!accessLog) return;
    const traceId = note.traceId ?? parseTraceparent(req.headers.traceparent)?.traceId;
    accessLog.info(
      {
        method: req.method,
        url: req.url,
        route: note.route,
        status,
        duration_ms: Math.round(seconds * 1e4) / 10,
        ...(note.jobId ? { job_id: note.jobId } : {}),
        ...(traceId ? { trace_id: traceId } : {}),
      },
      'request',
    );
  });
}
