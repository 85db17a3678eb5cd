import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CronError, parseCron } from './cron.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const iso = (ms: number): string => new Date(ms).toISOString();

test('every minute: the next whole minute, strictly after', () => {
  const cron = parseCron('* * * * *');
  assert.equal(cron.expression, '* * * * *');
  assert.equal(cron.timeZone, 'UTC');
  const t = Date.UTC(2024, 0, 1, 12, 0);
  assert.equal(iso(cron.nextAfter(t)), '2024-01-01T12:01:00.000Z', 'on a fire time, the next one');
  assert.equal(iso(cron.nextAfter(t - 1)), '2024-01-01T12:00:00.000Z');
  assert.equal(iso(cron.nextAfter(t + 1)), '2024-01-01T12:01:00.000Z');
  assert.equal(iso(cron.nextAfter(t + 59_999)), '2024-01-01T12:01:00.000Z');
});

test('a fixed hour in UTC, steps, lists and names', () => {
  assert.equal(iso(parseCron('0 4 * * *').nextAfter(Date.UTC(2024, 0, 1, 3, 59))), '2024-01-01T04:00:00.000Z');
  assert.equal(iso(parseCron('0 4 * * *').nextAfter(Date.UTC(2024, 0, 1, 4, 0))), '2024-01-02T04:00:00.000Z');
  assert.equal(iso(parseCron('*/15 * * * *').nextAfter(Date.UTC(2024, 0, 1, 0, 16))), '2024-01-01T00:30:00.000Z');
  assert.equal(iso(parseCron('0 9 * * MON-FRI').nextAfter(Date.UTC(2024, 0, 5, 10))), '2024-01-08T09:00:00.000Z', 'Friday → Monday');
  assert.equal(iso(parseCron('30 0 1 JAN,JUL *').nextAfter(Date.UTC(2024, 0, 2))), '2024-07-01T00:30:00.000Z');
  assert.equal(iso(parseCron('0 0 29 2 *').nextAfter(Date.UTC(2024, 2, 1))), '2028-02-29T00:00:00.000Z');
  assert.equal(parseCron('  0   4 *  * *  ').expression, '0 4 * * *', 'whitespace is normalized');
});

test('CRON_TZ=America/New_York keeps 04:00 local across both DST changes', () => {
  const cron = parseCron('CRON_TZ=America/New_York 0 4 * * *');
  assert.equal(cron.timeZone, 'America/New_York');
  assert.equal(cron.expression, '0 4 * * *');
  // Spring forward on 2024-03-10: 04:00 EST is 09:00Z, 04:00 EDT is 08:00Z.
  let t = Date.UTC(2024, 2, 8, 12);
  const spring = [];
  for (let i = 0; i < 3; i++) spring.push(iso((t = cron.nextAfter(t))));
  assert.deepEqual(spring, ['2024-03-09T09:00:00.000Z', '2024-03-10T08:00:00.000Z', '2024-03-11T08:00:00.000Z']);
  assert.equal(Date.parse(spring[2] ?? '') - Date.parse(spring[1] ?? ''), DAY);
  assert.equal(Date.parse(spring[1] ?? '') - Date.parse(spring[0] ?? ''), DAY - HOUR, 'the short day');
  // Fall back on 2024-11-03.
  t = Date.UTC(2024, 10, 1, 12);
  const fall = [];
  for (let i = 0; i < 3; i++) fall.push(iso((t = cron.nextAfter(t))));
  assert.deepEqual(fall, ['2024-11-02T08:00:00.000Z', '2024-11-03T09:00:00.000Z', '2024-11-04T09:00:00.000Z']);
});

test('CRON_TZ shifts the fire time by the zone\'s offset', () => {
  const tokyo = parseCron('CRON_TZ=Asia/Tokyo 0 9 * * *');
  assert.equal(iso(tokyo.nextAfter(Date.UTC(2024, 4, 31, 23, 59))), '2024-06-01T00:00:00.000Z', '09:00 JST is 00:00Z');
  assert.equal(parseCron('CRON_TZ=UTC 0 9 * * *').timeZone, 'UTC');
});

