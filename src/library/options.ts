import type { Logger } from 'pino';
import type { z } from 'zod';
import { configFileSchema, formatIssues, routeRuleSchema, type ConfigFile, type RouteRuleConfig } from '../config/schema.js';

/**
 * Library mode takes the gateway's configuration file fields, less those of the proxy and its listener:
 * `db` (`sqlite:./jobs.db`, or a PostgreSQL URL where supported), `prefix`, `retention`, `timeout`,
 * `maxWait`, `concurrency`, `ownerHeader`, `callbacks`… Durations as "30s" / "10m" or ms.
 */
const libraryOptionsSchema = configFileSchema.omit({ upstream: true, port: true, host: true, cors: true, routes: true });

export type AsyncgateOptions = z.input<typeof libraryOptionsSchema> & {
  /** A pino logger; default JSON logs on stdout at ASYNCGATE_LOG_LEVEL, else `warn`. */
  logger?: Logger;
};

/**
 * A route's policy: `async` (`allowed` by default: asynchronous when the client asks; `always`;
 * `required`; `never`), `timeout` of one run, `retry` (`{ attempts, unsafe }`: re-run a handler that threw or
 * whose process died, for idempotent methods — or any method with `unsafe: true`), `maxBodySize`, `maxWait`,
 * `retention`.
 */
export type RouteOptions = Omit<z.input<typeof routeRuleSchema>, 'match' | 'name' | 'callbackBodyField' | 'keepCallbackBodyField' | 'callbackBodyMaxSize' | 'pushBodyField' | 'keepPushBodyField'>;

/** Validate options (a TypeError naming each bad field) into the config file's shape. */
export function parseLibraryOptions(options: unknown): Partial<ConfigFile> {
  const parsed = libraryOptionsSchema.safeParse(options);
  if (!parsed.success) throw new TypeError(`asyncgate: invalid options:\n${formatIssues(parsed.error)}`);
  return parsed.data;
}

/** Validate a route's options (a TypeError naming each bad field). */
export function parseRouteOptions(name: string, options: RouteOptions): RouteRuleConfig {
  const parsed = routeRuleSchema.safeParse({ match: '/', ...options, name });
  if (!parsed.success) throw new TypeError(`asyncgate: route "${name}" has invalid options:\n${formatIssues(parsed.error)}`);
  return parsed.data;
}
