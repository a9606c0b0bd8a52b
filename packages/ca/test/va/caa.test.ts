// CAA (RFC 8659 + RFC 8657) through the VA against a real pebble-challtestsrv on loopback, and against Unbound for what
// challtestsrv cannot serve (the critical flag, DNSSEC-bogus answers). Every case uses its own names, so no case
// depends on another's records or on a cached answer.
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { evaluateCaa, fromCares, type CaaPolicy } from '../../src/va/caa.js';
import { dns01Digest, ValidationAuthority, type CaaRequest, type CaaResult, type ChallengeType, type ValidationResult } from '../../src/va/index.js';
import { freePort, startChallTestSrv, type ChallTestSrv } from './challtestsrv.js';
import { startUnbound, unboundSkip, type Unbound } from './unbound.js';

const US = 'ca.example';
const ALSO_US = 'ca-alt.example';
const ACCOUNT = 'https://ca.example/acme/acct/4711';
const TOKEN = 'LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0';
const KEY_AUTH = `${TOKEN}.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI`;

let dns: ChallTestSrv;
let authority: ValidationAuthority;
const closers: (() => Promise<unknown>)[] = [];

before(async () => {
  dns = await startChallTestSrv();
  authority = vaFor(dns.dnsServer, [US, ALSO_US]);
});
after(async () => {
  for (const close of closers.reverse()) await close();
  await dns.close();
});

function vaFor(dnsServer: string, caaIdentities: string[], httpPort = 1, timeoutMs = 3000): ValidationAuthority {
  const va = new ValidationAuthority({ httpPort, tlsPort: 1, dnsServer, timeoutMs, caaIdentities });
  closers.push(() => va.close());
  return va;
}

const caa = (domain: string, options: Partial<Omit<CaaRequest, 'domain'>> = {}, va = authority): Promise<CaaResult> =>
  va.checkCaa({ domain, wildcard: false, accountUri: ACCOUNT, validationMethod: 'http-01', ...options });

const issue = (value: string) => ({ tag: 'issue', value });
const issuewild = (value: string) => ({ tag: 'issuewild', value });

function assertAllowed(result: CaaResult | ValidationResult): void {
  assert.equal(result.ok, true, result.ok ? '' : `expected issuance to be allowed, got ${JSON.stringify(result.problem)}`);
}

function assertProblem(result: CaaResult | ValidationResult, kind: 'caa' | 'dns' | 'malformed', ...detailParts: string[]): void {
  assert.equal(result.ok, false, `expected a ${kind} problem, got success`);
  if (result.ok) return;
  assert.equal(result.problem.type, `urn:ietf:params:acme:error:${kind}`, result.problem.detail);
  for (const part of detailParts) assert.ok(result.problem.detail.includes(part), `detail ${JSON.stringify(result.problem.detail)} lacks ${JSON.stringify(part)}`);
}

