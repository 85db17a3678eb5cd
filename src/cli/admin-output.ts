/**
 * How the admin CLI prints: a plain-text table (no colours, so it reads the same on a terminal, in `less` or
 * through `grep`), or with --json the API's answer unchanged, one document, for scripts.
 */

/** Left-aligned columns two spaces apart; a cell longer than `max` is cut with "…". Empty cells print "-". */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>, max = 60): string {
  const cut = (s: string) => (s.length > max ? `${s.slice(0, max - 1)}…` : s || '-');
  const cells = [header.map(String), ...rows.map((r) => r.map(cut))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

/** `label  value` lines, the labels padded to one width; undefined and null values are left out. */
export function fields(pairs: ReadonlyArray<readonly [string, unknown]>): string {
  const shown = pairs.filter(([, v]) => v !== undefined && v !== null && v !== '');
  const width = Math.max(0, ...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${k.padEnd(width)}  ${String(v)}`).join('\n') + '\n';
}

/** An ISO time as `2026-11-24 12:00:05Z` (seconds are enough in a table). */
export function when(iso: unknown): string {
  if (typeof iso !== 'string') return '';
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.\d+)?Z$/.exec(iso);
  return m ? `${m[1]} ${m[2]}Z` : iso;
}

/** The JSON answer, for --json: indented on a terminal, one line otherwise (jq reads both). */
export function printJson(value: unknown, out: NodeJS.WriteStream = process.stdout): void {
  out.write(`${JSON.stringify(value, null, out.isTTY ? 2 : undefined)}\n`);
}

export function print(text: string): void {
  process.stdout.write(text);
}

/** `n thing(s)`. */
export function plural(n: number, thing: string): string {
  return `${n} ${thing}${n === 1 ? '' : 's'}`;
}

/** A JSON object's member as a record (the API's answers are objects; a missing member is empty). */
export function obj(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}

export function str(value: unknown): string {
  return value === undefined || value === null ? '' : String(value);
}

/** A bulk answer's count, said as the dashboard does: "more than 100" when the server counted past its cap. */
export function howMany(matched: number, cap: number | undefined, thing: string): string {
  return cap !== undefined && matched > cap ? `more than ${cap} ${thing}s (at most ${cap} are touched; --limit raises the cap up to 1000)` : plural(matched, thing);
}
