// SSRF policy for client-supplied callback URLs (pure: no I/O).
//
// asyncgate POSTs results to URLs its clients choose, so a client could aim it at the gateway's own
// network: loopback admin ports, RFC 1918 services, the cloud metadata endpoint. This module decides
// which addresses may be dialled. It is used twice:
//   - up front, by checkCallbackUrl (callback-url.ts), when a job is accepted: a URL whose host is an IP literal (in any
//     notation WHATWG URL normalises) or 'localhost' can be judged at once and answered with 400;
//   - at dial time, by guarded-agent.ts, on the address the socket actually connects to — the only
//     check that DNS rebinding (a name that resolved to a public address when checked and to 127.0.0.1
//     when dialled) cannot get around. Host names can only be judged there.
//
// Operators lift refusals explicitly: exact host names (allowHosts) or CIDRs (allowCidrs), or, for
// development only, allowPrivate (--allow-private-callbacks). allowPrivate deliberately does NOT lift
// the cloud-metadata addresses: a development flag left on in production must not expose instance
// credentials. Those need an explicit CIDR.
import { isIPv4, isIPv6 } from 'node:net';
import ipaddr from 'ipaddr.js';

export interface CallbackPolicy {
  /** --allow-private-callbacks (development): lift every refusal except the cloud-metadata addresses. */
  allowPrivate: boolean;
  /** Exact host names (lower-case, no trailing dot) whose callbacks are allowed whatever they resolve to. */
  allowHosts: readonly string[];
  /** CIDRs whose addresses may be dialled even though they are internal, e.g. "10.0.0.0/8", "::1/128". */
  allowCidrs: readonly string[];
}

export const SSRF_ERROR_CODE = 'callback-refused';

