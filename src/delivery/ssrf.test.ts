import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { checkCallbackUrl } from './callback-url.js';
import { addressRefusal, CallbackPolicyError, parseAllowList, type CallbackPolicy } from './ssrf.js';

const DEFAULT: CallbackPolicy = { allowPrivate: false, allowHosts: [], allowCidrs: [] };
const allow = (...allowCidrs: string[]): CallbackPolicy => ({ allowPrivate: false, allowHosts: [], allowCidrs });

function refusedUrl(url: string, policy: CallbackPolicy, pattern?: RegExp): CallbackPolicyError {
  let caught: unknown;
  try {
    checkCallbackUrl(url, policy);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof CallbackPolicyError, `${url} should be refused, got ${String(caught)}`);
  assert.equal(caught.code, 'callback-refused');
  assert.equal(caught.message, caught.reason);
  if (pattern) assert.match(caught.message, pattern);
  return caught;
}

// ---- IP literals in every notation WHATWG URL normalises: refused by default, allowed when covered ----

const URL_NOTATIONS: { notation: string; url: string; normalised: string; cover: string }[] = [
  { notation: 'dotted IPv4', url: 'http://127.0.0.1:8080/cb', normalised: '127.0.0.1', cover: '127.0.0.1/32' },
  { notation: 'decimal IPv4', url: 'http://2130706433/', normalised: '127.0.0.1', cover: '127.0.0.1/32' },
  { notation: 'octal IPv4', url: 'http://0177.0.0.1/', normalised: '127.0.0.1', cover: '127.0.0.0/8' },
  { notation: 'hex IPv4', url: 'http://0x7f.1/', normalised: '127.0.0.1', cover: '127.0.0.1' },
  { notation: 'short IPv4', url: 'http://127.1/', normalised: '127.0.0.1', cover: '127.0.0.1/32' },
  { notation: 'single hex number', url: 'http://0x7f000001/', normalised: '127.0.0.1', cover: '127.0.0.1/32' },
  { notation: 'trailing dot IPv4', url: 'http://127.0.0.1./', normalised: '127.0.0.1', cover: '127.0.0.1/32' },
  { notation: 'percent-encoded IPv4', url: 'http://%31%32%37.0.0.1/', normalised: '127.0.0.1', cover: '127.0.0.1/32' },
  { notation: 'zero as 0.0.0.0', url: 'http://0/', normalised: '0.0.0.0', cover: '0.0.0.0/32' },
  { notation: 'private 10/8', url: 'https://10.1.2.3/', normalised: '10.1.2.3', cover: '10.0.0.0/8' },
  { notation: 'private 172.16/12', url: 'http://172.31.255.1/', normalised: '172.31.255.1', cover: '172.16.0.0/12' },
  { notation: 'private 192.168/16', url: 'http://192.168.0.1/', normalised: '192.168.0.1', cover: '192.168.0.0/16' },
  { notation: 'CGNAT', url: 'http://100.64.0.1/', normalised: '100.64.0.1', cover: '100.64.0.0/10' },
  { notation: 'metadata', url: 'http://169.254.169.254/latest/meta-data/', normalised: '169.254.169.254', cover: '169.254.169.254/32' },
  { notation: 'IPv6 loopback', url: 'http://[::1]:9000/', normalised: '[::1]', cover: '::1/128' },
  { notation: 'IPv4-mapped IPv6 (hex)', url: 'http://[::ffff:7f00:1]/', normalised: '[::ffff:7f00:1]', cover: '127.0.0.1/32' },
  { notation: 'IPv4-mapped IPv6 (dotted)', url: 'http://[::ffff:127.0.0.1]/', normalised: '[::ffff:7f00:1]', cover: '::ffff:127.0.0.1/128' },
  { notation: 'IPv4-compatible IPv6', url: 'http://[::127.0.0.1]/', normalised: '[::7f00:1]', cover: '::7f00:1/128' },
  { notation: 'NAT64 IPv6', url: 'http://[64:ff9b::127.0.0.1]/', normalised: '[64:ff9b::7f00:1]', cover: '64:ff9b::/96' },
  { notation: '6to4 IPv6', url: 'http://[2002:7f00:1::]/', normalised: '[2002:7f00:1::]', cover: '2002::/16' },
  { notation: 'unique-local IPv6', url: 'http://[fd00:ec2::254]/', normalised: '[fd00:ec2::254]', cover: 'fd00:ec2::254/128' },
  { notation: 'link-local IPv6', url: 'http://[fe80::1]/', normalised: '[fe80::1]', cover: 'fe80::/10' },
  { notation: 'IPv6 unspecified', url: 'http://[::]/', normalised: '[::]', cover: '::/128' },
];