describe('CAA against pebble-challtestsrv', () => {
  test('no CAA record anywhere up the tree allows issuance', async () => {
    assertAllowed(await caa('nocaa.caa.test'));
    assertAllowed(await caa('nocaa.caa.test', { wildcard: true }));
  });

  test('issue naming this CA allows; either configured identity counts', async () => {
    await dns.addCAA('ours.caa.test', [issue(US)]);
    assertAllowed(await caa('ours.caa.test'));
    await dns.addCAA('alt.caa.test', [issue(ALSO_US)]);
    assertAllowed(await caa('alt.caa.test'));
  });

  test('issue naming another CA forbids, saying which record and what this CA is called', async () => {
    await dns.addCAA('other.caa.test', [issue('other-ca.example')]);
    assertProblem(await caa('other.caa.test'), 'caa',
      'CAA record for other.caa.test prevents issuance', '0 issue "other-ca.example"', 'names other-ca.example, not this CA', `${US}, ${ALSO_US}`);
    // Of several refusing records, the one naming this CA explains best what the subscriber must change.
    await dns.addCAA('others.caa.test', [issue('other-ca.example'), issue(`${US}; accounturi=${ACCOUNT}0`), issue(';')]);
    assertProblem(await caa('others.caa.test'), 'caa', `issue "${US}; accounturi=${ACCOUNT}0" is limited to the account`, 'the 2 other issue records');
  });

  test('one record for another CA and one for this CA: this CA may issue', async () => {
    await dns.addCAA('two.caa.test', [issue('other-ca.example'), issue(US)]);
    assertAllowed(await caa('two.caa.test'));
  });

  test('";" alone forbids every CA', async () => {
    await dns.addCAA('denyall.caa.test', [issue(';')]);
    assertProblem(await caa('denyall.caa.test'), 'caa', 'CAA record for denyall.caa.test prevents issuance', 'allows no CA to issue');
  });

  test('a malformed issue value authorises nobody', async () => {
    await dns.addCAA('garbled.caa.test', [issue(`${US} extra words`)]);
    assertProblem(await caa('garbled.caa.test'), 'caa', 'does not parse');
  });

  describe('issuewild', () => {
    test('issuewild for this CA, issue for another: wildcard allowed, non-wildcard forbidden', async () => {
      await dns.addCAA('wildus.caa.test', [issue('other-ca.example'), issuewild(US)]);
      assertAllowed(await caa('wildus.caa.test', { wildcard: true }));
      assertProblem(await caa('wildus.caa.test'), 'caa', 'issue "other-ca.example"');
    });

    test('issuewild for another CA, issue for this CA: wildcard forbidden, non-wildcard allowed', async () => {
      await dns.addCAA('wildother.caa.test', [issue(US), issuewild('other-ca.example')]);
      assertProblem(await caa('wildother.caa.test', { wildcard: true }), 'caa',
        'While processing CAA for *.wildother.caa.test', 'CAA record for wildother.caa.test prevents issuance', 'issuewild "other-ca.example"');
      assertAllowed(await caa('wildother.caa.test'));
    });

    test('without issuewild, issue governs wildcards too', async () => {
      await dns.addCAA('wildfallback-ok.caa.test', [issue(US)]);
      assertAllowed(await caa('wildfallback-ok.caa.test', { wildcard: true }));
      await dns.addCAA('wildfallback-no.caa.test', [issue('other-ca.example')]);
      assertProblem(await caa('wildfallback-no.caa.test', { wildcard: true }), 'caa', 'issue "other-ca.example"');
    });

    test('issuewild ";" forbids wildcards only', async () => {
      await dns.addCAA('nowild.caa.test', [issue(US), issuewild(';')]);
      assertProblem(await caa('nowild.caa.test', { wildcard: true }), 'caa', 'allows no CA to issue');
      assertAllowed(await caa('nowild.caa.test'));
    });
  });

  describe('tree climbing', () => {
    test('a record at the parent governs a child without one', async () => {
      await dns.addCAA('parent-no.caa.test', [issue('other-ca.example')]);
      assertProblem(await caa('www.deep.parent-no.caa.test'), 'caa', 'CAA record for parent-no.caa.test prevents issuance');
      await dns.addCAA('parent-ok.caa.test', [issue(US)]);
      assertAllowed(await caa('www.deep.parent-ok.caa.test'));
    });

    test("a child's own record overrides its parent's, both ways", async () => {
      await dns.addCAA('override1.caa.test', [issue('other-ca.example')]);
      await dns.addCAA('child.override1.caa.test', [issue(US)]);
      assertAllowed(await caa('child.override1.caa.test'));
      await dns.addCAA('override2.caa.test', [issue(US)]);
      await dns.addCAA('child.override2.caa.test', [issue('other-ca.example')]);
      assertProblem(await caa('child.override2.caa.test'), 'caa', 'CAA record for child.override2.caa.test prevents issuance');
    });

    test('a child RRset of only unknown tags is still the relevant RRset: the parent is not consulted', async () => {
      await dns.addCAA('stop.caa.test', [issue('other-ca.example')]);
      await dns.addCAA('child.stop.caa.test', [{ tag: 'tbs', value: 'anything' }]);
      assertAllowed(await caa('child.stop.caa.test'));
    });
  });

  describe('tags', () => {
    test('an unknown tag without the critical flag is ignored', async () => {
      await dns.addCAA('unknown-alone.caa.test', [{ tag: 'tbs', value: 'x' }]);
      assertAllowed(await caa('unknown-alone.caa.test'));
      await dns.addCAA('unknown-with-issue.caa.test', [{ tag: 'tbs', value: 'x' }, issue(US)]);
      assertAllowed(await caa('unknown-with-issue.caa.test'));
    });

    test('iodef alone allows issuance', async () => {
      await dns.addCAA('iodef.caa.test', [{ tag: 'iodef', value: 'mailto:security@iodef.caa.test' }]);
      assertAllowed(await caa('iodef.caa.test'));
    });

    test('tags and issuer domain names match case-insensitively', async () => {
      await dns.addCAA('upper-ours.caa.test', [{ tag: 'ISSUE', value: 'CA.Example' }]);
      assertAllowed(await caa('upper-ours.caa.test'));
      // The upper-case tag is read as issue, not ignored as an unknown tag: naming another CA it forbids.
      await dns.addCAA('upper-other.caa.test', [{ tag: 'Issue', value: 'other-ca.example' }]);
      assertProblem(await caa('upper-other.caa.test'), 'caa', 'Issue "other-ca.example"');
      await dns.addCAA('upper-wild.caa.test', [issue(US), { tag: 'IssueWild', value: 'other-ca.example' }]);
      assertProblem(await caa('upper-wild.caa.test', { wildcard: true }), 'caa', 'IssueWild "other-ca.example"');
    });
  });

  describe('RFC 8657 parameters', () => {
    test('accounturi equal to the requesting account allows; another account is forbidden', async () => {
      await dns.addCAA('acct.caa.test', [issue(`${US}; accounturi=${ACCOUNT}`)]);
      assertAllowed(await caa('acct.caa.test'));
      assertProblem(await caa('acct.caa.test', { accountUri: 'https://ca.example/acme/acct/999' }), 'caa',
        `is limited to the account ${ACCOUNT}, not https://ca.example/acme/acct/999`);
    });

    test('two accounturi parameters are unsatisfiable', async () => {
      await dns.addCAA('acct2.caa.test', [issue(`${US}; accounturi=${ACCOUNT}; accounturi=${ACCOUNT}`)]);
      assertProblem(await caa('acct2.caa.test'), 'caa', 'more than one accounturi');
    });

    test('validationmethods including the method allows; excluding it forbids', async () => {
      await dns.addCAA('methods.caa.test', [issue(`${US}; validationmethods=dns-01,tls-alpn-01`)]);
      assertAllowed(await caa('methods.caa.test', { validationMethod: 'dns-01' }));
      assertAllowed(await caa('methods.caa.test', { validationMethod: 'tls-alpn-01' }));
      assertProblem(await caa('methods.caa.test', { validationMethod: 'http-01' }), 'caa',
        'is limited to the validation methods dns-01,tls-alpn-01, not http-01');
    });

    test('both parameters together must both hold; unknown parameters are ignored', async () => {
      await dns.addCAA('both.caa.test', [issue(`${US}; foo=bar; validationmethods=dns-01; accounturi=${ACCOUNT}`)]);
      assertAllowed(await caa('both.caa.test', { validationMethod: 'dns-01' }));
      assertProblem(await caa('both.caa.test', { validationMethod: 'http-01' }), 'caa', 'validation methods');
      assertProblem(await caa('both.caa.test', { validationMethod: 'dns-01', accountUri: `${ACCOUNT}0` }), 'caa', 'limited to the account');
    });
  });

  test('a CNAME whose target forbids: the alias carries the target\'s CAA', async () => {
    await dns.addCAA('target.elsewhere.test', [issue('other-ca.example')]);
    await dns.setCNAME('alias.caa.test', 'target.elsewhere.test');
    assertProblem(await caa('alias.caa.test'), 'caa', 'CAA record for alias.caa.test prevents issuance', 'other-ca.example');
    // And the same alias allows once the target names this CA.
    await dns.setCNAME('alias2.caa.test', 'target2.elsewhere.test');
    await dns.addCAA('target2.elsewhere.test', [issue(US)]);
    assertAllowed(await caa('alias2.caa.test'));
  });

  describe('lookup failures are failures, never permission', () => {
    test('SERVFAIL at the name itself', async () => {
      await dns.setServfail('sf.caa.test');
      assertProblem(await caa('sf.caa.test'), 'dns', 'While processing CAA for sf.caa.test', 'SERVFAIL looking up CAA for sf.caa.test', dns.dnsServer);
    });

    test('SERVFAIL at a parent when the child has no CAA', async () => {
      await dns.setServfail('sfparent.caa.test');
      assertProblem(await caa('www.sfparent.caa.test'), 'dns', 'SERVFAIL looking up CAA for sfparent.caa.test', dns.dnsServer);
    });

    test('SERVFAIL above the relevant RRset does not matter', async () => {
      await dns.setServfail('sfabove.caa.test');
      await dns.addCAA('www.sfabove.caa.test', [issue(US)]);
      assertAllowed(await caa('www.sfabove.caa.test'));
    });

    test('an unresponsive DNS server is a dns timeout', async () => {
      const blackhole: UdpSocket = createSocket('udp4');
      await new Promise<void>((r) => blackhole.bind(0, '127.0.0.1', () => r()));
      closers.push(() => new Promise<void>((r) => blackhole.close(() => r())));
      const server = `127.0.0.1:${blackhole.address().port}`;
      assertProblem(await caa('quiet.caa.test', {}, vaFor(server, [US], 1, 600)), 'dns', 'timed out looking up CAA', server);
    });

    test('an unreachable DNS server is a dns problem', async () => {
      const server = `127.0.0.1:${await freePort()}`;
      assertProblem(await caa('nobody.caa.test', {}, vaFor(server, [US], 1, 1500)), 'dns', server);
    });
  });

  test('with no CAA identities configured, only an RRset without issue records permits', async () => {
    const anonymous = vaFor(dns.dnsServer, []);
    assertAllowed(await caa('nocaa2.caa.test', {}, anonymous));
    assertAllowed(await caa('iodef.caa.test', {}, anonymous));
    assertProblem(await caa('ours.caa.test', {}, anonymous), 'caa', 'no CAA identities configured');
  });

  test('a name that is not a DNS name is malformed, not looked up', async () => {
    assertProblem(await caa('*.wild.caa.test'), 'malformed');
  });

  test('the constructor refuses a CAA identity that is not an issuer domain name', () => {
    assert.throws(() => new ValidationAuthority({ httpPort: 80, tlsPort: 443, caaIdentities: ['ca.example; x=y'] }), /caaIdentities/);
  });
});

