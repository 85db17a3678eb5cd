import { parseArgs, type ParseArgsConfig } from 'node:util';
import { LOG_LEVELS } from '../app/logger.js';
import { parseDuration, parseSize } from '../shared/units.js';

/** A usage mistake: printed with the command's help hint, exit code 2. */
/** The command line is wrong; the message says how to fix it (exit code 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'usage';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** node's parseArgs in strict mode, with its errors reworded for people. */
type Parsed<T extends Options, P extends boolean> = ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: P }>>;

export function parseFlags<T extends Options>(argv: string[], options: T): Parsed<T, false> {
  return reworded(() => parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
}

/** parseFlags for commands that also take operands (`asyncgate fetch URL`). */
export function parseFlagsAndArgs<T extends Options>(argv: string[], options: T): Parsed<T, true> {
  return reworded(() => parseArgs({ args: argv, options, strict: true, allowPositionals: true }));
}

function reworded<R>(parse: () => R): R {
  try {
    return parse();
  } catch (error) {
    const msg = (error as Error).message
      .replace(/^Unknown option '([^']+)'.*$/s, "unknown flag '$1'")
      .replace(/^Option '([^']+)' argument missing$/s, "flag '$1' needs a value");
    throw new UsageError(msg);
  }
}

export function durationFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === undefined) throw new UsageError(`--${name} "${value}" is not a duration (try 30s, 10m, 24h)`);
  return ms;
}

export function sizeFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const bytes = parseSize(value);
  if (bytes === undefined) throw new UsageError(`--${name} "${value}" is not a size (try 512kb, 10mb)`);
  return bytes;
}

export function intFlag(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${value}"`);
  return n;
}

/** A duration flag that must lie within [minMs, maxMs]; `range` says so in the message ("from 100ms to 1h"). */
export function boundedDurationFlag(name: string, value: string | undefined, minMs: number, maxMs: number, range: string): number | undefined {
  const ms = durationFlag(name, value);
  if (ms !== undefined && (ms < minMs || ms > maxMs)) throw new UsageError(`--${name} must be ${range}, got "${value}"`);
  return ms;
}

/** The log level: --log-level, else ASYNCGATE_LOG_LEVEL, else `fallback`. A level pino does not know is a usage error. */
export function logLevelFlag(value: string | undefined, fallback: string): string {
  const level = value ?? (process.env.ASYNCGATE_LOG_LEVEL || fallback);
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    const source = value !== undefined ? '--log-level' : 'ASYNCGATE_LOG_LEVEL';
    throw new UsageError(`${source} "${level}" is not a log level (${LOG_LEVELS.join(', ')})`);
  }
  return level;
}
