// Hono 4 on @hono/node-server — run with `npx tsx examples/hono.ts`, then:
//   curl -i -X POST 'http://127.0.0.1:3000/reports' -H 'Prefer: respond-async' -H 'content-type: application/json' -d '{"steps":5}'
import { serve, type HttpBindings } from '@hono/node-server';
import { Hono } from 'hono';
import { asyncRoute, createAsyncgate, monitor } from 'asyncgate/hono';
import { buildReport, DB, listening, PORT } from './report.js';

const gate = await createAsyncgate({ db: DB });
const app = new Hono<{ Bindings: HttpBindings }>();
app.use(monitor(gate));
app.post('/reports', asyncRoute(gate, 'report', buildReport, { async: 'allowed', timeout: '10m' }));

await gate.start();
const server = serve({ fetch: app.fetch, port: PORT, hostname: '127.0.0.1' }, (info) => console.log(listening(`http://127.0.0.1:${info.port}`)));
process.once('SIGTERM', () => server.close(() => void gate.close()));