describe('validate() also checks CAA for the challenge', () => {
  async function responder(): Promise<number> {
    const server = http.createServer((req, res) => res.end(req.url === `/.well-known/acme-challenge/${TOKEN}` ? KEY_AUTH : ''));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    closers.push(() => new Promise((r) => server.close(r)));
    return (server.address() as AddressInfo).port;
  }
  const request = (type: ChallengeType, domain: string) => ({ type, domain, token: TOKEN, keyAuthorization: KEY_AUTH, wildcard: false, accountUri: ACCOUNT });

  test('a correct http-01 response with CAA naming this CA validates', async () => {
    await dns.addCAA('v-http-ok.caa.test', [issue(US)]);
    const result = await vaFor(dns.dnsServer, [US], await responder()).validate(request('http-01', 'v-http-ok.caa.test'));
    assertAllowed(result);
  });

  test('a correct http-01 response still fails with caa when CAA forbids', async () => {
    await dns.addCAA('v-http.caa.test', [issue('other-ca.example')]);
    const result = await vaFor(dns.dnsServer, [US], await responder()).validate(request('http-01', 'v-http.caa.test'));
    assertProblem(result, 'caa', 'CAA record for v-http.caa.test prevents issuance');
    assert.ok(result.records.length > 0, 'the challenge records are kept');
  });

  test('a correct dns-01 TXT record still fails with caa when CAA forbids', async () => {
    await dns.setTxt('_acme-challenge.v-dns.caa.test', dns01Digest(KEY_AUTH));
    await dns.addCAA('v-dns.caa.test', [issue(';')]);
    assertProblem(await vaFor(dns.dnsServer, [US]).validate(request('dns-01', 'v-dns.caa.test')), 'caa', 'allows no CA to issue');
  });

  test('the challenge type is the method matched against validationmethods', async () => {
    await dns.addCAA('v-method.caa.test', [issue(`${US}; validationmethods=dns-01`)]);
    const port = await responder();
    assertProblem(await vaFor(dns.dnsServer, [US], port).validate(request('http-01', 'v-method.caa.test')), 'caa', 'not http-01');
    await dns.setTxt('_acme-challenge.v-method.caa.test', dns01Digest(KEY_AUTH));
    assertAllowed(await vaFor(dns.dnsServer, [US]).validate(request('dns-01', 'v-method.caa.test')));
  });

  test('a SERVFAIL on CAA fails a correct challenge with dns', async () => {
    await dns.setServfail('v-sf.caa.test');
    const result = await vaFor(dns.dnsServer, [US], await responder()).validate(request('http-01', 'www.v-sf.caa.test'));
    assertProblem(result, 'dns', 'While processing CAA for www.v-sf.caa.test', 'SERVFAIL looking up CAA for v-sf.caa.test');
  });
});

