/**
 * The request headers of Upstash QStash's v2 publish API that carry a grammar, so that the official
 * `@upstash/qstash` SDK can talk to us. QStash has no RFC; the grammars below are its documentation's
 * (upstash.com/docs/qstash) and what the SDK sends (`@upstash/qstash` 2.12 `prepareHeaders`):
 *
 *   Upstash-Delay, Upstash-Timeout  = duration
 *   duration   = [1*DIGIT "d"] [1*DIGIT "h"] [1*DIGIT "m"] [1*DIGIT "s"]   ; at least one part: "10s", "1h30m"
 *   Upstash-Not-Before               = 1*DIGIT                              ; unix seconds
 *   Upstash-Retries                  = 1*3DIGIT                             ; 0..100
 *   Upstash-Flow-Control-Value       = pair *( OWS "," OWS pair )
 *   pair       = ( "parallelism" / "rate" / "period" ) OWS "=" OWS value  ; "parallelism=1, rate=10, period=1s"
 *   Upstash-Label                    = label *( OWS "," OWS label )       ; label = 1*100( ALPHA / DIGIT / "." / "_" / "-" )
 *   Upstash-Retry-Delay              = an arithmetic expression in `retried` (see compileRetryDelay)
 *
 * Every parser here throws UpstashHeaderError, and nothing else, on any input it does not accept.
 */

/** A QStash header that does not follow its grammar; `header` names it so the answer can say which. */
export class UpstashHeaderError extends TypeError {
  override readonly name = 'UpstashHeaderError';
  readonly code = 'malformed-upstash-header';
  constructor(
    readonly header: string,
    message: string,
  ) {
    super(message);
  }
}

const SECOND = 1000;
const UNIT_MS = { d: 86_400 * SECOND, h: 3_600 * SECOND, m: 60 * SECOND, s: SECOND } as const;
const MAX_DURATION_MS = 365 * UNIT_MS.d;
const MAX_DURATION_LENGTH = 32;
const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;
// 9999-12-31T23:59:59Z: the last second a four-digit year can name.
const MAX_NOT_BEFORE_SECONDS = 253_402_300_799;
const MAX_RETRIES = 100;
const MAX_PARALLELISM = 1000;
const MAX_RATE = 100_000;
const MAX_LABELS = 10;
const LABEL = /^[A-Za-z0-9._-]{1,100}$/;

/** Quote a header value for an error message, cut short so a huge value cannot flood a log. */
function quote(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

/** Parse a QStash duration ("10s", "5m", "1h30m", "2d"; a unit is required, "0s" is zero) to milliseconds, at most 365 days. */
export function parseUpstashDuration(value: string, header: string): number {
  const text = value.trim();
  if (text.length > MAX_DURATION_LENGTH) throw new UpstashHeaderError(header, `${header} is longer than ${MAX_DURATION_LENGTH} characters.`);
  const m = DURATION.exec(text);
  if (!text || !m) {
    throw new UpstashHeaderError(header, `${header} must be a duration such as "10s", "5m", "1h30m" or "2d" (whole numbers, units d, h, m, s in that order), not ${quote(value)}.`);
  }
  const [, d, h, min, s] = m;
  const ms = Number(d ?? 0) * UNIT_MS.d + Number(h ?? 0) * UNIT_MS.h + Number(min ?? 0) * UNIT_MS.m + Number(s ?? 0) * UNIT_MS.s;
  if (ms > MAX_DURATION_MS) throw new UpstashHeaderError(header, `${header} is longer than the maximum of 365 days.`);
  return ms;
}

/** Parse Upstash-Not-Before (unix seconds) to epoch milliseconds. */
export function parseNotBefore(value: string): number {
  const header = 'Upstash-Not-Before';
  const text = value.trim();
  if (!/^\d{1,20}$/.test(text)) throw new UpstashHeaderError(header, `${header} must be a whole number of seconds since 1970-01-01T00:00:00Z, not ${quote(value)}.`);
  const seconds = Number(text);
  if (seconds > MAX_NOT_BEFORE_SECONDS) throw new UpstashHeaderError(header, `${header} is after the year 9999.`);
  return seconds * SECOND;
}

/** Parse Upstash-Retries: how many times to retry a failed delivery, 0 to 100. */
export function parseRetries(value: string): number {
  const header = 'Upstash-Retries';
  const text = value.trim();
  const n = /^\d{1,3}$/.test(text) ? Number(text) : NaN;
  if (!(n <= MAX_RETRIES)) throw new UpstashHeaderError(header, `${header} must be a whole number from 0 to ${MAX_RETRIES}, not ${quote(value)}.`);
  return n;
}

/** What Upstash-Flow-Control-Value asks for: at most `parallelism` deliveries at once, at most `rate` started per `periodMs`. */
export interface FlowControlValue {
  parallelism?: number;
  rate?: number;
  periodMs?: number;
}

function boundedInteger(header: string, key: string, raw: string, max: number): number {
  const n = /^\d{1,7}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= max)) throw new UpstashHeaderError(header, `${header}: ${key} must be a whole number from 1 to ${max}, not ${quote(raw)}.`);
  return n;
}

