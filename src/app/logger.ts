import { pino, type Logger } from 'pino';

/** The levels `--log-level` and ASYNCGATE_LOG_LEVEL accept: pino's, most severe first, and `silent`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** JSON logs (pino) on stdout; level from ASYNCGATE_LOG_LEVEL (default info). */
export function createLogger(level = process.env.ASYNCGATE_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}
