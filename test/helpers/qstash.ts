import { Client } from '@upstash/qstash';

/** The official SDK pointed at a gateway, as the tests use it: no local dev server, no client-side retries (a
 * failure must show), no telemetry headers. */
export const qstashClient = (baseUrl: string, token: string) => new Client({ baseUrl, token, devMode: false, retry: false, enableTelemetry: false });
