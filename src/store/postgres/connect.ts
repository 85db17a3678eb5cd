import pg from 'pg';
import { StorageFullError, StoreUrlError } from '../errors.js';

export interface PgTarget {
  /** The connection string without asyncgate's own parameters (safe to hand to pg). */
  connectionString: string;
  /** Schema holding asyncgate's tables (created if missing). Default `public`. */
  schema: string;
  /** Most connections this process opens for queries (LISTEN uses one more). */
  poolSize: number;
  /** For messages: host:port/database, never the password. */
  label: string;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Read a `postgres://user@host:port/db?schema=asyncgate&pool=10` URL. `schema` and `pool` are asyncgate's;
 * every other parameter (sslmode, application_name…) goes to pg unchanged.
 */
export function parsePgUrl(url: string): PgTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StoreUrlError(`--db "${redact(url)}" is not a valid PostgreSQL URL (postgres://user@host:5432/database)`);
  }
  const schema = parsed.searchParams.get('schema') ?? 'public';
  if (!SCHEMA_NAME.test(schema)) {
    throw new StoreUrlError(`schema "${schema}" must be a lower-case SQL identifier (letters, digits, _)`);
  }
  const poolText = parsed.searchParams.get('pool') ?? '10';
  const poolSize = Number(poolText);
  if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > 1000) {
    throw new StoreUrlError(`pool=${poolText} must be a whole number of connections between 1 and 1000`);
  }
  parsed.searchParams.delete('schema');
  parsed.searchParams.delete('pool');
  const label = `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}${parsed.pathname || '/'}`;
  return { connectionString: parsed.toString(), schema, poolSize, label };
}

/** Where a PostgreSQL store lives, for messages (never the password): host:port/database (schema NAME). */
export function storeLabel(target: PgTarget): string {
  return `${target.label} (schema ${target.schema})`;
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

// bigint columns hold millisecond timestamps, well inside Number's exact range: read them as numbers.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** Connection settings shared by the pool and the LISTEN connection. */
export function clientConfig(target: PgTarget): pg.ClientConfig {
  return {
    connectionString: target.connectionString,
    types,
    options: `-c search_path=${target.schema}`,
    application_name: target.schema === 'public' ? 'asyncgate' : `asyncgate:${target.schema}`,
    keepAlive: true,
    connectionTimeoutMillis: 10_000,
  };
}

const TRANSIENT_CODES = new Set([
  '57P01', // admin_shutdown (pg_terminate_backend)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up)
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '53000', // insufficient_resources
  '53200', // out_of_memory
  '53300', // too_many_connections
]);

/** Errors where the statement did not run, or may be safely run again on a new connection. */
export function isTransient(error: unknown): boolean {
  const e = error as { code?: string; message?: string } | null;
  if (!e) return false;
  if (e.code && (TRANSIENT_CODES.has(e.code) || /^(ECONN|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN)/.test(e.code))) {
    return true;
  }
  // "timeout exceeded when trying to connect": the pool could not reach a server that does not answer (failover).
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/i.test(
    e.message ?? '',
  );
}

/** PostgreSQL's error as the store reports it: out of disk space (SQLSTATE 53100 disk_full) is StorageFullError. */
export function storeError(error: unknown): unknown {
  const e = error as { code?: string; message?: string } | null;
  if (e?.code === '53100') return new StorageFullError(`PostgreSQL is out of disk space: ${e.message}`, { cause: error });
  return error;
}

/** Why a connection failed, in words an operator can act on. */
export function describeConnectError(error: unknown, target: PgTarget): string {
  const e = error as { code?: string; message?: string };
  if (e.code === 'ECONNREFUSED') return `PostgreSQL at ${target.label} refused the connection (is it running?)`;
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return `PostgreSQL host in ${target.label} could not be resolved`;
  if (e.code === '28P01' || e.code === '28000') return `PostgreSQL at ${target.label} rejected the credentials: ${e.message}`;
  if (e.code === '3D000') return `PostgreSQL at ${target.label}: ${e.message}`;
  return `PostgreSQL at ${target.label} is not reachable: ${e.message ?? String(error)}`;
}

/** Errors no retry will fix (bad password, missing database): fail fast with the reason. */
export function isPermanentConnectError(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === '28P01' || code === '28000' || code === '3D000' || code === '42501';
}

/** A statement that failed on a lost connection is tried again on a new one, this many times (about 3 s in
 * all). Longer outages (a failover) are the caller's to wait out: the engine keeps retrying an attempt's
 * ending write for as long as it runs (see `isTransient`). */
const TRANSIENT_RETRIES = 6;

/** Run `query`; on a transient failure, again (with backoff, up to TRANSIENT_RETRIES times) unless `closed()`.
 * Any failure that stays is reported as the store's error (storeError). */
export async function retryTransient<T>(closed: () => boolean, query: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await query();
    } catch (error) {
      if (closed() || attempt >= TRANSIENT_RETRIES || !isTransient(error)) throw storeError(error);
      await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** attempt, 2_000)));
    }
  }
}
