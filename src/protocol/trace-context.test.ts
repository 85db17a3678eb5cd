import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  formatTraceparent,
  newSpanId,
  newTraceId,
  parseTraceparent,
  parseTracestate,
  SAMPLED,
  traceIdOf,
  TRACESTATE_MAX_LENGTH,
  withParentId,
} from './trace-context.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

const hex = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });
const traceId = hex(32).filter((s) => /[^0]/.test(s));
const spanId = hex(16).filter((s) => /[^0]/.test(s));
const headerish = fc.string({ unit: fc.constantFrom(...'0123456789abcdefF- \t,=x@'), maxLength: 70 });
const anyField = fc.oneof(fc.constant(undefined), fc.string({ unit: 'binary' }), headerish, fc.array(headerish, { maxLength: 3 }));

test("the spec's example (§3.2.2.5): sampled", () => {
  assert.deepEqual(parseTraceparent(`00-${TRACE}-${PARENT}-01`), { traceId: TRACE, parentId: PARENT, flags: SAMPLED });
  assert.deepEqual(parseTraceparent([`00-${TRACE}-${PARENT}-00`]), { traceId: TRACE, parentId: PARENT, flags: 0 });
  assert.deepEqual(parseTraceparent(` 00-${TRACE}-${PARENT}-01\t`), { traceId: TRACE, parentId: PARENT, flags: 1 }, 'surrounding OWS');
});

test('unreadable traceparents start a new trace (undefined), never throw', () => {
  const bad = [
    undefined,
    '',
    `00-${TRACE}-${PARENT}-1`,
    `00-${TRACE}-${PARENT}-01-extra`, // version 00 is exactly 55 characters
    `00-${TRACE.toUpperCase()}-${PARENT}-01`, // lower-case hex only
    `00-${'0'.repeat(32)}-${PARENT}-01`,
    `00-${TRACE}-${'0'.repeat(16)}-01`,
    `ff-${TRACE}-${PARENT}-01`, // forbidden version
    `0g-${TRACE}-${PARENT}-01`,
    `00_${TRACE}-${PARENT}-01`,
    `00-${TRACE}_${PARENT}-01`,
    `00-${TRACE}-${PARENT}_01`,
    `00-${TRACE}-${PARENT}-0x`,
    `00-${TRACE.slice(1)}-${PARENT}0-01`,
    `cc-${TRACE}-${PARENT}-01x`, // a later version: what follows the flags must start with "-"
    [`00-${TRACE}-${PARENT}-01`, `00-${TRACE}-${PARENT}-01`], // two field lines
    `00-${TRACE}-${PARENT}-01, 00-${TRACE}-${PARENT}-01`, // node's join of two lines
  ];
  for (const field of bad) assert.equal(parseTraceparent(field), undefined, JSON.stringify(field));
});

test('a later version is read by the version 00 rules (§3.2.4)', () => {
  assert.deepEqual(parseTraceparent(`cc-${TRACE}-${PARENT}-01`), { traceId: TRACE, parentId: PARENT, flags: 1 });
  assert.deepEqual(parseTraceparent(`cc-${TRACE}-${PARENT}-09-what-follows`), { traceId: TRACE, parentId: PARENT, flags: 9 });
});

test('formatting writes version 00 with the sampled bit only', () => {
  assert.equal(formatTraceparent(TRACE, PARENT, 1), `00-${TRACE}-${PARENT}-01`);
  assert.equal(formatTraceparent(TRACE, PARENT, 0), `00-${TRACE}-${PARENT}-00`);
  assert.equal(formatTraceparent(TRACE, PARENT, 0xff), `00-${TRACE}-${PARENT}-01`);
  assert.equal(formatTraceparent(TRACE, PARENT, 0x02), `00-${TRACE}-${PARENT}-00`);
  assert.equal(traceIdOf(`00-${TRACE}-${PARENT}-01`), TRACE);
  assert.equal(withParentId(`00-${TRACE}-${PARENT}-01`, 'b7ad6b7169203331'), `00-${TRACE}-b7ad6b7169203331-01`);
});