/** Parse Upstash-Flow-Control-Value ("parallelism=1, rate=10, period=1s"); period is a duration or whole seconds, and needs no rate. */
export function parseFlowControlValue(value: string): FlowControlValue {
  const header = 'Upstash-Flow-Control-Value';
  if (value.length > 256) throw new UpstashHeaderError(header, `${header} is longer than 256 characters.`);
  const out: FlowControlValue = {};
  for (const part of value.split(',')) {
    const m = /^\s*([A-Za-z]+)\s*=\s*(\S*)\s*$/.exec(part);
    if (!m) throw new UpstashHeaderError(header, `${header} must be comma-separated key=value pairs such as "parallelism=1, rate=10, period=1s", not ${quote(value)}.`);
    const key = m[1] ?? '';
    const raw = m[2] ?? '';
    const field = key === 'period' ? 'periodMs' : key;
    if (field !== 'parallelism' && field !== 'rate' && field !== 'periodMs') {
      throw new UpstashHeaderError(header, `${header} has an unknown key ${quote(key)}; the keys are parallelism, rate and period.`);
    }
    if (out[field] !== undefined) throw new UpstashHeaderError(header, `${header} gives ${key} more than once.`);
    if (field === 'parallelism') out.parallelism = boundedInteger(header, key, raw, MAX_PARALLELISM);
    else if (field === 'rate') out.rate = boundedInteger(header, key, raw, MAX_RATE);
    else {
      const ms = /^\d{1,8}$/.test(raw) ? Number(raw) * SECOND : parseUpstashDuration(raw, header);
      if (ms < SECOND || ms > MAX_DURATION_MS) throw new UpstashHeaderError(header, `${header}: period must be from 1 second to 365 days, not ${quote(raw)}.`);
      out.periodMs = ms;
    }
  }
  if (out.parallelism === undefined && out.rate === undefined) throw new UpstashHeaderError(header, `${header} must give parallelism, rate or both.`);
  return out;
}

/** Parse Upstash-Label into distinct labels, in order; an empty value (the SDK's `label: []`) is no labels. */
export function parseLabels(value: string): string[] {
  const header = 'Upstash-Label';
  if (value.trim() === '') return [];
  const labels = [...new Set(value.split(',').map((label) => label.trim()))];
  for (const label of labels) {
    if (!LABEL.test(label)) {
      throw new UpstashHeaderError(header, `${header} must be comma-separated labels of 1 to 100 letters, digits, ".", "_" or "-", and ${quote(label)} is not one.`);
    }
  }
  if (labels.length > MAX_LABELS) throw new UpstashHeaderError(header, `${header} has ${labels.length} labels; at most ${MAX_LABELS} are allowed.`);
  return labels;
}

// ---------------------------------------------------------------------------------------------------------------
// Upstash-Retry-Delay: a hand-written recursive-descent parser, never eval, compiled to a tree of closures.
//
//   expr    = term *( ( "+" / "-" ) term )
//   term    = unary *( ( "*" / "/" ) unary )
//   unary   = "-" unary / primary
//   primary = number / "retried" / name "(" expr *( "," expr ) ")" / "(" expr ")"
//   number  = 1*DIGIT [ "." *DIGIT ] / "." 1*DIGIT
//   name    = "pow" / "sqrt" / "abs" / "exp" / "floor" / "ceil" / "round" / "min" / "max"
// ---------------------------------------------------------------------------------------------------------------

const RETRY_DELAY = 'Upstash-Retry-Delay';
const MAX_EXPRESSION_LENGTH = 256;
const MAX_DEPTH = 32;
/** QStash caps a retry delay at one day. */
export const MAX_RETRY_DELAY_MS = 86_400_000;

type Node = (retried: number) => number;
/** Each function: its arity (a number, or `min` for "at least") and what it computes. */
const FUNCTIONS: Record<string, { arity: number | { min: number }; fn: (...args: number[]) => number }> = {
  pow: { arity: 2, fn: (a = 0, b = 0) => a ** b },
  sqrt: { arity: 1, fn: Math.sqrt },
  abs: { arity: 1, fn: Math.abs },
  exp: { arity: 1, fn: Math.exp },
  floor: { arity: 1, fn: Math.floor },
  ceil: { arity: 1, fn: Math.ceil },
  round: { arity: 1, fn: Math.round },
  min: { arity: { min: 1 }, fn: Math.min },
  max: { arity: { min: 1 }, fn: Math.max },
};

class Parser {
  private pos = 0;
  private depth = 0;
  constructor(private readonly src: string) {}

  private fail(what: string, at: number = this.pos): never {
    throw new UpstashHeaderError(RETRY_DELAY, `${RETRY_DELAY} ${what} at character ${at + 1}.`);
  }

  private skipSpace(): void {
    while (this.src[this.pos] === ' ' || this.src[this.pos] === '\t') this.pos++;
  }