for (const c of URL_NOTATIONS) {
  test(`checkCallbackUrl refuses ${c.notation} ${c.url} by default and allows it when ${c.cover} is allowed`, () => {
    const err = refusedUrl(c.url, DEFAULT);
    assert.ok(err.message.includes(`//${c.normalised}`), err.message); // names the normalised origin
    assert.match(err.message, /--allow-callback-hosts/);
    assert.doesNotMatch(err.message, /meta-data|\/cb/, 'the path is not echoed');
    const ok = checkCallbackUrl(c.url, parseAllowList(c.cover));
    assert.equal(ok.hostname, c.normalised);
  });
}

test('checkCallbackUrl: refusal messages say what and why', () => {
  refusedUrl('http://10.0.0.1/', DEFAULT, /^callback URL http:\/\/10\.0\.0\.1\/ refused: 10\.0\.0\.1 is a private address \(10\.0\.0\.0\/8\); allow it with --allow-callback-hosts$/);
  refusedUrl('http://[::ffff:7f00:1]/', DEFAULT, /IPv4-mapped address embedding 127\.0\.0\.1, a loopback address/);
  refusedUrl('http://169.254.169.254/', DEFAULT, /cloud metadata/);
});

test('checkCallbackUrl: an allow CIDR covers only its range', () => {
  const policy = parseAllowList('127.0.0.1/32');
  checkCallbackUrl('http://127.0.0.1/', policy);
  refusedUrl('http://127.0.0.2/', policy, /loopback/);
  refusedUrl('http://[::1]/', policy, /loopback/);
  refusedUrl('http://[64:ff9b::7f00:1]/', policy, /NAT64/, ); // a translator's address, not the same destination
  refusedUrl('http://10.0.0.1/', policy, /private/);
});

test('checkCallbackUrl: localhost and *.localhost are refused up front (RFC 6761) unless allowed', () => {
  for (const url of ['http://localhost/', 'http://LOCALHOST:3000/x', 'http://localhost./', 'https://api.localhost/', 'http://a.b.localhost/']) {
    refusedUrl(url, DEFAULT, /loopback name \(RFC 6761\)/);
  }
  checkCallbackUrl('http://localhost:3000/', parseAllowList('localhost'));
  checkCallbackUrl('http://localhost:3000/', parseAllowList('127.0.0.1'));
  checkCallbackUrl('http://api.localhost/', { ...DEFAULT, allowPrivate: true });
  refusedUrl('http://api.localhost/', parseAllowList('localhost')); // exact names only
  checkCallbackUrl('http://notlocalhost/', DEFAULT); // just a name: judged at dial time
});

test('checkCallbackUrl: public addresses and host names pass', () => {
  for (const url of [
    'http://8.8.8.8/',
    'https://1.1.1.1:8443/hook?token=abc',
    'http://[2606:4700:4700::1111]/',
    'https://example.com/callback',
    'http://[::ffff:8.8.8.8]/',
    'http://[64:ff9b::808:808]/', // NAT64 of a public address (IPv6-only networks)
    'http://hooks.internal/', // a name: only the dial-time check can judge it
  ]) {
    const u = checkCallbackUrl(url, DEFAULT);
    assert.ok(u instanceof URL);
  }
  assert.equal(checkCallbackUrl('HTTPS://Example.COM/a b', DEFAULT).href, 'https://example.com/a%20b');
});

test('checkCallbackUrl: allowHosts names pass; a name never stands in for an address', () => {
  const policy = parseAllowList('hooks.internal,Localhost');
  checkCallbackUrl('http://hooks.internal/', policy);
  checkCallbackUrl('http://HOOKS.internal./', policy);
  checkCallbackUrl('http://localhost/', policy);
  refusedUrl('http://127.0.0.1/', policy, /loopback/);
});

