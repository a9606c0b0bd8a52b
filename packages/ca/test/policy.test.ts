// Identifier policy, without a server: which dns and ip identifiers an order may hold, and the problem for each refusal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AcmeProblem, type Identifier } from '../src/core/index.js';
import { checkOrderIdentifiers, domainProblem, type IdentifierPolicy } from '../src/policy/index.js';

const ACME = 'urn:ietf:params:acme:error:';
const dns = (value: string): Identifier => ({ type: 'dns', value });
const ip = (value: string): Identifier => ({ type: 'ip', value });

/** The single refusal of one identifier: its problem type (without the URN prefix) and detail. */
function refusal(identifier: Identifier, policy: IdentifierPolicy = { maxNames: 100 }): { kind: string; detail: string } {
  try {
    checkOrderIdentifiers([identifier], policy);
  } catch (err) {
    assert.ok(err instanceof AcmeProblem, String(err));
    assert.equal(err.subproblems?.length, 1, `${identifier.value}: one subproblem`);
    const sub = err.subproblems[0]!;
    assert.deepEqual(sub.identifier, identifier, 'the subproblem names the identifier as sent');
    assert.equal(err.type, sub.type, 'a lone refusal gives the whole problem its type');
    return { kind: sub.type.slice(ACME.length), detail: sub.detail };
  }
  assert.fail(`${identifier.type} ${JSON.stringify(identifier.value)} should be refused`);
}

function assertRefused(cases: Array<[Identifier, string, RegExp]>, policy?: IdentifierPolicy) {
  for (const [identifier, kind, why] of cases) {
    const got = refusal(identifier, policy);
    assert.equal(got.kind, kind, `${identifier.value}: ${got.detail}`);
    assert.match(got.detail, why, identifier.value);
  }
}

test('acceptable dns names: registrable domains and names under them, private-section suffixes, IDNs, wildcards', () => {
  const names = [
    'example.com',
    'www.example.com',
    'a-b.example.co.uk',
    'x.github.io', // github.io is a private-section suffix: registrable to a CA
    'github.io',
    '*.github.io',
    '*.example.com',
    'xn--bcher-kva.example.com', // bücher
    'xn--strae-oqa.de', // straße (a deviation character, valid in IDNA2008)
    'xn--4dbrk0ce.com', // ישראל (right-to-left)
    'example.xn--p1ai', // .рф, an IDN TLD
    `${'a'.repeat(63)}.com`,
    `${'a.'.repeat(124)}a.com`, // 253 characters
  ];
  assert.equal(names.at(-1)!.length, 253);
  for (const name of names) {
    assert.equal(domainProblem(name), undefined, name);
    assert.deepEqual(checkOrderIdentifiers([dns(name)], 1), [dns(name)], name);
  }
});

test('dns syntax errors are malformed', () => {
  assertRefused([
    [dns(''), 'malformed', /empty/],
    [dns('example.com.'), 'malformed', /must not end with a dot/],
    [dns(`${'a.'.repeat(126)}com`), 'malformed', /longer than 253/],
    [dns(`${'a'.repeat(64)}.com`), 'malformed', /longer than 63/],
    [dns('localhost'), 'malformed', /only one label/],
    [dns('com'), 'malformed', /only one label/],
    [dns('a..example.com'), 'malformed', /empty label/],
    [dns('-a.example.com'), 'malformed', /not a valid DNS label/],
    [dns('a-.example.com'), 'malformed', /not a valid DNS label/],
    [dns('under_score.example.com'), 'malformed', /not a valid DNS label/],
    [dns('sp ace.example.com'), 'malformed', /not a valid DNS label/],
    [dns('1.2.3.4'), 'malformed', /IP address; use an identifier of type "ip"/],
    [dns('2001:db8::1'), 'malformed', /IP address/],
    // Unicode must arrive as A-labels, and no Unicode case folding may turn it into ASCII (U+212A KELVIN SIGN → k).
    [dns('bücher.example.com'), 'malformed', /non-ASCII/],
    [dns('\u212Aelvin.example.com'), 'malformed', /non-ASCII/],
  ]);
});

