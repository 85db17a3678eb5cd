/**
 * The job error codes as asyncgate spelled them before every code became kebab-case, and their spelling now:
 * migrations rewrite stored jobs with it (SQLite 5, PostgreSQL 3). Frozen with those migrations.
 */
const RESPELLED: ReadonlyArray<readonly [string, string]> = [
  ['UpstreamHttpError', 'upstream-http-error'],
  ['UpstreamUnreachable', 'upstream-unreachable'],
  ['UpstreamTimeout', 'upstream-timeout'],
  ['UpstreamInterrupted', 'upstream-interrupted'],
  ['Canceled', 'canceled'],
  ['ResultTooLarge', 'result-too-large'],
  ['HandlerFailed', 'handler-failed'],
  ['HandlerNotRegistered', 'handler-not-registered'],
  ['InternalError', 'internal'],
];

/** SQL: the new spelling of the old code `expr` evaluates to (`CASE … END`), and the list of old codes. */
export function respelledCodes(expr: string): { newCode: string; oldCodes: string } {
  const whens = RESPELLED.map(([from, to]) => `WHEN '${from}' THEN '${to}'`).join(' ');
  return { newCode: `CASE ${expr} ${whens} END`, oldCodes: RESPELLED.map(([from]) => `'${from}'`).join(', ') };
}
