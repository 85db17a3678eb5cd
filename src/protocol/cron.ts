/**
 * Cron schedules as QStash takes them (`Upstash-Cron`, and `cron` in the schedules API): five fields, with an
 * optional time-zone prefix (upstash.com/docs/qstash/features/schedules "Timezones"):
 *
 *   schedule = [ "CRON_TZ=" zone 1*SP ] minute SP hour SP day-of-month SP month SP day-of-week
 *   zone     = an IANA time zone name                     ; "CRON_TZ=America/New_York 0 4 * * *"
 *
 * The fields are cron-parser's (ranges, steps, lists, names such as MON and JAN, L and #), but never a sixth
 * (seconds) field: QStash fires on the minute. Without a prefix the schedule runs in UTC.
 */
import cronParser from 'cron-parser';

/** A schedule QStash would not accept; the message says why. */
export class CronError extends TypeError {
  override readonly name = 'CronError';
  readonly code = 'invalid-cron';
}

/** A parsed schedule. */
export interface Cron {
  /** The five fields, separated by single spaces, without the CRON_TZ= prefix. */
  readonly expression: string;
  /** The IANA zone the fields are read in, as written after CRON_TZ=; "UTC" when there is none. */
  readonly timeZone: string;
  /** The first time the schedule fires strictly after `epochMs`, in epoch ms. */
  nextAfter(epochMs: number): number;
}

const MAX_LENGTH = 256;
const PREFIX = /^CRON_TZ=(\S*)\s+([^]*)$/;
const VALIDATION_INSTANT = Date.UTC(2024, 0, 1);
// The Date range (ECMA-262 §21.4.1.22), less a few years so that the next fire time still fits.
const MAX_EPOCH_MS = 8.64e15 - 10 * 366 * 86_400_000;

function checkZone(zone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
  } catch {
    throw new CronError(`The cron time zone ${JSON.stringify(zone)} is not an IANA time zone such as "America/New_York".`);
  }
}

/** Parse a QStash cron schedule ("*\/5 * * * *", "CRON_TZ=Europe/Berlin 0 9 * * MON-FRI"). */
export function parseCron(expr: string): Cron {
  if (expr.length > MAX_LENGTH) throw new CronError(`The cron expression is longer than ${MAX_LENGTH} characters.`);
  let text = expr.trim();
  let timeZone = 'UTC';
  if (text.startsWith('CRON_TZ=')) {
    const m = PREFIX.exec(text);
    if (!m || !m[1]) throw new CronError('The cron expression must have an IANA time zone and then five fields after CRON_TZ=, as in "CRON_TZ=America/New_York 0 4 * * *".');
    timeZone = m[1];
    text = m[2] ?? '';
    checkZone(timeZone);
  }
  const fields = text.split(/\s+/).filter(Boolean);
  if (fields.length !== 5) {
    const got = fields.length === 6 ? 'has 6 fields; a seconds field is not supported' : `has ${fields.length} field${fields.length === 1 ? '' : 's'}`;
    throw new CronError(`The cron expression ${got}: it must have five (minute hour day-of-month month day-of-week), as in "0 4 * * *".`);
  }
  const expression = fields.join(' ');
  const next = (epochMs: number): number => {
    const it = cronParser.parseExpression(expression, { currentDate: new Date(epochMs), tz: timeZone });
    return it.next().getTime();
  };
  try {
    // Some errors (day 31 of a 30-day month) surface only when looking for a fire time; any fixed instant will do.
    next(VALIDATION_INSTANT);
  } catch (err) {
    throw new CronError(`The cron expression ${JSON.stringify(expression)} is invalid: ${err instanceof Error ? err.message : String(err)}.`);
  }
  return {
    expression,
    timeZone,
    nextAfter(epochMs) {
      if (!(Math.abs(epochMs) <= MAX_EPOCH_MS)) throw new CronError(`nextAfter needs an epoch-ms time within the range of Date, not ${epochMs}.`);
      try {
        const at = next(epochMs);
        if (Number.isFinite(at) && at > epochMs) return at;
        throw new Error(`cron-parser answered ${at}`);
      } catch (err) {
        throw new CronError(`The cron expression ${JSON.stringify(expression)} has no fire time after ${new Date(epochMs).toISOString()}: ${err instanceof Error ? err.message : String(err)}.`);
      }
    },
  };
}
