import { pino, type Logger } from 'pino';

/** JSON logs (pino) on stdout; level from ASYNCGATE_LOG_LEVEL (default info). */
export function createLogger(level = process.env.ASYNCGATE_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}