test('orders normalise upper case; domainProblem, which takes normalised names, refuses it', () => {
  assert.deepEqual(checkOrderIdentifiers([dns('WWW.Example.COM')], 1), [dns('www.example.com')]);
  assert.match(domainProblem('www.Example.com') ?? '', /upper-case/);
});

test('wildcards only as the whole leftmost label, and not over a public suffix', () => {
  assertRefused([
    [dns('foo.*.example.com'), 'malformed', /whole leftmost label/],
    [dns('*.*.example.com'), 'malformed', /whole leftmost label/],
    [dns('*example.com'), 'malformed', /whole leftmost label/],
    [dns('a*.example.com'), 'malformed', /whole leftmost label/],
    [dns('*'), 'malformed', /whole leftmost label|one label/],
    [dns('*.com'), 'rejectedIdentifier', /wildcard directly under the public suffix "com"/],
    [dns('*.co.uk'), 'rejectedIdentifier', /wildcard directly under the public suffix "co.uk"/],
  ]);
});

test('IDN labels must be valid IDNA2008 A-labels', () => {
  assertRefused([
    [dns('ab--cd.example.com'), 'malformed', /third and fourth positions but is not an IDN/],
    [dns('xn--zz.example.com'), 'malformed', /not valid IDNA2008: Invalid ASCII Compatible Encoding/], // not Punycode
    // U+2603 SNOWMAN: valid under UTS #46 alone (tr46 takes it), DISALLOWED in IDNA2008.
    [dns('xn--n3h.example.com'), 'malformed', /not valid IDNA2008: .*U\+2603.*disallowed/],
    [dns('xn--ls8h.example.com'), 'malformed', /not valid IDNA2008: .*U\+1F4A9/], // an emoji
    // "bu" + U+0308 COMBINING DIAERESIS + "cher": decodes, but is not NFC, so it is not the A-label of "bücher"
    // (xn--bcher-kva) and does not survive the round trip.
    [dns('xn--bucher-xyd.example.com'), 'malformed', /not valid IDNA2008: .*Normalization Form C/],
    [dns('xn--ab-m1t.example.com'), 'malformed', /not valid IDNA2008: .*U\+200D/], // ZERO WIDTH JOINER outside CONTEXTJ
    [dns('xn--l-fda.example.com'), 'malformed', /not valid IDNA2008: .*U\+00B7/], // MIDDLE DOT outside CONTEXTO "l·l"
    [dns('a.xn--4dbrk0ce.1a.com'), 'malformed', /not valid IDNA2008: .*Bidi/], // RFC 5893 rule 1 in a bidi name
  ]);
});

test('public suffixes (ICANN section), non-public TLDs and reverse-lookup zones are rejectedIdentifier', () => {
  assertRefused([
    [dns('co.uk'), 'rejectedIdentifier', /"co.uk" is a public suffix/],
    [dns('xn--p1ai'), 'malformed', /only one label/],
    [dns('*.xn--p1ai'), 'rejectedIdentifier', /wildcard directly under the public suffix "xn--p1ai"/],
    [dns('*.localhost'), 'rejectedIdentifier', /public top-level domain/],
    [dns('foo.localhost'), 'rejectedIdentifier', /public top-level domain/],
    [dns('host.internal'), 'rejectedIdentifier', /public top-level domain/],
    [dns('example.invalid'), 'rejectedIdentifier', /public top-level domain/],
    [dns('4.3.2.1.in-addr.arpa'), 'rejectedIdentifier', /reverse-lookup zones/],
    [dns('x.ip6.arpa'), 'rejectedIdentifier', /reverse-lookup zones/],
    [dns('*.in-addr.arpa'), 'rejectedIdentifier', /reverse-lookup zones/],
  ]);
});