test('checkCallbackUrl: credentials, other schemes and junk are refused', () => {
  refusedUrl('http://user:pass@example.com/', DEFAULT, /credentials/);
  refusedUrl('http://user@example.com/', DEFAULT, /credentials/);
  refusedUrl('https://:secret@example.com/', DEFAULT, /credentials/);
  assert.doesNotMatch(refusedUrl('http://user:hunter2@example.com/', DEFAULT).message, /hunter2/);
  refusedUrl('ftp://example.com/', DEFAULT, /scheme "ftp:"/);
  refusedUrl('javascript:alert(1)', DEFAULT, /scheme "javascript:"/);
  refusedUrl('file:///etc/passwd', DEFAULT, /scheme "file:"/);
  refusedUrl('data:text/plain,hi', DEFAULT, /scheme/);
  refusedUrl('gopher://127.0.0.1:6379/_', DEFAULT, /scheme/);
  refusedUrl('/relative/path', DEFAULT, /not a valid absolute URL/);
  refusedUrl('', DEFAULT, /not a valid absolute URL/);
  refusedUrl('http://', DEFAULT);
  refusedUrl('http://999.1.1.1/', DEFAULT, /not a valid absolute URL/);
  refusedUrl(42 as unknown as string, DEFAULT, /must be a string/);
});

test('checkCallbackUrl: allowPrivate lifts everything but the cloud metadata addresses', () => {
  const dev: CallbackPolicy = { ...DEFAULT, allowPrivate: true };
  for (const url of ['http://127.0.0.1/', 'http://[::1]/', 'http://10.0.0.1/', 'http://localhost/', 'http://[fd12::1]/']) checkCallbackUrl(url, dev);
  refusedUrl('http://169.254.169.254/', dev, /metadata/);
  refusedUrl('http://[::ffff:169.254.169.254]/', dev, /metadata/);
  refusedUrl('http://100.100.100.200/', dev, /metadata/);
  refusedUrl('http://[fd00:ec2::254]/', dev, /metadata/);
  checkCallbackUrl('http://169.254.169.254/', { ...dev, allowCidrs: ['169.254.169.254/32'] });
});

// ---- addressRefusal: the forms Node hands over after DNS ----

