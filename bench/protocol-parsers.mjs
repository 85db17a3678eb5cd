// Micro-benchmark of the protocol/ header parsers on typical inputs, against the compiled modules.
// Run: npx tsc -p tsconfig.build.json && node bench/protocol-parsers.mjs
// (ITERATIONS=1000000 node bench/protocol-parsers.mjs for steadier numbers.)
import { parsePrefer } from '../dist/protocol/prefer.js';
import { parseAcceptAsynchronous } from '../dist/protocol/accept-asynchronous.js';
import { parseLinkHeader } from '../dist/protocol/link.js';
import { ifNoneMatchMatches } from '../dist/protocol/etag.js';
import { requestOrigin } from '../dist/protocol/forwarded.js';
import { parseIdempotencyKey } from '../dist/protocol/idempotency-key.js';
import { parseRange } from '../dist/protocol/range.js';
import { parseProgress } from '../dist/protocol/progress.js';

const ITERATIONS = Number(process.env.ITERATIONS ?? 200_000);

const cases = [
  ['parsePrefer', () => parsePrefer('respond-async, wait=100, handling=lenient')],
  ['parseAcceptAsynchronous', () => parseAcceptAsynchronous('notify')],
  ['parseLinkHeader', () => parseLinkHeader('<http://server.com/callback>; method="post"; rel="redirect"; secret="s3cr3t"', 'Callback')],
  ['ifNoneMatchMatches', () => ifNoneMatchMatches('W/"a1b2c3d4", "e5f6a7b8c9d0"', '"e5f6a7b8c9d0"')],
  [
    'requestOrigin',
    () => requestOrigin({ forwarded: 'for=192.0.2.60;proto=https;host="api.example.com:8443"', host: 'internal:3000' }, 'http', 'localhost'),
  ],
  ['parseIdempotencyKey', () => parseIdempotencyKey('"8e03978e-40d5-43e8-bc93-6894a57f9324"')],
  ['parseRange', () => parseRange('bytes=1048576-2097151', 104857600)],
  ['parseProgress', () => parseProgress('3/20 "POST http://example.com/item/3" 8020/8591489 (bytes)')],
];

// Results are kept reachable so the JIT cannot drop the calls as dead code.
let sink = 0;
function run(fn, n) {
  for (let i = 0; i < n; i++) {
    const r = fn();
    if (r !== undefined && r !== null) sink++;
  }
}

const rows = [];
for (const [name, fn] of cases) {
  run(fn, Math.min(ITERATIONS, 20_000)); // warm-up: let the JIT settle before timing
  const start = process.hrtime.bigint();
  run(fn, ITERATIONS);
  const ns = Number(process.hrtime.bigint() - start);
  rows.push([name, Math.round((ITERATIONS / ns) * 1e9).toLocaleString('en-US'), (ns / ITERATIONS).toFixed(1)]);
}

const header = ['parser', 'ops/s', 'ns/op'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
console.log(`${ITERATIONS.toLocaleString('en-US')} iterations each, node ${process.version}`);
console.log(line(header));
console.log(`|${widths.map((w, i) => (i === 0 ? ':' + '-'.repeat(w + 1) : '-'.repeat(w + 1) + ':')).join('|')}|`);
for (const r of rows) console.log(line(r));
// Every input above is valid: a parser that returned nothing was measuring its error path instead.
if (sink !== ITERATIONS * cases.length + Math.min(ITERATIONS, 20_000) * cases.length) process.exitCode = 1;
