import { adminCall, confirmBulk, type AdminConnection } from './admin-client.js';
import { howMany, obj, plural, print, printJson } from './admin-output.js';

/** What one bulk command does, in its own words. */
export interface BulkAction {
  /** The admin API path: `POST path?…&dry-run=1` counts, `POST path?…` acts. */
  path: string;
  /** What is counted, in the singular: `dead letter`, `failed or canceled job`. */
  noun: string;
  /** The verb, capitalised for the question (`Retry`) and lower case in the outcome (`retry`). */
  verb: string;
  /** The member of the answer saying how many were acted on (`retried`) and the noun for it (`job`). */
  doneKey: string;
  doneNoun: string;
}

/**
 * A bulk command after its dry run (`probe`, the answer to `dry-run=1`): say how many match, stop there for
 * --dry-run or when none do, else confirm (--yes, or a question on a terminal) and act.
 */
export async function runBulk(
  conn: AdminConnection,
  action: BulkAction,
  params: URLSearchParams,
  probe: Record<string, unknown>,
  options: { json: boolean; dryRun: boolean; yes: boolean },
): Promise<number> {
  const { json, dryRun, yes } = options;
  const matched = Number(probe.matched ?? 0);
  const cap = probe.cap === undefined ? undefined : Number(probe.cap);
  const count = howMany(matched, cap, action.noun);
  const verb = action.verb.toLowerCase();
  if (dryRun || matched === 0) {
    if (json) printJson(probe);
    else print(matched === 0 ? `no ${action.noun} matches: nothing to ${verb}\n` : `would ${verb} ${count}\n`);
    return 0;
  }
  if (!json) process.stderr.write(`${count} match\n`);
  if (!(await confirmBulk(`${action.verb} ${count}?`, yes))) {
    process.stderr.write(`nothing ${action.doneKey}\n`);
    return 0;
  }
  const done = obj(await adminCall(conn, 'POST', action.path, params));
  if (json) printJson(done);
  else print(`${verb}ing ${plural(Number(done[action.doneKey] ?? 0), action.doneNoun)}\n`);
  return 0;
}
