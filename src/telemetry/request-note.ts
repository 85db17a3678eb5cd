/**
 * What a request turned out to be, noted by whoever handled it, for its metrics and access log line: the
 * route (a template like `/_async/jobs/:id`, or a fixed name for the proxied side, never a raw path), and the
 * job and trace it was about. Kept on the request object, gone with it.
 */
export interface RequestNote {
  route: string;
  jobId?: string;
  traceId?: string;
}

/** Route names of requests outside the prefix table. */
export const ROUTE_NAMES = {
  /** Made asynchronous: a job accepted (202), or a repeat of one. */
  accept: '(accept)',
  /** Proxied synchronously to the upstream. */
  proxy: '(proxy)',
  /** Under the prefix, matching no route (404 / 405). */
  unmatched: '(unmatched)',
  /** Anything else: refused before it was routed (a malformed control header, a CORS preflight). */
  other: '(other)',
} as const;

/** Kept on the request object itself under a symbol: cheaper, per request, than a WeakMap entry. */
const NOTE = Symbol('asyncgate.requestNote');
type Noted = { [NOTE]?: RequestNote };

/** Note (or add to the note of) what `req` is about. */
export function noteRequest(req: object, note: Partial<RequestNote>): void {
  const held = (req as Noted)[NOTE];
  if (held) Object.assign(held, note);
  else (req as Noted)[NOTE] = { route: ROUTE_NAMES.other, ...note };
}

export function requestNote(req: object): RequestNote {
  return (req as Noted)[NOTE] ?? { route: ROUTE_NAMES.other };
}
