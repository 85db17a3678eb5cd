// Fastify 5 — run with `npx tsx examples/fastify.ts`, then:
//   curl -i -X POST 'http://127.0.0.1:3000/reports' -H 'Prefer: respond-async' -H 'content-type: application/json' -d '{"steps":5}'
import Fastify from 'fastify';
import { asyncgatePlugin, asyncRoute, createAsyncgate } from 'asyncgate/fastify';
import { buildReport, DB, listening, PORT } from './report.js';

const gate = await createAsyncgate({ db: DB });
const app = Fastify();
await app.register(asyncgatePlugin, { gate }); // monitor routes; starts with the app, closes with it
app.post('/reports', asyncRoute(gate, 'report', buildReport, { async: 'allowed', timeout: '10m' }));

const url = await app.listen({ port: PORT, host: '127.0.0.1' });
console.log(listening(url));
process.once('SIGTERM', () => void app.close());