  /** The next non-space character, without consuming it ('' at the end). */
  private peek(): string {
    this.skipSpace();
    return this.src[this.pos] ?? '';
  }

  private expect(ch: string): void {
    if (this.peek() !== ch) this.fail(this.pos < this.src.length ? `expects "${ch}" but has "${this.src[this.pos]}"` : `ends where "${ch}" is expected`);
    this.pos++;
  }

  parse(): Node {
    const node = this.expr();
    if (this.peek() !== '') this.fail(`has unexpected "${this.src[this.pos]}"`);
    return node;
  }

  private nested<T>(at: number, f: () => T): T {
    if (++this.depth > MAX_DEPTH) this.fail(`nests deeper than ${MAX_DEPTH} levels`, at);
    const result = f();
    this.depth--;
    return result;
  }

  private expr(): Node {
    let left = this.term();
    for (let op = this.peek(); op === '+' || op === '-'; op = this.peek()) {
      this.pos++;
      const a = left;
      const b = this.term();
      left = op === '+' ? (r) => a(r) + b(r) : (r) => a(r) - b(r);
    }
    return left;
  }

  private term(): Node {
    let left = this.unary();
    for (let op = this.peek(); op === '*' || op === '/'; op = this.peek()) {
      this.pos++;
      const a = left;
      const b = this.unary();
      left = op === '*' ? (r) => a(r) * b(r) : (r) => a(r) / b(r);
    }
    return left;
  }

  private unary(): Node {
    if (this.peek() !== '-') return this.primary();
    const at = this.pos++;
    const inner = this.nested(at, () => this.unary());
    return (r) => -inner(r);
  }

  private primary(): Node {
    const ch = this.peek();
    const at = this.pos;
    if (ch === '(') {
      this.pos++;
      const inner = this.nested(at, () => this.expr());
      this.expect(')');
      return inner;
    }
    const num = /^(?:\d+(?:\.\d*)?|\.\d+)/.exec(this.src.slice(at));
    if (num) {
      this.pos += num[0].length;
      const n = Number(num[0]);
      return () => n;
    }
    const ident = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.src.slice(at));
    if (!ident) this.fail(ch === '' ? 'ends where a number, "retried" or a function is expected' : `has unexpected "${ch}"`);
    const name = ident[0];
    this.pos += name.length;
    const fn = Object.hasOwn(FUNCTIONS, name) ? FUNCTIONS[name] : undefined;
    if (name === 'retried') {
      if (this.peek() === '(') this.fail('calls "retried", which is a variable, not a function', at);
      return (r) => r;
    }
    if (!fn) this.fail(`has unknown name "${name}"; it knows retried, ${Object.keys(FUNCTIONS).join(', ')}`, at);
    if (this.peek() !== '(') this.fail(`uses function "${name}" without "(…)"`, at);
    this.pos++;
    const args = this.nested(at, () => {
      const list: Node[] = [this.expr()];
      while (this.peek() === ',') {
        this.pos++;
        list.push(this.expr());
      }
      return list;
    });
    this.expect(')');
    const { arity } = fn;
    const ok = typeof arity === 'number' ? args.length === arity : args.length >= arity.min;
    if (!ok) {
      const wanted = typeof arity === 'number' ? `${arity} argument${arity === 1 ? '' : 's'}` : `at least ${arity.min} argument`;
      this.fail(`calls "${name}" with ${args.length} argument${args.length === 1 ? '' : 's'}, but it takes ${wanted}`, at);
    }
    const f = fn.fn;
    if (args.length === 1) {
      const [a] = args as [Node];
      return (r) => f(a(r));
    }
    if (args.length === 2) {
      const [a, b] = args as [Node, Node];
      return (r) => f(a(r), b(r));
    }
    return (r) => f(...args.map((a) => a(r)));
  }
}

/**
 * Compile Upstash-Retry-Delay ("1000 * (1 + retried)", "max(1000, pow(2, retried) * 100)") into a function from
 * the retry count (0 for the first retry) to a delay in whole milliseconds, within [0, MAX_RETRY_DELAY_MS].
 * A result that is not a finite number (sqrt(-1), 1/0, exp(retried) grown huge) is the cap: back off the most.
 */
export function compileRetryDelay(expr: string): (retried: number) => number {
  if (expr.length > MAX_EXPRESSION_LENGTH) throw new UpstashHeaderError(RETRY_DELAY, `${RETRY_DELAY} is longer than ${MAX_EXPRESSION_LENGTH} characters.`);
  if (expr.trim() === '') throw new UpstashHeaderError(RETRY_DELAY, `${RETRY_DELAY} is empty; it must be an expression such as "1000 * (1 + retried)".`);
  const node = new Parser(expr).parse();
  return (retried) => {
    const ms = node(retried);
    if (!Number.isFinite(ms)) return MAX_RETRY_DELAY_MS;
    return Math.round(Math.min(Math.max(ms, 0), MAX_RETRY_DELAY_MS));
  };
}