/** A callback URL or address refused by the policy (or a malformed allow-list). Maps to HTTP 400 when judged up front. */
export class CallbackPolicyError extends Error {
  override readonly name = 'CallbackPolicyError';
  readonly code = SSRF_ERROR_CODE;
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** How every refusal ends: what the operator can do about it. */
export const ALLOW_HINT = 'allow it with --allow-callback-hosts';

type IP = ipaddr.IPv4 | ipaddr.IPv6;

interface Range {
  readonly cidr: string;
  readonly net: IP;
  readonly bits: number;
  /** Noun phrase: "a loopback address". */
  readonly what: string;
  /** Cloud metadata endpoints stay refused under allowPrivate; only an explicit allow CIDR lifts them. */
  readonly metadata?: boolean;
}

function range(cidr: string, what: string, metadata = false): Range {
  const [net, bits] = ipaddr.parseCIDR(cidr);
  return { cidr, net, bits, what, metadata };
}

/** "a loopback address (127.0.0.0/8)"; a single-address range is not repeated. */
function describe(r: Range): string {
  return r.bits === (r.net.kind() === 'ipv4' ? 32 : 128) ? r.what : `${r.what} (${r.cidr})`;
}

// First match wins, so the specific entries (metadata, broadcast) come before their enclosing ranges.
const V4_REFUSED: readonly Range[] = [
  range('169.254.169.254/32', 'a cloud metadata address (AWS, GCP, Azure, OCI, …)', true),
  range('100.100.100.200/32', 'a cloud metadata address (Alibaba Cloud)', true),
  range('168.63.129.16/32', 'a cloud platform address (Azure WireServer)', true),
  range('0.0.0.0/8', 'an unspecified ("this network") address'),
  range('10.0.0.0/8', 'a private address'),
  range('100.64.0.0/10', 'a carrier-grade NAT (shared) address'),
  range('127.0.0.0/8', 'a loopback address'),
  range('169.254.0.0/16', 'a link-local address'),
  range('172.16.0.0/12', 'a private address'),
  range('192.0.0.0/24', 'an IETF protocol-assignment address'),
  range('192.0.2.0/24', 'a documentation address (TEST-NET-1)'),
  range('192.88.99.0/24', 'a 6to4 relay anycast address'),
  range('192.168.0.0/16', 'a private address'),
  range('198.18.0.0/15', 'a benchmarking address'),
  range('198.51.100.0/24', 'a documentation address (TEST-NET-2)'),
  range('203.0.113.0/24', 'a documentation address (TEST-NET-3)'),
  range('224.0.0.0/4', 'a multicast address'),
  range('255.255.255.255/32', 'the broadcast address'),
  range('240.0.0.0/4', 'a reserved address'),
];

// Checked after the forms that embed an IPv4 address (see embeddedIPv4) have been handled.
const V6_REFUSED: readonly Range[] = [
  range('::/128', 'the unspecified address'),
  range('::1/128', 'a loopback address'),
  range('fd00:ec2::254/128', 'a cloud metadata address (AWS IPv6)', true),
  range('64:ff9b:1::/48', 'a local-use NAT64 address'),
  range('100::/64', 'a discard-only address'),
  range('2001:2::/48', 'a benchmarking address'),
  range('2001:10::/28', 'an ORCHID address'),
  range('2001:20::/28', 'an ORCHIDv2 address'),
  range('2001:db8::/32', 'a documentation address'),
  range('3fff::/20', 'a documentation address'),
  range('fc00::/7', 'a unique-local address'),
  range('fe80::/10', 'a link-local address'),
  range('fec0::/10', 'a site-local address (deprecated)'),
  range('ff00::/8', 'a multicast address'),
];
// Everything outside global unicast (2000::/3) is special-purpose or unallocated.
const V6_GLOBAL_UNICAST = range('2000::/3', 'a global unicast address');

function v4FromWords(hi: number, lo: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
}

interface Embedded {
  readonly v4: ipaddr.IPv4;
  /** "an IPv4-mapped", "a NAT64", … */
  readonly form: string;
  /** The IPv6 address is the same destination as the IPv4 one (so IPv4 allow CIDRs apply to it). */
  readonly sameDestination: boolean;
  /** Refused even when the embedded address is public (deprecated forms). */
  readonly alwaysRefused?: boolean;
}

/** IPv4 addresses an IPv6 address carries, by the transition mechanisms that would route to them. */
function embeddedIPv4(a: ipaddr.IPv6): Embedded[] {
  const p = a.parts as [number, number, number, number, number, number, number, number];
  const zero4 = p[0] === 0 && p[1] === 0 && p[2] === 0 && p[3] === 0;
  if (zero4 && p[4] === 0 && p[5] === 0xffff) return [{ v4: v4FromWords(p[6], p[7]), form: 'an IPv4-mapped', sameDestination: true }];
  if (zero4 && p[4] === 0xffff && p[5] === 0) return [{ v4: v4FromWords(p[6], p[7]), form: 'an IPv4-translated (SIIT)', sameDestination: true }];
  if (zero4 && p[4] === 0 && p[5] === 0 && !(p[6] === 0 && (p[7] === 0 || p[7] === 1))) {
    return [{ v4: v4FromWords(p[6], p[7]), form: 'an IPv4-compatible (deprecated)', sameDestination: false, alwaysRefused: true }];
  }
  if (p[0] === 0x64 && p[1] === 0xff9b && p[2] === 0 && p[3] === 0 && p[4] === 0 && p[5] === 0) {
    return [{ v4: v4FromWords(p[6], p[7]), form: 'a NAT64', sameDestination: false }];
  }
  if (p[0] === 0x2002) return [{ v4: v4FromWords(p[1], p[2]), form: 'a 6to4', sameDestination: false }];
  if (p[0] === 0x2001 && p[1] === 0) {
    // Teredo: server address in bits 32–63, client address (bit-inverted) in the last 32 bits.
    return [
      { v4: v4FromWords(p[2], p[3]), form: 'a Teredo (server)', sameDestination: false },
      { v4: v4FromWords(p[6] ^ 0xffff, p[7] ^ 0xffff), form: 'a Teredo (client)', sameDestination: false },
    ];
  }
  return [];
}

// ---------------------------------------------------------------------------------------------
// Parsing addresses. Every textual form is first normalised by the WHATWG URL host parser — the same
// parser that turns "http://0x7f.1/" into 127.0.0.1 — so what we judge is what would be dialled, and
// ipaddr.js only ever sees canonical text (its own parser has quirks, e.g. it reads "::1.2.3.4" as
// IPv4-mapped).

/** Parse an IP address in any notation (dotted, decimal, octal, hex, short; IPv6 with or without brackets / zone id), or undefined. */
function parseIp(text: string): IP | undefined {
  let s = text;
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  if (s.includes(':')) {
    const zone = s.indexOf('%');
    if (zone !== -1) s = s.slice(0, zone); // a zone id only picks the interface; the address is what we judge
    if (!isIPv6(s)) return undefined;
    try {
      const host = new URL(`http://[${s}]/`).hostname; // canonical RFC 5952 text, brackets included
      return ipaddr.IPv6.parse(host.slice(1, -1));
    } catch {
      return undefined;
    }
  }
  if (!/^[0-9a-fA-FxX.]+$/.test(s)) return undefined;
  let host: string;
  try {
    host = new URL(`http://${s}/`).hostname;
  } catch {
    return undefined;
  }
  return isIPv4(host) ? ipaddr.IPv4.parse(host) : undefined;
}

/** As parseIp but only the plain forms an operator should write in an allow-list (dotted-quad IPv4, IPv6). */
function parsePlainIp(text: string): IP | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  if (isIPv6(text) && !text.includes('%')) return parseIp(text);
  return undefined;
}