test('tracestate: valid members passed on without OWS; invalid ones, repeats and empties dropped', () => {
  assert.equal(parseTracestate('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE'), 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE');
  assert.equal(parseTracestate(' rojo=1 ,\t, congo=2 '), 'rojo=1,congo=2');
  assert.equal(parseTracestate(['rojo=1', 'congo=2']), 'rojo=1,congo=2', 'two field lines are one list');
  assert.equal(parseTracestate('fw529a3039@dt=x,1a@b=y'), 'fw529a3039@dt=x,1a@b=y', 'multi-tenant keys');
  assert.equal(parseTracestate('rojo=1,rojo=2'), 'rojo=1', 'the first of a key');
  assert.equal(parseTracestate('Rojo=1,1ab=2,a=,a=b\tc,a=b=c,=x,noequals,ok=v'), 'ok=v');
  assert.equal(parseTracestate('a=b c'), 'a=b c', 'inner spaces are allowed');
  assert.equal(parseTracestate(''), undefined);
  assert.equal(parseTracestate('bad'), undefined);
  assert.equal(parseTracestate(undefined), undefined);
});

test('tracestate: at most 32 members, and 512 characters, long members going first', () => {
  const many = Array.from({ length: 40 }, (_, i) => `k${i}=v`).join(',');
  assert.equal(parseTracestate(many)?.split(',').length, 32);
  const long = `big=${'x'.repeat(200)}`;
  const small = Array.from({ length: 30 }, (_, i) => `k${i}=${'v'.repeat(10)}`);
  const cut = parseTracestate([long, ...small].join(','))!;
  assert.ok(!cut.includes('big='), 'the member over 128 characters went first');
  assert.equal(cut, small.join(','), 'and that was enough');
  const filler = Array.from({ length: 12 }, (_, i) => `k${i}=${'v'.repeat(50)}`);
  const fromEnd = parseTracestate(filler.join(','))!;
  assert.ok(fromEnd.length <= TRACESTATE_MAX_LENGTH);
  assert.equal(fromEnd, filler.slice(0, 9).join(','), 'then from the end');
});

test('new ids: lower-case hex of the right length, not all zeros, and not repeated', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const t = newTraceId();
    const s = newSpanId();
    assert.match(t, /^[0-9a-f]{32}$/);
    assert.match(s, /^[0-9a-f]{16}$/);
    assert.doesNotMatch(t, /^0+$/);
    assert.doesNotMatch(s, /^0+$/);
    seen.add(t).add(s);
  }
  assert.equal(seen.size, 4000);
  assert.ok(parseTraceparent(formatTraceparent(newTraceId(), newSpanId(), 1)));
});

test('property: arbitrary input never throws; what is read has valid ids and round-trips as version 00', () => {
  fc.assert(
    fc.property(anyField, (field) => {
      const tp = parseTraceparent(field);
      if (tp) {
        assert.match(tp.traceId, /^[0-9a-f]{32}$/);
        assert.match(tp.parentId, /^[0-9a-f]{16}$/);
        assert.ok(tp.flags >= 0 && tp.flags <= 0xff);
        assert.deepEqual(parseTraceparent(formatTraceparent(tp.traceId, tp.parentId, tp.flags)), { ...tp, flags: tp.flags & SAMPLED });
      }
      const ts = parseTracestate(field);
      if (ts !== undefined) {
        assert.ok(ts.length <= TRACESTATE_MAX_LENGTH);
        assert.equal(parseTracestate(ts), ts, 'what is passed on reads back the same');
      }
    }),
  );
});

test('property: every formatted traceparent reads back; a later version with more fields reads the same', () => {
  fc.assert(
    fc.property(traceId, spanId, fc.integer({ min: 0, max: 255 }), hex(2), (t, s, flags, version) => {
      const formatted = formatTraceparent(t, s, flags);
      assert.equal(formatted.length, 55);
      assert.deepEqual(parseTraceparent(formatted), { traceId: t, parentId: s, flags: flags & SAMPLED });
      assert.equal(traceIdOf(formatted), t);
      const later = `${version}${formatted.slice(2)}-more`;
      if (version === 'ff') assert.equal(parseTraceparent(later), undefined);
      else if (version === '00') assert.equal(parseTraceparent(later), undefined);
      else assert.deepEqual(parseTraceparent(later), { traceId: t, parentId: s, flags: flags & SAMPLED });
    }),
  );
});

test('property: a list of valid members is kept in order, up to the limits', () => {
  const key = fc.stringMatching(/^[a-z][a-z0-9_*/-]{0,10}$/);
  const value = fc.stringMatching(/^[!-+\--<>-~]{1,20}$/);
  fc.assert(
    fc.property(fc.uniqueArray(fc.tuple(key, value), { selector: ([k]) => k, maxLength: 20 }), (pairs) => {
      const members = pairs.map(([k, v]) => `${k}=${v}`);
      assert.equal(parseTracestate(members.join(' , ')), members.length ? members.join(',') : undefined);
    }),
  );
});