test('blocklists: exact names (with their wildcard) and suffixes (with everything under them), on normalised names', () => {
  const policy: IdentifierPolicy = { maxNames: 100, blockedNames: ['blocked.example.com', 'Shouting.Example.COM.'], blockedSuffixes: ['example.net', 'Deep.Example.ORG.'] };
  assertRefused(
    [
      [dns('blocked.example.com'), 'rejectedIdentifier', /blocked by policy \("blocked.example.com"\)/],
      [dns('BLOCKED.Example.com'), 'rejectedIdentifier', /blocked by policy/],
      [dns('*.blocked.example.com'), 'rejectedIdentifier', /blocked by policy/],
      [dns('shouting.example.com'), 'rejectedIdentifier', /blocked by policy/], // configured in upper case with a dot
      [dns('example.net'), 'rejectedIdentifier', /blocked by policy \("example.net"\)/],
      [dns('a.b.example.net'), 'rejectedIdentifier', /blocked by policy \("example.net"\)/],
      [dns('*.example.net'), 'rejectedIdentifier', /blocked by policy/],
      [dns('x.deep.example.org'), 'rejectedIdentifier', /blocked by policy \("deep.example.org"\)/],
    ],
    policy,
  );
  for (const name of ['sub.blocked.example.com', 'notexample.net', 'example.net.example.com', 'example.org', 'other.example.org']) {
    assert.deepEqual(checkOrderIdentifiers([dns(name)], policy), [dns(name)], name);
  }
  // Without lists nothing is blocked.
  assert.deepEqual(checkOrderIdentifiers([dns('example.net')], 1), [dns('example.net')]);
});

test('ip identifiers are unsupportedIdentifier unless enabled, like any unknown type', () => {
  assertRefused([
    [ip('8.8.8.8'), 'unsupportedIdentifier', /"ip" is not supported; only "dns"/],
    [{ type: 'email', value: 'a@example.com' }, 'unsupportedIdentifier', /"email" is not supported/],
  ]);
  assertRefused([[{ type: 'email', value: 'a@example.com' }, 'unsupportedIdentifier', /"dns" and "ip" are/]], { maxNames: 100, allowIpIdentifiers: true });
});

test('enabled ip identifiers: canonical public unicast addresses only', () => {
  const policy: IdentifierPolicy = { maxNames: 100, allowIpIdentifiers: true };
  for (const value of ['8.8.8.8', '1.1.1.1', '2001:4860:4860::8888', '2a00:1450:4001:82a::200e']) {
    assert.deepEqual(checkOrderIdentifiers([ip(value)], policy), [ip(value)], value);
  }
  assertRefused(
    [
      [ip('not-an-ip'), 'malformed', /is not an IP address/],
      [ip('08.8.8.8'), 'malformed', /is not an IP address/], // a leading zero, and 8 is no octal digit
      [ip('010.8.8.8'), 'malformed', /not in canonical form \("8.8.8.8"\)/], // a leading zero: octal to some parsers
      [ip('8.8.8'), 'malformed', /not in canonical form/],
      [ip('0x8.8.8.8'), 'malformed', /not in canonical form/],
      [ip('2001:4860:4860:0:0:0:0:8888'), 'malformed', /not in canonical form \("2001:4860:4860::8888"\)/], // RFC 5952 §4.2
      [ip('2A00:1450:4001:82A::200E'), 'malformed', /not in canonical form \("2a00:1450:4001:82a::200e"\)/], // RFC 5952 §4.3: lower case
      [ip('2001:0db8::1'), 'malformed', /not in canonical form/], // RFC 5952 §4.1: no leading zeros
      [ip('fe80::1%eth0'), 'malformed', /not in canonical form/],
      [ip('10.1.2.3'), 'rejectedIdentifier', /special-purpose address range \(private\)/],
      [ip('192.168.1.1'), 'rejectedIdentifier', /\(private\)/],
      [ip('127.0.0.1'), 'rejectedIdentifier', /\(loopback\)/],
      [ip('169.254.1.1'), 'rejectedIdentifier', /\(linkLocal\)/],
      [ip('100.64.0.1'), 'rejectedIdentifier', /\(carrierGradeNat\)/],
      [ip('192.0.2.1'), 'rejectedIdentifier', /\(reserved\)/], // documentation, TEST-NET-1
      [ip('203.0.113.7'), 'rejectedIdentifier', /\(reserved\)/], // documentation, TEST-NET-3
      [ip('224.0.0.1'), 'rejectedIdentifier', /\(multicast\)/],
      [ip('0.0.0.0'), 'rejectedIdentifier', /\(unspecified\)/],
      [ip('255.255.255.255'), 'rejectedIdentifier', /\(broadcast\)/],
      [ip('::1'), 'rejectedIdentifier', /\(loopback\)/],
      [ip('::'), 'rejectedIdentifier', /\(unspecified\)/],
      [ip('fe80::1'), 'rejectedIdentifier', /\(linkLocal\)/],
      [ip('fd00::1'), 'rejectedIdentifier', /\(uniqueLocal\)/],
      [ip('2001:db8::1'), 'rejectedIdentifier', /\(reserved\)/], // documentation
      [ip('ff02::1'), 'rejectedIdentifier', /\(multicast\)/],
      [ip('::ffff:808:808'), 'rejectedIdentifier', /\(ipv4Mapped\)/],
      [ip('4000::1'), 'rejectedIdentifier', /outside the IPv6 global unicast space/],
    ],
    policy,
  );
});

