// node:http — run with `npx tsx examples/node-http.ts`, then:
//   curl -i -X POST 'http://127.0.0.1:3000/reports' -H 'Prefer: respond-async' -H 'content-type: application/json' -d '{"steps":5}'
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAsyncgate, withMonitor } from 'asyncgate/node';
import { buildReport, DB, listening, PORT } from './report.js';

const gate = await createAsyncgate({ db: DB });
const report = gate.route('report', buildReport, { async: 'allowed', timeout: '10m' });

const server = createServer(
  withMonitor(gate, (req, res) => {
    if (req.method === 'POST' && req.url === '/reports') return void report(req, res);
    res.writeHead(404).end();
  }),
);
await gate.start();
server.listen(PORT, '127.0.0.1', () => console.log(listening(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
process.once('SIGTERM', () => server.close(() => void gate.close()));