function show(a: IP): string {
  return a.kind() === 'ipv6' ? (a as ipaddr.IPv6).toRFC5952String() : a.toString();
}

// ---------------------------------------------------------------------------------------------
// Allow-list

interface CompiledAllow {
  readonly v4: readonly [ipaddr.IPv4, number][];
  readonly v6: readonly [ipaddr.IPv6, number][];
}

const compiled = new WeakMap<readonly string[], CompiledAllow>();

function parseCidrEntry(entry: string): [IP, number] | undefined {
  const slash = entry.indexOf('/');
  const addrText = slash === -1 ? entry : entry.slice(0, slash);
  const addr = parsePlainIp(addrText.startsWith('[') && addrText.endsWith(']') ? addrText.slice(1, -1) : addrText);
  if (!addr) return undefined;
  const max = addr.kind() === 'ipv4' ? 32 : 128;
  if (slash === -1) return [addr, max];
  const bitsText = entry.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bitsText)) return undefined;
  const bits = Number(bitsText);
  if (bits > max) return undefined;
  return [addr, bits];
}

function compileAllow(cidrs: readonly string[]): CompiledAllow {
  const cached = compiled.get(cidrs);
  if (cached) return cached;
  const v4: [ipaddr.IPv4, number][] = [];
  const v6: [ipaddr.IPv6, number][] = [];
  for (const entry of cidrs) {
    const parsed = parseCidrEntry(entry);
    if (!parsed) throw new CallbackPolicyError(`malformed CIDR in the callback allow-list: ${JSON.stringify(entry)}`);
    const [addr, bits] = parsed;
    if (addr.kind() === 'ipv4') v4.push([addr as ipaddr.IPv4, bits]);
    else {
      const a6 = addr as ipaddr.IPv6;
      // "::ffff:10.0.0.0/104" means the IPv4 range 10.0.0.0/8.
      if (bits >= 96 && a6.isIPv4MappedAddress()) v4.push([a6.toIPv4Address(), bits - 96]);
      else v6.push([a6, bits]);
    }
  }
  const result = { v4, v6 };
  compiled.set(cidrs, result);
  return result;
}

function allowListed(a: IP, allow: CompiledAllow): boolean {
  if (a.kind() === 'ipv4') return allow.v4.some(([net, bits]) => a.match(net, bits));
  return allow.v6.some(([net, bits]) => a.match(net, bits));
}

/** Throws CallbackPolicyError if the policy's allowCidrs contain a malformed entry. */
export function assertValidPolicy(policy: CallbackPolicy): void {
  compileAllow(policy.allowCidrs);
}

/**
 * Parse an operator's list "127.0.0.1,10.0.0.0/8,hooks.internal" into a policy. Entries are separated by
 * commas and/or whitespace; IP addresses (dotted-quad IPv4 or IPv6, optionally in brackets) become /32 or
 * /128 CIDRs, CIDRs stay CIDRs, anything else must be a plain host name (lower-cased, IDNs to punycode,
 * trailing dot dropped). Throws CallbackPolicyError on a malformed entry, including shorthand IPv4 such as
 * "127.1" or "0x7f000001": write addresses in full.
 */
export function parseAllowList(list: string, allowPrivate = false): CallbackPolicy {
  const allowHosts: string[] = [];
  const allowCidrs: string[] = [];
  for (const entry of list.split(/[\s,]+/)) {
    if (entry === '') continue;
    const cidr = parseCidrEntry(entry);
    if (cidr) {
      const [addr, bits] = cidr;
      const a6 = addr.kind() === 'ipv6' ? (addr as ipaddr.IPv6) : undefined;
      // An IPv4-mapped range is written as the IPv4 range it means.
      if (a6 && bits >= 96 && a6.isIPv4MappedAddress()) allowCidrs.push(`${a6.toIPv4Address().toString()}/${bits - 96}`);
      else allowCidrs.push(`${show(addr)}/${bits}`);
      continue;
    }
    if (entry.includes('/') || entry.includes(':') || entry.startsWith('[')) {
      throw new CallbackPolicyError(`malformed entry in the callback allow-list: ${JSON.stringify(entry)} (expected a host name, an IP address or a CIDR such as 10.0.0.0/8)`);
    }
    allowHosts.push(normaliseHostEntry(entry));
  }
  const policy: CallbackPolicy = { allowPrivate, allowHosts, allowCidrs };
  assertValidPolicy(policy);
  return policy;
}

