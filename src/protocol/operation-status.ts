/**
 * Reading a status representation, whoever wrote it. asyncgate's follows Azure's long-running
 * operation shape, so one reader covers both: `{ status, percentComplete?, progress?, resourceLocation?, error?,
 * links? }`. Status names vary by service (Azure: `NotStarted`, `Running`, `Succeeded`, `Failed`, `Canceled`;
 * others write `InProgress`, `Cancelled`, `completed`…), so they are matched case-insensitively by family.
 */

/** The five states asyncgate reports; other servers' names map onto them. */
export type AsyncStatus = 'NotStarted' | 'Running' | 'Succeeded' | 'Failed' | 'Canceled';

/** What `onProgress` receives on every change the client sees. */
export interface AsyncProgress {
  status: AsyncStatus;
  /** 0–100, when the server says (`percentComplete`, or `progress.percent`, or current/total). */
  percent?: number;
  /** asyncgate's `progress` member: `{ current?, total?, message? }`. */
  progress?: { current?: number; total?: number; message?: string };
  /** The status monitor's URL. */
  monitor: string;
  /** The representation as the server sent it (parsed JSON), when there was one. */
  representation?: unknown;
}

/** A status representation, read. */
export interface StatusReading {
  status: AsyncStatus;
  percent?: number;
  progress?: { current?: number; total?: number; message?: string };
  /** Where the result is: `resourceLocation`, else `links.result.href` (asyncgate keeps failed responses there too). */
  resultUrl?: string;
  /** asyncgate's `response` member: the upstream answered, so a result exists even for `Failed`. */
  hasResponse: boolean;
  error?: { code: string; message: string };
  links: { self?: string; events?: string; cancel?: string; result?: string };
}

const FAMILIES: Array<[RegExp, AsyncStatus]> = [
  [/^(notstarted|queued|pending|accepted|waiting|created|new)$/, 'NotStarted'],
  [/^(running|inprogress|in_progress|processing|started|active|updating|deleting|creating)$/, 'Running'],
  [/^(succeeded|success|successful|completed|complete|done|finished)$/, 'Succeeded'],
  [/^(failed|failure|error|errored)$/, 'Failed'],
  [/^(canceled|cancelled|aborted)$/, 'Canceled'],
];

/** Map a server's status name to one of the five, undefined when it is not a status name we know. */
export function statusFamily(name: unknown): AsyncStatus | undefined {
  if (typeof name !== 'string') return undefined;
  const key = name.trim().toLowerCase().replace(/[\s-]/g, '');
  for (const [pattern, status] of FAMILIES) if (pattern.test(key)) return status;
  return undefined;
}

export const isTerminal = (status: AsyncStatus): boolean => status === 'Succeeded' || status === 'Failed' || status === 'Canceled';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

function href(links: Record<string, unknown>, name: string): string | undefined {
  const link = links[name];
  return isObject(link) ? str(link.href) : str(link);
}

const clamp = (n: number) => Math.max(0, Math.min(100, n));

/** Read a parsed JSON body as a status representation; undefined when it has no recognisable `status`. */
export function readStatus(body: unknown): StatusReading | undefined {
  if (!isObject(body)) return undefined;
  const status = statusFamily(body.status);
  if (!status) return undefined;
  const reading: StatusReading = { status, hasResponse: isObject(body.response), links: {} };
  const progress = isObject(body.progress) ? body.progress : undefined;
  if (progress) {
    reading.progress = {};
    const current = num(progress.current);
    const total = num(progress.total);
    if (current !== undefined) reading.progress.current = current;
    if (total !== undefined) reading.progress.total = total;
    if (typeof progress.message === 'string') reading.progress.message = progress.message;
  }
  const percent =
    num(body.percentComplete) ??
    num(progress?.percent) ??
    (reading.progress?.current !== undefined && reading.progress.total ? (reading.progress.current / reading.progress.total) * 100 : undefined);
  if (percent !== undefined) reading.percent = clamp(percent);
  if (isObject(body.links)) {
    for (const name of ['self', 'events', 'cancel', 'result'] as const) {
      const value = href(body.links, name);
      if (value) reading.links[name] = value;
    }
  }
  const result = str(body.resourceLocation) ?? reading.links.result;
  if (result) reading.resultUrl = result;
  if (isObject(body.error)) {
    reading.error = { code: str(body.error.code) ?? 'Failed', message: typeof body.error.message === 'string' ? body.error.message : '' };
  }
  return reading;
}

/** The `onProgress` view of a reading. */
export function progressOf(reading: StatusReading, monitor: string, representation?: unknown): AsyncProgress {
  const out: AsyncProgress = { status: reading.status, monitor };
  if (reading.percent !== undefined) out.percent = reading.percent;
  if (reading.progress) out.progress = reading.progress;
  if (representation !== undefined) out.representation = representation;
  return out;
}
