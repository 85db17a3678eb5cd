import { STATUS_CODES } from 'node:http';
import { FRAMING_HEADERS } from '../protocol/hop-by-hop.js';
import { PROBLEM_CONTENT_TYPE } from '../protocol/problem.js';
import { jobFailure } from '../resource/job-failure.js';
import { representation } from '../resource/representation.js';
import type { JobUrls } from '../resource/urls.js';
import type { Delivery, Job } from '../model.js';

/** The request a delivery sends, before signing. */
export interface CallbackRequest {
  method: 'POST' | 'PUT' | 'GET';
  headers: Record<string, string>;
  body: Buffer;
}

/** Response headers not copied into a `response`-mode callback: they describe the upstream hop, or its client.
 * The trace context is the callback's own (delivery-worker.ts). */
const NOT_COPIED = new Set([...FRAMING_HEADERS, 'date', 'set-cookie', 'traceparent', 'tracestate']);

const JSON_TYPE = 'application/json';

/**
 * Build a callback for a finished job (docs/callbacks.md). Every mode carries `Link: <monitor>; rel="monitor"` and
 * the job id.
 * - response: the stored response itself, with response redirection's `Status: 200 OK` header;
 * - notify: the status representation (the Fedora Accept-Asynchronous proposal's "metadata about the response");
 * - status: Lyst's callback_url summary (`status`, `source_url`, `job_id`, `status_url`, the response);
 * - ping: a bodiless GET (OData).
 */
export function buildCallback(delivery: Delivery, job: Job, urls: JobUrls, result: Buffer | null): CallbackRequest {
  const headers: Record<string, string> = {
    link: `<${urls.self}>; rel="monitor"`,
    'asyncgate-job-id': job.id,
  };
  switch (delivery.mode) {
    case 'ping':
      return { method: 'GET', headers, body: Buffer.alloc(0) };
    case 'push':
      throw new Error('a push delivery is sealed for its subscription (push/push-message.ts), not built here');
    case 'qstash-callback':
    case 'qstash-failure-callback':
      throw new Error('a QStash callback is built and signed by qstash-callback.ts');
    case 'notify':
      return json(delivery, headers, representation(job, urls));
    case 'status':
      return json(delivery, headers, statusSummary(job, urls, result));
    case 'response': {
      const response = job.response;
      if (!response) {
        // No upstream answer to forward (the gateway failed or the client canceled): say so, as a problem.
        const problem = jobFailure(job);
        headers.status = statusLine(problem.status);
        headers['content-type'] = PROBLEM_CONTENT_TYPE;
        return { method: methodOf(delivery), headers, body: Buffer.from(JSON.stringify(problem.toProblem())) };
      }
      for (const [name, value] of response.headers) if (!NOT_COPIED.has(name) && !(name in headers)) headers[name] = value;
      headers.status = statusLine(response.status);
      return { method: methodOf(delivery), headers, body: result ?? Buffer.alloc(0) };
    }
  }
}

function json(delivery: Delivery, headers: Record<string, string>, value: unknown): CallbackRequest {
  headers['content-type'] = JSON_TYPE;
  return { method: methodOf(delivery), headers, body: Buffer.from(JSON.stringify(value)) };
}

/** The `Status` header of a response-mode callback: `200 OK`, as in a CGI response. */
const statusLine = (status: number) => `${status} ${STATUS_CODES[status] ?? ''}`.trim();

const methodOf = (d: Delivery): 'POST' | 'PUT' => (d.method === 'PUT' ? 'PUT' : 'POST');

/** The callback body of Lyst's callback_url convention: `{ status, source_url, job_id, status_url, response }`. */
function statusSummary(job: Job, urls: JobUrls, result: Buffer | null): Record<string, unknown> {
  const out: Record<string, unknown> = {
    status: job.state === 'succeeded' ? 'completed' : job.state,
    source_url: job.options.sourceUrl ?? job.request.url,
    job_id: job.id,
    status_url: urls.self,
  };
  if (job.response) {
    const response: Record<string, unknown> = { status: job.response.status };
    if (result && /\bjson\b/i.test(job.response.contentType ?? '')) {
      try {
        response.body = JSON.parse(result.toString('utf8')) as unknown;
      } catch {
        response.body = result.toString('utf8');
      }
    } else if (result) {
      response.body = result.toString('utf8');
    }
    out.response = response;
  }
  if (job.error) out.error = job.error;
  return out;
}