// The conversion and policy alone, on records in the shape c-ares reports them; the same cases over real DNS follow.
describe('critical flag', () => {
  const policy: CaaPolicy = { identities: [US], wildcard: false, accountUri: ACCOUNT, validationMethod: 'http-01' };

  test('c-ares records convert with their flags, tag and value', () => {
    assert.deepEqual(fromCares({ critical: 128, tbs: 'x' } as never), { flags: 128, tag: 'tbs', value: 'x' });
    assert.deepEqual(fromCares({ critical: 0, issue: US }), { flags: 0, tag: 'issue', value: US });
  });

  test('an unknown tag with the critical flag forbids, even beside an issue record for this CA', () => {
    const decision = evaluateCaa([fromCares({ critical: 128, tbs: 'x' } as never), fromCares({ critical: 0, issue: US })], policy);
    assert.deepEqual(decision, { ok: false, reason: 'the record 128 tbs "x" has an unknown property marked critical' });
  });

  test('the same unknown tag without the flag is ignored', () => {
    assert.deepEqual(evaluateCaa([fromCares({ critical: 0, tbs: 'x' } as never), fromCares({ critical: 0, issue: US })], policy), { ok: true });
  });

  test('a known tag with the critical flag is processed normally, whatever its case', () => {
    assert.deepEqual(evaluateCaa([fromCares({ critical: 128, ISSUE: US } as never)], policy), { ok: true });
    assert.deepEqual(evaluateCaa([fromCares({ critical: 128, iodef: 'mailto:a@b.example' })], policy), { ok: true });
  });

  test('a tag literally named "critical" (its flags hidden by c-ares) is taken as critical', () => {
    const record = fromCares({ critical: 'y' } as never);
    assert.deepEqual(record, { flags: 128, tag: 'critical', value: 'y' });
    assert.equal(evaluateCaa([record, fromCares({ critical: 0, issue: US })], policy).ok, false);
  });
});

