/**
 * Retry-After (RFC 9110 §10.2.3), with the three HTTP-date forms of §5.6.7.
 *
 * RFC 9110 §10.2.3:
 *   Retry-After   = HTTP-date / delay-seconds
 *   delay-seconds = 1*DIGIT
 *
 * RFC 9110 §5.6.7:
 *   HTTP-date    = IMF-fixdate / obs-date
 *   IMF-fixdate  = day-name "," SP date1 SP time-of-day SP GMT     ; Sun, 06 Nov 1994 08:49:37 GMT
 *   obs-date     = rfc850-date / asctime-date
 *   rfc850-date  = day-name-l "," SP date2 SP time-of-day SP GMT   ; Sunday, 06-Nov-94 08:49:37 GMT
 *   asctime-date = day-name SP date3 SP time-of-day SP year       ; Sun Nov  6 08:49:37 1994
 * "A recipient that parses a timestamp value in an HTTP field MUST accept all three HTTP-date formats."
 */
import { ProtocolError } from './errors.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = MONTHS.join('|');
const IMF_FIXDATE = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\\d{2}) (${MONTH}) (\\d{4}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`);
const RFC850 = new RegExp(`^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-(${MONTH})-(\\d{2}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`);
const ASCTIME = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (${MONTH}) ([ \\d]\\d) (\\d{2}):(\\d{2}):(\\d{2}) (\\d{4})$`);
// RFC 9111 §1.2.2 treats delta-seconds past 2^31 as 2^31; keep a bound so the result stays a usable delay.
const MAX_SECONDS = 2 ** 31 - 1;

function utc(now: number, year: number, month: string, day: string, h: string, m: string, s: string): number | undefined {
  const mon = MONTHS.indexOf(month);
  const [d, hh, mm, ss] = [Number(day), Number(h), Number(m), Number(s)];
  // §5.6.7 allows a leap second (60); Date has none, so it reads as the next second.
  if (d < 1 || hh > 23 || mm > 59 || ss > 60) return undefined;
  // setUTCFullYear, because Date.UTC reads years 0–99 as 1900–1999.
  const date = new Date(0);
  date.setUTCFullYear(year, mon, d);
  // Date rolls "31 Feb" into March; such a date is malformed, not a different date.
  if (date.getUTCDate() !== d) return undefined;
  return date.getTime() + ((hh * 60 + mm) * 60 + ss) * 1000 - now;
}

function httpDate(value: string, now: number): number | undefined {
  let m = IMF_FIXDATE.exec(value);
  if (m) return utc(now, Number(m[3]), m[2] ?? '', m[1] ?? '', m[4] ?? '', m[5] ?? '', m[6] ?? '');
  m = RFC850.exec(value);
  if (m) {
    // §5.6.7: a two-digit year more than 50 years in the future is the most recent past year with those digits.
    const thisYear = new Date(now).getUTCFullYear();
    let year = Math.floor(thisYear / 100) * 100 + Number(m[3]);
    if (year > thisYear + 50) year -= 100;
    return utc(now, year, m[2] ?? '', m[1] ?? '', m[4] ?? '', m[5] ?? '', m[6] ?? '');
  }
  m = ASCTIME.exec(value);
  if (m) return utc(now, Number(m[6]), m[1] ?? '', (m[2] ?? '').trim(), m[3] ?? '', m[4] ?? '', m[5] ?? '');
  return undefined;
}

/** Parse Retry-After (delta-seconds or HTTP-date) to milliseconds from `now` (>= 0). undefined when absent or malformed (never throws: it comes from servers we don't control). */
export function parseRetryAfter(field: string | undefined, now: number = Date.now()): number | undefined {
  if (field === undefined) return undefined;
  const value = field.trim();
  if (/^[0-9]+$/.test(value)) return (value.length > 10 ? MAX_SECONDS : Math.min(Number(value), MAX_SECONDS)) * 1000;
  const delta = httpDate(value, now);
  // A date in the past means "now", not "never".
  return delta === undefined || Number.isNaN(delta) ? undefined : Math.max(0, delta);
}

/** Format a delay in ms as delta-seconds, rounding up, minimum 1 unless 0 given. */
export function formatRetryAfter(ms: number): string {
  if (Number.isNaN(ms)) throw new ProtocolError('Retry-After', 'the delay is not a number');
  // Rounding up means a client that waits the advertised time never comes back too early.
  // Math.max(1, …) because a subnormal ms divided by 1000 underflows to 0.
  return ms > 0 ? String(Math.min(Math.max(1, Math.ceil(ms / 1000)), MAX_SECONDS)) : '0';
}
