#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { WorkerStartError } from '../app/cluster.js';
import { ConfigError } from '../config/settings.js';
import { StoreUrlError } from '../store/open.js';
import { PostgresUnavailableError } from '../store/postgres/open.js';
import { deliveries, DELIVERIES_HELP } from './deliveries.js';
import { demo, DEMO_HELP } from './demo.js';
import { FETCH_HELP, runFetch } from './fetch.js';
import { jobs, JOBS_HELP } from './jobs.js';
import { UsageError } from './flags.js';
import { migrate, MIGRATE_HELP } from './migrate.js';
import { secret, SECRET_HELP } from './secret.js';
import { runServe, serveCommand, SERVE_HELP } from './serve.js';

const HELP = `Usage: asyncgate <command> [options]

Make any HTTP API asynchronous: durable 202 Accepted, status monitors, result replay.

Commands:
  serve       run the gateway in front of an upstream API
  demo        run the gateway in front of a built-in demo API (SQLite), with curl examples
  migrate     create or upgrade the database tables (SQLite or PostgreSQL), then exit
  fetch       send a request asynchronously and wait for its final response, with a progress bar
  jobs        list, show, cancel, retry and delete jobs over the admin API
  deliveries  list, show and redeliver callbacks over the admin API
  secret      show or rotate the webhook signing secret kept in the database
  help        show help for a command: asyncgate help serve

Options:
  -h, --help     show this help
  -v, --version  print the version

Run "asyncgate <command> --help" for a command's options.
`;

const COMMAND_HELP: Record<string, string> = { serve: SERVE_HELP, demo: DEMO_HELP, migrate: MIGRATE_HELP, fetch: FETCH_HELP, secret: SECRET_HELP, jobs: JOBS_HELP, deliveries: DELIVERIES_HELP };

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
      // A script that forgot its command must not pass for a success.
      process.stderr.write(`asyncgate: a command is required\n\n${HELP}`);
      return 2;
    case '-h':
    case '--help':
      process.stdout.write(HELP);
      return 0;
    case 'help': {
      const topic = rest[0];
      const text = topic === undefined ? HELP : Object.hasOwn(COMMAND_HELP, topic) ? COMMAND_HELP[topic] : undefined;
      if (text === undefined) throw new UsageError(`unknown command '${topic}'`);
      process.stdout.write(text);
      return 0;
    }
    case '-v':
    case '--version':
      process.stdout.write(`${version()}\n`);
      return 0;
    case 'serve': {
      const command = await serveCommand(rest);
      if (!command) {
        process.stdout.write(SERVE_HELP);
        return 0;
      }
      await runServe(command);
      return -1; // keeps running
    }
    case 'demo':
      await demo(rest);
      return -1;
    case 'migrate':
      return migrate(rest);
    case 'fetch':
      return runFetch(rest);
    case 'secret':
      return secret(rest);
    case 'jobs':
      return jobs(rest);
    case 'deliveries':
      return deliveries(rest);
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof WorkerStartError) {
      // The worker has said why on stderr (which it shares with this process).
      process.exitCode = error.exitCode;
    } else if (error instanceof UsageError) {
      const command = process.argv[2];
      const hint = command && Object.hasOwn(COMMAND_HELP, command) ? `asyncgate ${command} --help` : 'asyncgate --help';
      process.stderr.write(`asyncgate: ${error.message}\nRun "${hint}" for usage.\n`);
      process.exitCode = 2;
    } else if (error instanceof PostgresUnavailableError) {
      process.stderr.write(`asyncgate: ${error.message}\n`);
      process.exitCode = 1;
    } else if (error instanceof ConfigError || error instanceof StoreUrlError) {
      process.stderr.write(`asyncgate: ${error.message}\n`);
      process.exitCode = 2;
    } else if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      process.stderr.write(`asyncgate: ${(error as Error).message} — is another server on that port? Use --port.\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`asyncgate: ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    }
  },
);