test('invalid schedules are rejected with a CronError that says why', () => {
  const bad: [string, RegExp][] = [
    ['', /has 0 fields/],
    ['* * * *', /has 4 fields/],
    ['0 * * * * *', /6 fields; a seconds field is not supported/],
    ['0 0 4 * * * 2024', /has 7 fields/],
    ['@daily', /has 1 field:/],
    ['60 * * * *', /invalid: Constraint error/],
    ['* 24 * * *', /invalid/],
    ['* * 32 * *', /invalid/],
    ['* * * 13 *', /invalid/],
    ['* * * * 8', /invalid/],
    ['a b c d e', /invalid/],
    ['5-1 * * * *', /invalid/],
    ['*/0 * * * *', /invalid/],
    ['0 0 30 2 *', /invalid/],
    ['0 0 31 4,6 *', /invalid/],
    ['CRON_TZ=Mars/Olympus 0 4 * * *', /not an IANA time zone/],
    ['CRON_TZ=+05:00 0 4 * * *', /not an IANA time zone/],
    ['CRON_TZ= 0 4 * * *', /must have an IANA time zone/],
    ['CRON_TZ=America/New_York', /must have an IANA time zone and then five fields/],
    ['CRON_TZ=America/New_York 0 0 4 * * *', /6 fields/],
    [`0 4 * * *${' '.repeat(250)}`, /longer than 256/],
  ];
  for (const [expr, message] of bad) {
    assert.throws(() => parseCron(expr), (err: unknown) => {
      assert.ok(err instanceof CronError && err instanceof TypeError, `${JSON.stringify(expr)}: ${String(err)}`);
      assert.equal(err.name, 'CronError');
      assert.match(err.message, message, JSON.stringify(expr));
      assert.match(err.message, /\.$/);
      return true;
    });
  }
  const cron = parseCron('* * * * *');
  for (const t of [NaN, Infinity, 8.64e15 + 1]) assert.throws(() => cron.nextAfter(t), CronError);
});

test('property: nextAfter is strictly after, on a whole minute, and strictly increasing when iterated', () => {
  const field = (max: number, min = 0): fc.Arbitrary<string> =>
    fc.oneof(
      fc.constant('*'),
      fc.integer({ min, max }).map(String),
      fc.integer({ min: 1, max: 15 }).map((n) => `*/${n}`),
      fc.uniqueArray(fc.integer({ min, max }), { minLength: 1, maxLength: 3 }).map((xs) => xs.join(',')),
    );
  const schedule = fc.tuple(field(59), field(23), field(28, 1), field(12, 1), field(6)).map((fs) => fs.join(' '));
  const zone = fc.constantFrom('', 'CRON_TZ=America/New_York ', 'CRON_TZ=Europe/Berlin ', 'CRON_TZ=Asia/Kolkata ', 'CRON_TZ=Australia/Lord_Howe ');
  fc.assert(
    fc.property(zone, schedule, fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2100, 0, 1) }), (tz, fields, start) => {
      const cron = parseCron(tz + fields);
      let t = start;
      for (let i = 0; i < 5; i++) {
        const next = cron.nextAfter(t);
        assert.ok(next > t, `${tz}${fields}: ${iso(next)} is not after ${iso(t)}`);
        assert.equal(next % MIN, 0, 'fires on a whole minute');
        assert.ok(next - t <= 8 * 366 * DAY, 'within a few years');
        t = next;
      }
    }),
    { numRuns: 200 },
  );
});

test('property: parseCron throws nothing but CronError, and what it accepts answers nextAfter', () => {
  const cronish = fc.string({ unit: fc.constantFrom(...'0123456789*/,-? LW#MONJAN'), maxLength: 30 });
  const prefixed = fc.tuple(fc.constantFrom('', 'CRON_TZ=', 'CRON_TZ=UTC ', 'CRON_TZ=Europe/Paris '), cronish).map(([p, s]) => p + s);
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), cronish, prefixed), (expr) => {
      let cron;
      try {
        cron = parseCron(expr);
      } catch (err) {
        assert.ok(err instanceof CronError, `${JSON.stringify(expr)}: ${String(err)}`);
        return;
      }
      assert.ok(cron.nextAfter(Date.UTC(2030, 0, 1)) > Date.UTC(2030, 0, 1), expr);
    }),
    { numRuns: 1000 },
  );
});