function normaliseHostEntry(entry: string): string {
  const bad = (why: string) =>
    new CallbackPolicyError(`malformed host in the callback allow-list: ${JSON.stringify(entry)} (${why})`);
  if (!/^[\p{L}\p{N}._-]+$/u.test(entry)) throw bad('expected a host name, an IP address or a CIDR; wildcards are not supported');
  let url: URL;
  try {
    url = new URL(`http://${entry}/`);
  } catch {
    throw bad('not a valid host name');
  }
  const host = url.hostname;
  if (isIPv4(host)) throw bad(`it is the IPv4 address ${host} in shorthand; write it as ${host}`);
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name === '' || name.length > 253 || name.split('.').some((l) => l === '' || l.length > 63)) throw bad('not a valid host name');
  return name;
}

// ---------------------------------------------------------------------------------------------
// Judging addresses

/**
 * May this IP address be dialled? Returns undefined if so, else the reason (e.g. "127.0.0.1 is a loopback
 * address (127.0.0.0/8)"). Accepts any textual form Node may hand over after DNS (IPv4, IPv6, IPv4-mapped
 * IPv6, with or without brackets or zone id) and the inet_aton shorthands. A string that is not an IP
 * address is refused. Allow-list CIDRs override every refusal; allowPrivate every refusal but the cloud
 * metadata addresses.
 */
export function addressRefusal(ip: string, policy: CallbackPolicy): string | undefined {
  // The same few addresses come up again and again (a client's receivers, every connection to them): remember
  // the verdict per policy, for a bounded number of addresses.
  let verdicts = remembered.get(policy);
  if (!verdicts) remembered.set(policy, (verdicts = new Map()));
  if (verdicts.has(ip)) return verdicts.get(ip);
  const reason = judgeAddress(ip, policy);
  if (verdicts.size >= REMEMBERED_ADDRESSES) verdicts.clear();
  verdicts.set(ip, reason);
  return reason;
}

const REMEMBERED_ADDRESSES = 1024;
const remembered = new WeakMap<CallbackPolicy, Map<string, string | undefined>>();

function judgeAddress(ip: string, policy: CallbackPolicy): string | undefined {
  const allow = compileAllow(policy.allowCidrs);
  const addr = parseIp(ip);
  if (!addr) return `${JSON.stringify(ip)} is not an IP address`;
  if (allowListed(addr, allow)) return undefined;
  const verdict = judge(addr, allow);
  if (!verdict) return undefined;
  if (policy.allowPrivate && !verdict.metadata) return undefined;
  return verdict.reason;
}

interface Verdict {
  readonly reason: string;
  readonly metadata: boolean;
}

function judgeV4(a: ipaddr.IPv4): Range | undefined {
  return V4_REFUSED.find((r) => a.match(r.net, r.bits));
}

function judge(addr: IP, allow: CompiledAllow): Verdict | undefined {
  if (addr.kind() === 'ipv4') {
    const r = judgeV4(addr as ipaddr.IPv4);
    return r && { reason: `${show(addr)} is ${describe(r)}`, metadata: !!r.metadata };
  }
  const a6 = addr as ipaddr.IPv6;
  const embedded = embeddedIPv4(a6);
  if (embedded.length > 0) {
    for (const e of embedded) {
      if (e.sameDestination && allowListed(e.v4, allow)) return undefined;
      const r = judgeV4(e.v4);
      if (r) {
        return {
          reason: `${show(a6)} is ${e.form} address embedding ${e.v4.toString()}, ${describe(r)}`,
          metadata: !!r.metadata,
        };
      }
    }
    const always = embedded.find((e) => e.alwaysRefused);
    if (always) return { reason: `${show(a6)} is ${always.form} address`, metadata: false };
    return undefined; // e.g. NAT64 64:ff9b::808:808 on an IPv6-only network: a public IPv4 destination
  }
  const r = V6_REFUSED.find((x) => a6.match(x.net, x.bits));
  if (r) return { reason: `${show(a6)} is ${describe(r)}`, metadata: !!r.metadata };
  if (!a6.match(V6_GLOBAL_UNICAST.net, V6_GLOBAL_UNICAST.bits)) {
    return { reason: `${show(a6)} is not a global unicast address (outside 2000::/3)`, metadata: false };
  }
  return undefined;
}

/** Host name as compared with allowHosts: lower-case (WHATWG already did that), no trailing dot. */
export function normaliseHostName(hostname: string): string {
  const h = hostname.toLowerCase();
  return h.endsWith('.') ? h.slice(0, -1) : h;
}
