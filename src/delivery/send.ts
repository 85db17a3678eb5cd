import type { Dispatcher } from 'undici';

/** What came back from a receiver. */
export interface Reply {
  status: number;
  retryAfter: string | undefined;
  /** The first bytes of the reply's body (for the attempt log); null when it had none. */
  snippet: string | null;
}

export interface SendOptions {
  method: 'POST' | 'PUT' | 'GET';
  headers: Record<string, string>;
  body: Buffer | undefined;
  /** Longest wait for the answer, and for each piece of its body. */
  timeoutMs: number;
  /** Bytes of the reply kept; once past them the exchange is cut (the rest is never read). */
  keep: number;
}

/**
 * Send one callback request through `dispatcher` (the SSRF-guarded agent) and collect only what an attempt
 * records. undici's dispatch API, not `request()`: no response stream and no async iteration per callback,
 * which measured about half of `request()`'s CPU per exchange. Redirects are not followed (a redirect is a failure).
 * Rejects with undici's error (a timeout has code UND_ERR_HEADERS_TIMEOUT or UND_ERR_BODY_TIMEOUT).
 * `abort` receives a function that cuts the exchange (shutdown).
 */
export function sendCallback(
  dispatcher: Dispatcher,
  url: string,
  o: SendOptions,
  abort?: (cut: (reason: Error) => void) => void,
): Promise<Reply> {
  const target = new URL(url);
  return new Promise<Reply>((resolve, reject) => {
    let status = 0;
    let retryAfter: string | undefined;
    const parts: Buffer[] = [];
    let kept = 0;
    let settled = false;
    let current: { abort(reason: Error): void } | undefined;
    abort?.((reason) => current?.abort(reason));
    const done = () => {
      if (settled) return;
      settled = true;
      resolve({ status, retryAfter, snippet: kept === 0 ? null : Buffer.concat(parts, kept).toString('utf8') });
    };
    dispatcher.dispatch(
      {
        origin: target.origin,
        path: target.pathname + target.search,
        method: o.method,
        headers: o.headers,
        body: o.body,
        headersTimeout: o.timeoutMs,
        bodyTimeout: o.timeoutMs,
      },
      {
        onRequestStart(controller) {
          current = controller; // again on a retry of the request: the newest is the one to cut
        },
        onResponseStart(_controller, statusCode, headers) {
          if (statusCode < 200) return; // 1xx: the answer is still to come
          status = statusCode;
          const value = headers['retry-after'];
          retryAfter = Array.isArray(value) ? value[0] : value;
        },
        onResponseData(controller, chunk) {
          if (kept < o.keep) {
            const piece = chunk.subarray(0, o.keep - kept);
            parts.push(piece);
            kept += piece.length;
          }
          if (kept >= o.keep) {
            done(); // enough for the log: stop reading a large answer
            controller.abort(new Error('reply read far enough'));
          }
        },
        onResponseEnd() {
          done();
        },
        onResponseError(_controller, error) {
          if (settled) return;
          settled = true;
          reject(error);
        },
      },
    );
  });
}
