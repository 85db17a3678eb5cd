import { randomBytes } from 'node:crypto';
import { basename, relative } from 'node:path';
import { createLogger } from '../app/logger.js';
import { resolveSettings } from '../config/settings.js';
import { demoConfig, DEMO_ROUTES_SUMMARY } from '../demo/routes.js';
import { startDemoUpstream } from '../demo/upstream.js';
import { intFlag, logLevelFlag, parseFlags } from './flags.js';
import { workerPlace } from '../app/cluster-messages.js';
import { runServe, workersFlag } from './serve.js';

/** Where the demo API listens, for the workers the demo's primary forks. */
const DEMO_UPSTREAM_ENV = 'ASYNCGATE_DEMO_UPSTREAM';
/** The demo's QStash token (made at start), for the same workers. */
const DEMO_QSTASH_ENV = 'ASYNCGATE_DEMO_QSTASH_TOKEN';

export const DEMO_HELP = `Usage: asyncgate demo [--port 8080] [--upstream-port 3001] [--db sqlite:./asyncgate-demo.db]

Start a demo API with slow endpoints and the gateway in front of it, on SQLite, and print
curl commands to try, the QStash-compatible API (docs/qstash.md) included. Route rules: a "callback_url" in the JSON body of POST /cart/checkout makes it
asynchronous; POST /exports must be asked for asynchronously (else 400 async-required).

Options:
  --port N            gateway port (default 8080)
  --upstream-port N   demo API port (default 3001)
  --db URL            storage (default sqlite:./asyncgate-demo.db)
  --workers N         gateway processes (default: one per core; see serve --help)
  --log-level LEVEL   fatal, error, warn (default), info, debug, trace or silent
                      (else ASYNCGATE_LOG_LEVEL)
  -h, --help          show this help
`;

export async function demo(argv: string[]): Promise<void> {
  const { values: v } = parseFlags(argv, {
    port: { type: 'string' },
    'upstream-port': { type: 'string' },
    db: { type: 'string' },
    workers: { type: 'string' },
    'log-level': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (v.help) return void process.stdout.write(DEMO_HELP);
  const log = createLogger(logLevelFlag(v['log-level'], 'warn'));
  // A worker of the demo's cluster: the primary runs the demo API, and says where in the environment.
  const place = workerPlace();
  const forked = place ? process.env[DEMO_UPSTREAM_ENV] : undefined;
  const upstream = forked ? { url: forked, close: async () => {} } : await startDemoUpstream(intFlag('upstream-port', v['upstream-port'], 0, 65535) ?? 3001);
  const qstashToken = (forked && process.env[DEMO_QSTASH_ENV]) || `demo-${randomBytes(12).toString('hex')}`;
  const settings = resolveSettings(
    demoConfig(),
    {
      upstream: upstream.url,
      port: intFlag('port', v.port, 0, 65535) ?? 8080,
      db: v.db ?? 'sqlite:./asyncgate-demo.db',
      // The demo's callback receiver is on loopback, which the SSRF guard refuses unless allowed.
      callbacks: { allowHosts: '127.0.0.1' },
      qstash: { enabled: true, tokens: [qstashToken] },
    },
  );
  const workerEnv = { [DEMO_UPSTREAM_ENV]: upstream.url, [DEMO_QSTASH_ENV]: qstashToken };
  const gateway = await runServe({ settings, log, workers: workersFlag(v.workers ?? process.env.ASYNCGATE_WORKERS, settings.db) }, workerEnv);
  if (place) return;
  const g = gateway.url;
  process.stdout.write(`
asyncgate demo is running
  gateway   ${g}   (SQLite: ${settings.db.replace(/^sqlite:/, '')})
  upstream  ${upstream.url}   (demo API with slow endpoints: GET ${upstream.url}/)
  monitor   ${g}${settings.prefix}/jobs/{id}
  routes    ${DEMO_ROUTES_SUMMARY.join('\n            ')}
  secret    callbacks are signed; to verify them: ${selfCommand()} secret show --db ${settings.db}
  qstash    ${g}/v2/…, token ${qstashToken} (the @upstash/qstash SDK: new Client({ baseUrl, token }))

Try it:
  # ask for an asynchronous answer: 202 Accepted at once, with the monitor in Location
  curl -i -H 'Prefer: respond-async' '${g}/reports/2026?seconds=5'

  # poll the monitor it returned (long poll up to 10 s with Prefer: wait=10), then fetch the result
  curl -i -H 'Prefer: wait=10' '${g}${settings.prefix}/jobs/<id>'
  curl -i '${g}${settings.prefix}/jobs/<id>/result'

  # wait up to 10 s for the real answer, 202 only if it takes longer
  curl -i -H 'Prefer: respond-async, wait=10' '${g}/reports/2026?seconds=2'

  # Accept-Asynchronous: polling: the monitor redirects (303) to the result once done
  curl -i -H 'Accept-Asynchronous: polling' -X POST -d '{"cart_id":1234}' '${g}/cart/checkout'

  # no preference: proxied synchronously, as if asyncgate were not there
  curl -i '${g}/hello'

  # response redirection: the response is POSTed (signed) to the Callback URL when done
  curl -i -H 'Pragma: redirect' -H 'Callback: <${upstream.url}/inbox/cb>; method="post"' '${g}/reports/2026?seconds=1'

  # see what the callback receiver got (Status header, webhook-id/-timestamp/-signature, the body)
  curl -s '${upstream.url}/inbox'

  # follow a job live (take the id of a new 202): an event per change, progress included, until it finishes
  curl -N '${g}${settings.prefix}/jobs/<id>/events'

  # a route rule makes /exports asynchronous-only: asking for nothing is refused with 400 async-required
  curl -i -X POST '${g}/exports'

  # callback_url in a JSON body (a route rule): 202 with resource_url; a summary is POSTed there when done
  curl -i -X POST -H 'Content-Type: application/json' -d '{"cart_id":1234,"callback_url":"${upstream.url}/inbox/checkout"}' '${g}/cart/checkout'

  # QStash: publish a message to the inbox, delivered (signed with Upstash-Signature) 2 s from now
  curl -i -X POST -H 'Authorization: Bearer ${qstashToken}' -H 'Upstash-Delay: 2s' -H 'Content-Type: application/json' -d '{"hello":"qstash"}' '${g}/v2/publish/${upstream.url}/inbox/qstash'

Press Ctrl-C to stop.
`);
  process.once('exit', () => void upstream.close());
}

/** How to run this command again: `asyncgate` when installed (its bin link), else `node <main.js>` (a checkout). */
function selfCommand(): string {
  const script = process.argv[1] ?? '';
  return basename(script) === 'main.js' ? `node ${relative(process.cwd(), script) || script}` : 'asyncgate';
}