const SKIP_UNBOUND = unboundSkip();

// challtestsrv serves every CAA record with flags 0, so the critical flag comes from Unbound's local data.
describe('critical flag served by Unbound', { skip: SKIP_UNBOUND }, () => {
  let unbound: Unbound;
  let va: ValidationAuthority;
  before(async () => {
    unbound = await startUnbound({
      records: [
        'crit.flags.example. 3600 IN CAA 128 tbs "x"',
        `crit.flags.example. 3600 IN CAA 0 issue "${US}"`,
        'plain.flags.example. 3600 IN CAA 0 tbs "x"',
        `plain.flags.example. 3600 IN CAA 0 issue "${US}"`,
        'plainalone.flags.example. 3600 IN CAA 0 tbs "x"',
        `critissue.flags.example. 3600 IN CAA 128 issue "${US}"`,
        'critissue-other.flags.example. 3600 IN CAA 128 issue "other-ca.example"',
        'critiodef.flags.example. 3600 IN CAA 128 iodef "mailto:security@flags.example"',
        'critparent.flags.example. 3600 IN CAA 128 tbs "x"',
        'tagcritical.flags.example. 3600 IN CAA 0 critical "y"',
        `tagcritical.flags.example. 3600 IN CAA 0 issue "${US}"`,
        'v-crit.flags.example. 3600 IN CAA 128 tbs "x"',
        `v-crit.flags.example. 3600 IN CAA 0 issue "${US}"`,
        'v-crit.flags.example. 3600 IN A 127.0.0.1',
      ],
    });
    closers.push(() => unbound.close());
    va = vaFor(unbound.dnsServer, [US]);
  });

  test('an unknown tag with the critical flag forbids, even beside an issue record for this CA', async () => {
    assertProblem(await caa('crit.flags.example', {}, va), 'caa', 'CAA record for crit.flags.example prevents issuance', '128 tbs "x"', 'unknown property marked critical');
  });

  test('the same unknown tag without the flag is ignored', async () => {
    assertAllowed(await caa('plain.flags.example', {}, va));
    assertAllowed(await caa('plainalone.flags.example', {}, va));
  });

  test('issue with the critical flag is a known tag, so it is still honoured both ways', async () => {
    assertAllowed(await caa('critissue.flags.example', {}, va));
    assertProblem(await caa('critissue-other.flags.example', {}, va), 'caa', '128 issue "other-ca.example"', 'names other-ca.example, not this CA');
    assertAllowed(await caa('critiodef.flags.example', {}, va));
  });

  test('a critical unknown tag at the parent governs a child without CAA', async () => {
    assertProblem(await caa('www.critparent.flags.example', {}, va), 'caa', 'CAA record for critparent.flags.example prevents issuance', 'marked critical');
  });

  test('a tag literally named "critical" (its flags hidden by c-ares) is taken as critical', async () => {
    assertProblem(await caa('tagcritical.flags.example', {}, va), 'caa', 'critical "y"');
  });

  test('validate(): a correct http-01 response still fails with caa on a critical unknown tag', async () => {
    const server = http.createServer((req, res) => res.end(req.url === `/.well-known/acme-challenge/${TOKEN}` ? KEY_AUTH : ''));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    closers.push(() => new Promise((r) => server.close(r)));
    const port = (server.address() as AddressInfo).port;
    const result = await vaFor(unbound.dnsServer, [US], port).validate({ type: 'http-01', domain: 'v-crit.flags.example', token: TOKEN, keyAuthorization: KEY_AUTH, wildcard: false, accountUri: ACCOUNT });
    assertProblem(result, 'caa', 'marked critical');
    assert.equal(result.records[0]?.addressUsed, '127.0.0.1', 'the challenge itself was fetched and passed');
  });
});

