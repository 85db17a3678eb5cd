// An undici Agent for callback deliveries that refuses to connect to addresses the CallbackPolicy refuses.
//
// Why at dial time, on the address dialled: checking a callback URL's host name when the job is accepted
// proves nothing about where the delivery will connect later. A name can resolve to a public address when
// checked and to 127.0.0.1 or 169.254.169.254 when dialled (DNS rebinding: a short-TTL record the attacker
// flips, or several A records of which the resolver picks differently). So the only check that counts is
// one on the very address handed to connect(2), made inside the connection path itself — never a separate
// "resolve, check, then connect by name" that would resolve twice.
//
// How, given how undici and Node dial (see node_modules/undici/lib/core/connect.js):
//   1. Host names. undici's buildConnector spreads its options into net.connect / tls.connect, so a
//      `lookup` option replaces the resolver for this socket. Our lookup resolves, drops every address the
//      policy refuses and hands net only the rest: net can only dial what the lookup returned. Node ≥ 20
//      defaults to autoSelectFamily (happy eyeballs) and then calls lookup with { all: true } expecting an
//      array of { address, family }; otherwise with all unset expecting (address, family). We always ask
//      the underlying resolver for all addresses and answer in the shape requested.
//   2. IP literals. net.connect does NOT call lookup when the host is already an IP address (net.isIP), so
//      the lookup alone would let http://127.0.0.1/ and http://[::1]/ straight through. The Agent's connect
//      function therefore wraps buildConnector and judges IP-literal host names itself before dialling.
//      (undici hands the connector the WHATWG-normalised host, brackets already stripped from IPv6.)
//   3. Belt and braces. Once connected — before undici writes a byte of the request — the socket's
//      remoteAddress is judged again, so any path that bypassed 1 and 2 still cannot deliver.
// Host names in policy.allowHosts skip all three: the operator vouched for the name, whatever it resolves to.
//
// Not covered: if a dispatcher sends through an HTTP(S) proxy (ProxyAgent / EnvHttpProxyAgent), the socket
// goes to the proxy and the proxy resolves the target; this Agent is not in that path at all.
import dns from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { Agent, buildConnector } from 'undici';
import { addressRefusal, ALLOW_HINT, assertValidPolicy, CallbackPolicyError, normaliseHostName, type CallbackPolicy } from './ssrf.js';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;
type Resolver = (hostname: string, options: dns.LookupOptions, callback: LookupCallback) => void;

export interface GuardedAgentOptions {
  /** Maximum sockets per origin (undici Agent `connections`). */
  connections?: number;
  /** Resolver to use instead of dns.lookup (tests; custom resolvers). Called with { all: true }; may answer in either shape. */
  lookup?: typeof dns.lookup;
}

/**
 * An undici Agent whose every connection is checked against the policy at dial time (see the comment at
 * the top of this file). A refused connection fails the request with a CallbackPolicyError whose code is
 * 'callback-refused'. Throws CallbackPolicyError at once if policy.allowCidrs is malformed.
 */
export function createGuardedAgent(policy: CallbackPolicy, options: GuardedAgentOptions = {}): Agent {
  assertValidPolicy(policy); // fail at start-up, not at the first delivery
  const resolve = (options.lookup ?? dns.lookup) as unknown as Resolver;
  const allowedHost = (hostname: string) => policy.allowHosts.includes(normaliseHostName(hostname));

  const guardedLookup: LookupFunction = (hostname, lookupOptions, callback) => {
    // net always passes an options object; tolerate the (hostname, family, cb) form anyway.
    const opts: dns.LookupOptions = typeof lookupOptions === 'object' && lookupOptions !== null ? lookupOptions : {};
    const wantAll = opts.all === true;
    const fail = (err: NodeJS.ErrnoException) => (wantAll ? callback(err, []) : callback(err, '', 0));
    const allowed = allowedHost(hostname);
    try {
      resolve(hostname, { ...opts, all: true }, (err, result, family) => {
        if (err) return fail(err);
        const found: dns.LookupAddress[] = Array.isArray(result)
          ? result
          : [{ address: result, family: family ?? isIP(result) }];
        const permitted: dns.LookupAddress[] = [];
        const refusals: string[] = [];
        for (const entry of found) {
          const reason = allowed ? undefined : addressRefusal(entry.address, policy);
          if (reason === undefined) permitted.push(entry);
          else refusals.push(reason);
        }
        const first = permitted[0];
        if (!first) {
          const why = refusals[0] ?? 'it resolved to no address';
          return fail(new CallbackPolicyError(`refusing to connect to ${hostname}: ${why}; ${ALLOW_HINT}`));
        }
        // Dial only what was checked. (Refused addresses among several are dropped rather than failing the
        // delivery: the socket can then reach only permitted ones, which is all that matters.)
        if (wantAll) callback(null, permitted);
        else callback(null, first.address, first.family);
      });
    } catch (err) {
      process.nextTick(fail, err as NodeJS.ErrnoException);
    }
  };

  const connector = buildConnector({ lookup: guardedLookup });

  const connect: buildConnector.connector = (connectOptions, callback) => {
    const { hostname } = connectOptions;
    const allowed = allowedHost(hostname);
    // IP literals never reach guardedLookup (net.connect skips lookup for them), so judge them here.
    if (!allowed && isIP(hostname) !== 0) {
      const reason = addressRefusal(hostname, policy);
      if (reason !== undefined) {
        const err = new CallbackPolicyError(`refusing to connect to ${hostname}: ${reason}; ${ALLOW_HINT}`);
        process.nextTick(() => callback(err, null));
        return;
      }
    }
    connector(connectOptions, (err, socket) => {
      if (err) return callback(err, null);
      // Belt and braces: judge the peer the socket is actually connected to, before any request byte is sent.
      const remote = socket?.remoteAddress;
      const reason = allowed || remote === undefined ? undefined : addressRefusal(remote, policy);
      if (reason !== undefined || !socket) {
        socket?.destroy();
        return callback(new CallbackPolicyError(`refusing to talk to ${hostname} at ${remote ?? '?'}: ${reason ?? 'no socket'}; ${ALLOW_HINT}`), null);
      }
      callback(null, socket);
    });
  };

  return new Agent({ connect, ...(options.connections !== undefined ? { connections: options.connections } : {}) });
}