const REFUSED_ADDRESSES: [string, RegExp][] = [
  ['0.0.0.0', /unspecified/],
  ['::', /unspecified/],
  ['127.0.0.1', /loopback/],
  ['127.255.255.254', /loopback/],
  ['::1', /loopback/],
  ['10.0.0.1', /private/],
  ['172.16.0.1', /private/],
  ['192.168.1.1', /private/],
  ['100.64.0.1', /carrier-grade NAT/],
  ['100.100.100.200', /metadata address \(Alibaba/],
  ['169.254.1.1', /link-local/],
  ['169.254.169.254', /metadata/],
  ['fe80::1', /link-local/],
  ['fe80::1%eth0', /link-local/],
  ['fc00::1', /unique-local/],
  ['fd12:3456::1', /unique-local/],
  ['fd00:ec2::254', /metadata address \(AWS IPv6\)/],
  ['224.0.0.1', /multicast/],
  ['239.255.255.250', /multicast/],
  ['ff02::1', /multicast/],
  ['255.255.255.255', /broadcast/],
  ['240.0.0.1', /reserved/],
  ['198.18.0.1', /benchmarking/],
  ['192.0.2.1', /documentation/],
  ['198.51.100.1', /documentation/],
  ['203.0.113.1', /documentation/],
  ['2001:db8::1', /documentation/],
  ['::ffff:127.0.0.1', /IPv4-mapped .*127\.0\.0\.1, a loopback/],
  ['::ffff:7f00:1', /IPv4-mapped/],
  ['[::ffff:10.0.0.1]', /private/],
  ['::ffff:169.254.169.254', /metadata/],
  ['::ffff:0:127.0.0.1', /IPv4-translated/],
  ['64:ff9b::7f00:1', /NAT64 .*loopback/],
  ['64:ff9b::a00:1', /NAT64 .*private/],
  ['64:ff9b:1::1', /local-use NAT64/],
  ['2002:7f00:1::', /6to4 .*loopback/],
  ['2002:a9fe:a9fe::1', /6to4 .*metadata/],
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', /Teredo \(client\) .*192\.0\.2\.45/],
  ['::127.0.0.1', /IPv4-compatible .*loopback/],
  ['::8.8.8.8', /IPv4-compatible \(deprecated\)/],
  ['fec0::1', /site-local/],
  ['100::1', /discard/],
  ['5f00::1', /not a global unicast/],
  ['example.com', /not an IP address/],
  ['', /not an IP address/],
  ['127.0.0.1 ', /not an IP address/],
];

for (const [ip, pattern] of REFUSED_ADDRESSES) {
  test(`addressRefusal refuses ${JSON.stringify(ip)}`, () => {
    const reason = addressRefusal(ip, DEFAULT);
    assert.ok(reason !== undefined, `${ip} should be refused`);
    assert.match(reason, pattern);
  });
}

test('addressRefusal allows public addresses, including mapped/NAT64/6to4 forms of public IPv4', () => {
  for (const ip of ['8.8.8.8', '1.1.1.1', '93.184.215.14', '2606:4700:4700::1111', '2a00:1450:4001:81c::200e', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1', '172.32.0.1', '100.128.0.1', '11.0.0.1']) {
    assert.equal(addressRefusal(ip, DEFAULT), undefined, ip);
  }
});

test('addressRefusal: allow CIDRs override, and IPv4 CIDRs cover the IPv4-mapped form', () => {
  const p = parseAllowList('10.0.0.0/8,::1,fd00::/8');
  assert.equal(addressRefusal('10.9.8.7', p), undefined);
  assert.equal(addressRefusal('::ffff:10.9.8.7', p), undefined);
  assert.equal(addressRefusal('::1', p), undefined);
  assert.equal(addressRefusal('fd00:ec2::254', p), undefined); // explicit CIDRs lift metadata too
  assert.match(addressRefusal('127.0.0.1', p) ?? '', /loopback/);
  assert.match(addressRefusal('fc00::1', p) ?? '', /unique-local/);
  // an IPv4-mapped allow entry means the IPv4 range
  const m = parseAllowList('::ffff:192.168.0.0/112');
  assert.deepEqual(m.allowCidrs, ['192.168.0.0/16']);
  assert.equal(addressRefusal('192.168.3.4', m), undefined);
});

// ---- parseAllowList ----

test('parseAllowList: hosts vs CIDRs, bare IPs become /32 or /128', () => {
  assert.deepEqual(parseAllowList('127.0.0.1,10.0.0.0/8,hooks.internal'), {
    allowPrivate: false,
    allowHosts: ['hooks.internal'],
    allowCidrs: ['127.0.0.1/32', '10.0.0.0/8'],
  });
  assert.deepEqual(parseAllowList(' ::1 , [fd00::1], fe80::/10,Hooks.Example.COM., bücher.example\n', true), {
    allowPrivate: true,
    allowHosts: ['hooks.example.com', 'xn--bcher-kva.example'],
    allowCidrs: ['::1/128', 'fd00::1/128', 'fe80::/10'],
  });
  assert.deepEqual(parseAllowList(''), { allowPrivate: false, allowHosts: [], allowCidrs: [] });
  assert.deepEqual(parseAllowList(',, ,'), { allowPrivate: false, allowHosts: [], allowCidrs: [] });
  assert.deepEqual(parseAllowList('0:0:0:0:0:0:0:1/128').allowCidrs, ['::1/128']);
});

test('parseAllowList: malformed entries throw CallbackPolicyError naming the entry', () => {
  for (const bad of ['10.0.0.0/33', '::1/129', '10.0.0.0/', '10.0.0.0/8/8', '10.0.0.0/x', '300.1.1.1', '1.2.3.4.5', '127.1', '0x7f000001', '0177.0.0.1', '2130706433', '*.example.com', 'host:8080', 'http://example.com', 'a..b', 'user@host', 'fe80::1%eth0', '[::1', 'exa mple/8']) {
    assert.throws(() => parseAllowList(bad), (err: unknown) => {
      assert.ok(err instanceof CallbackPolicyError, `${bad}: ${String(err)}`);
      return true;
    }, bad);
  }
  assert.throws(() => parseAllowList('127.1'), /write it as 127\.0\.0\.1/);
  assert.throws(() => parseAllowList('ok.example,10.0.0.0/99'), /"10\.0\.0\.0\/99"/);
  // a policy built by hand with a malformed CIDR is caught when used
  assert.throws(() => addressRefusal('8.8.8.8', allow('10.0.0.0/8', 'nonsense')), CallbackPolicyError);
});

// ---- properties ----

const ipv4 = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

test('property: checkCallbackUrl throws nothing but CallbackPolicyError, and what it accepts is http(s) without credentials', () => {
  const urlish = fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.webUrl({ withQueryParameters: true, withFragments: true }),
    fc.tuple(fc.constantFrom('http://', 'https://', 'HTTP://', 'ftp://', 'javascript:', 'http://[', 'http://user@', '//', 'http:'), fc.string({ unit: 'binary' })).map(([a, b]) => a + b),
    fc.tuple(fc.constantFrom('http://', 'https://'), fc.array(fc.oneof(fc.nat(0xffffffff).map(String), fc.constantFrom('0x7f', '0177', '1', '.', ':', '[', ']', '::', 'ffff', '%', '@', 'localhost')), { maxLength: 8 })).map(([a, parts]) => a + parts.join('')),
  );
  fc.assert(
    fc.property(urlish, (s) => {
      try {
        const u = checkCallbackUrl(s, DEFAULT);
        assert.ok(u.protocol === 'http:' || u.protocol === 'https:');
        assert.equal(u.username + u.password, '');
        // whatever passed, an IP-literal host in it is not refused
        if (u.hostname.startsWith('[') || /^\d+\.\d+\.\d+\.\d+$/.test(u.hostname)) assert.equal(addressRefusal(u.hostname, DEFAULT), undefined);
      } catch (err) {
        if (!(err instanceof CallbackPolicyError)) throw err;
      }
    }),
    { numRuns: 2000 },
  );
});

test('property: addressRefusal never throws on arbitrary strings', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.ipV4(), fc.ipV6(), fc.ipV4Extended()), (s) => {
      const r = addressRefusal(s, DEFAULT);
      assert.ok(r === undefined || typeof r === 'string');
    }),
    { numRuns: 2000 },
  );
});

