import { isIPv4 } from 'node:net';
import { addressRefusal, ALLOW_HINT, CallbackPolicyError, normaliseHostName, type CallbackPolicy } from './ssrf.js';

/**
 * Judge a callback URL up front, before accepting a job. Requires http: or https:, no credentials, a host.
 * A host that is an IP literal in any notation WHATWG URL normalises (decimal 2130706433, octal 0177.0.0.1,
 * hex 0x7f.1, short 127.1, [::1], [::ffff:7f00:1], …) is judged now, as are 'localhost' and '*.localhost'
 * (RFC 6761: always loopback) unless loopback is allowed (allowPrivate or an allow CIDR covering 127.0.0.1
 * or ::1). Other host names pass here — they can only be judged at dial time (see
 * guarded-agent.ts) — unless listed in allowHosts, which pass everywhere. Returns the parsed URL (use its
 * href: it is the normalised form that was judged) or throws CallbackPolicyError. Messages name only the
 * URL's origin, never its path or query, which often carry tokens.
 */
export function checkCallbackUrl(url: string, policy: CallbackPolicy): URL {
  if (typeof url !== 'string') throw new CallbackPolicyError('callback URL must be a string');
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new CallbackPolicyError('callback URL is not a valid absolute URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new CallbackPolicyError(`callback URL scheme ${JSON.stringify(u.protocol.slice(0, 20))} is not allowed (only http: and https:)`);
  }
  if (u.username !== '' || u.password !== '') {
    throw new CallbackPolicyError('callback URL must not contain credentials (user:password@)');
  }
  if (u.hostname === '') throw new CallbackPolicyError('callback URL has no host');
  const origin = `${u.protocol}//${u.host}/`;
  const host = u.hostname;
  const literal = host.startsWith('[') || isIPv4(host);
  if (literal) {
    const reason = addressRefusal(host, policy);
    if (reason !== undefined) throw new CallbackPolicyError(`callback URL ${origin} refused: ${reason}; ${ALLOW_HINT}`);
    return u;
  }
  const name = normaliseHostName(host);
  if (policy.allowHosts.includes(name)) return u;
  const loopbackAllowed = addressRefusal('127.0.0.1', policy) === undefined || addressRefusal('::1', policy) === undefined;
  if ((name === 'localhost' || name.endsWith('.localhost')) && !loopbackAllowed) {
    throw new CallbackPolicyError(`callback URL ${origin} refused: ${name} is a loopback name (RFC 6761); ${ALLOW_HINT}`);
  }
  return u;
}