test('order identifiers come back normalised, de-duplicated and sorted, dns before ip', () => {
  const result = checkOrderIdentifiers(
    [ip('8.8.8.8'), dns('B.example.com'), ip('2001:4860:4860::8888'), dns('a.example.com'), dns('b.EXAMPLE.com'), ip('8.8.8.8'), dns('*.example.com')],
    { maxNames: 5, allowIpIdentifiers: true },
  );
  assert.deepEqual(result, [dns('*.example.com'), dns('a.example.com'), dns('b.example.com'), ip('2001:4860:4860::8888'), ip('8.8.8.8')]);
});

test('maxNames counts distinct identifiers; the bare number still works as the policy', () => {
  const two = [dns('a.example.com'), dns('b.example.com'), dns('A.example.com')];
  assert.equal(checkOrderIdentifiers(two, 2).length, 2);
  assert.equal(checkOrderIdentifiers(two, { maxNames: 2 }).length, 2);
  for (const policy of [1, { maxNames: 1 }]) {
    assert.throws(
      () => checkOrderIdentifiers(two, policy),
      (err: unknown) => err instanceof AcmeProblem && err.type === `${ACME}rejectedIdentifier` && /at most 1 identifiers, this one has 2/.test(err.message),
    );
  }
});

test('a malformed order is malformed as a whole', () => {
  const malformed = (err: unknown) => err instanceof AcmeProblem && err.type === `${ACME}malformed` && err.subproblems === undefined;
  assert.throws(() => checkOrderIdentifiers([], 100), malformed);
  assert.throws(() => checkOrderIdentifiers(undefined as never, 100), malformed);
  assert.throws(() => checkOrderIdentifiers([null as never], 100), malformed);
  assert.throws(() => checkOrderIdentifiers([{ type: 'dns', value: 7 } as never], 100), malformed);
  assert.throws(() => checkOrderIdentifiers([{ value: 'example.com' } as never], 100), malformed);
});

test('several refusals: one subproblem each, typed; the common type on top, malformed when they differ', () => {
  const same = () => checkOrderIdentifiers([dns('co.uk'), dns('ok.example.com'), dns('foo.localhost')], 100);
  assert.throws(same, (err: unknown) => {
    assert.ok(err instanceof AcmeProblem);
    assert.equal(err.type, `${ACME}rejectedIdentifier`);
    assert.match(err.message, /2 identifiers were refused/);
    assert.deepEqual(err.subproblems!.map((p) => p.identifier), [dns('co.uk'), dns('foo.localhost')]);
    return true;
  });
  const mixed = () => checkOrderIdentifiers([ip('8.8.8.8'), dns('co.uk'), dns('bad_name.example.com'), dns('ok.example.com')], 100);
  assert.throws(mixed, (err: unknown) => {
    assert.ok(err instanceof AcmeProblem);
    assert.equal(err.type, `${ACME}malformed`);
    assert.deepEqual(
      err.subproblems!.map((p) => [p.identifier!.value, p.type.slice(ACME.length), p.status]),
      [['8.8.8.8', 'unsupportedIdentifier', 400], ['co.uk', 'rejectedIdentifier', 400], ['bad_name.example.com', 'malformed', 400]],
    );
    return true;
  });
});
