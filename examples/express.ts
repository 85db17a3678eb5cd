// Express 5 — run with `npx tsx examples/express.ts`, then:
//   curl -i -X POST 'http://127.0.0.1:3000/reports' -H 'Prefer: respond-async' -H 'content-type: application/json' -d '{"steps":5}'
import express from 'express';
import type { AddressInfo } from 'node:net';
import { asyncRoute, createAsyncgate, monitor, problemErrors } from 'asyncgate/express';
import { buildReport, DB, listening, PORT } from './report.js';

const gate = await createAsyncgate({ db: DB });
const app = express();
app.use(monitor(gate)); // before body parsers: callback registration reads its own body
app.use(express.json());
app.post('/reports', asyncRoute(gate, 'report', buildReport, { async: 'allowed', timeout: '10m' }));
app.use(problemErrors()); // after the routes: malformed JSON gets 400 problem+json, not Express's HTML page

await gate.start();
const server = app.listen(PORT, '127.0.0.1', () => console.log(listening(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
process.once('SIGTERM', () => server.close(() => void gate.close()));