const PRIVATE_V4: [number, number][] = [
  [0x00000000, 0x00ffffff], // 0/8
  [0x0a000000, 0x0affffff], // 10/8
  [0x64400000, 0x647fffff], // 100.64/10
  [0x7f000000, 0x7fffffff], // 127/8
  [0xa9fe0000, 0xa9feffff], // 169.254/16
  [0xac100000, 0xac1fffff], // 172.16/12
  [0xc0a80000, 0xc0a8ffff], // 192.168/16
  [0xc6120000, 0xc613ffff], // 198.18/15
  [0xe0000000, 0xffffffff], // 224/4, 240/4, broadcast
];

test('property: every IPv4 in an internal range is refused, in every notation', () => {
  const internal = fc.constantFrom(...PRIVATE_V4).chain(([lo, hi]) => fc.integer({ min: lo, max: hi }));
  fc.assert(
    fc.property(internal, (n) => {
      const dotted = ipv4(n);
      const hex = (n >>> 0).toString(16).padStart(8, '0');
      const mapped = `::ffff:${hex.slice(0, 4)}:${hex.slice(4)}`;
      assert.ok(addressRefusal(dotted, DEFAULT), dotted);
      assert.ok(addressRefusal(mapped, DEFAULT), mapped);
      assert.ok(addressRefusal(`::ffff:${dotted}`, DEFAULT), `::ffff:${dotted}`);
      assert.ok(addressRefusal(`64:ff9b::${dotted}`, DEFAULT), `64:ff9b::${dotted}`);
      assert.ok(addressRefusal(`2002:${hex.slice(0, 4)}:${hex.slice(4)}::1`, DEFAULT));
      for (const url of [`http://${dotted}/`, `http://${n}/`, `http://0x${hex}/`, `http://[${mapped}]/`]) {
        assert.throws(() => checkCallbackUrl(url, DEFAULT), CallbackPolicyError, url);
      }
      // and the allow-list lifts it
      assert.equal(addressRefusal(dotted, allow(`${dotted}/32`)), undefined);
      assert.equal(addressRefusal(mapped, allow(`${dotted}/32`)), undefined);
    }),
    { numRuns: 1000 },
  );
});

test('property: the IPv4-mapped form of any IPv4 is judged exactly like the IPv4', () => {
  fc.assert(
    fc.property(fc.nat(0xffffffff), (n) => {
      const dotted = ipv4(n);
      assert.equal(addressRefusal(dotted, DEFAULT) === undefined, addressRefusal(`::ffff:${dotted}`, DEFAULT) === undefined, dotted);
      assert.equal(addressRefusal(dotted, DEFAULT) === undefined, addressRefusal(String(n), DEFAULT) === undefined, String(n));
    }),
    { numRuns: 3000 },
  );
});

test('property: public 8.0.0.0/8 is always allowed', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0x08000000, max: 0x08ffffff }), (n) => {
      assert.equal(addressRefusal(ipv4(n), DEFAULT), undefined);
      assert.equal(checkCallbackUrl(`https://${ipv4(n)}/x`, DEFAULT).hostname, ipv4(n));
    }),
  );
});