// A validating Unbound forwards to an authoritative one that serves bogus.dnssec.example unsigned, while holding a
// trust anchor (a DS) for that zone: the chain of trust cannot be built, so every answer in the zone is bogus and the
// resolver returns SERVFAIL. insecure.dnssec.example has no anchor and resolves normally through the same resolver.
describe('DNSSEC-bogus CAA answers from a validating Unbound', { skip: SKIP_UNBOUND }, () => {
  let upstream: Unbound;
  let validator: Unbound;
  const records = [
    `ok.bogus.dnssec.example. 3600 IN CAA 0 issue "${US}"`,
    'nocaa.bogus.dnssec.example. 3600 IN A 127.0.0.1',
    `ok.insecure.dnssec.example. 3600 IN CAA 0 issue "${US}"`,
    'other.insecure.dnssec.example. 3600 IN CAA 0 issue "other-ca.example"',
  ];
  before(async () => {
    upstream = await startUnbound({ records });
    closers.push(() => upstream.close());
    validator = await startUnbound({
      forwardTo: upstream.dnsServer,
      trustAnchors: [`bogus.dnssec.example. DS 12345 13 2 ${'ab'.repeat(32)}`],
    });
    closers.push(() => validator.close());
  });

  test('a bogus answer that would permit issuance is a dns failure, never permission', async () => {
    // The same record straight from the authoritative side permits: only DNSSEC makes the difference.
    assertAllowed(await caa('ok.bogus.dnssec.example', {}, vaFor(upstream.dnsServer, [US])));
    const result = await caa('ok.bogus.dnssec.example', {}, vaFor(validator.dnsServer, [US]));
    assertProblem(result, 'dns', 'While processing CAA for ok.bogus.dnssec.example', 'SERVFAIL looking up CAA for ok.bogus.dnssec.example', validator.dnsServer);
    assert.match(validator.log(), /validation failure <ok\.bogus\.dnssec\.example\. CAA IN>/);
  });

  test('a bogus zone without any CAA record is a dns failure too, not "no CAA"', async () => {
    assertProblem(await caa('www.nocaa.bogus.dnssec.example', {}, vaFor(validator.dnsServer, [US])), 'dns', 'SERVFAIL');
  });

  test('through the same resolver, a zone without a trust anchor resolves and is decided normally', async () => {
    const va = vaFor(validator.dnsServer, [US]);
    assertAllowed(await caa('ok.insecure.dnssec.example', {}, va));
    assertProblem(await caa('other.insecure.dnssec.example', {}, va), 'caa', 'names other-ca.example');
  });
});
