// dehydrated (Debian 0.7), unmodified, against cobble: register, http-01 (token files in its WELLKNOWN directory,
// served on the VA's http port), dns-01 through its hook (including a wildcard), --preferred-chain choosing the
// alternate chain (it reads the rel="alternate" links one Link header line at a time), and --revoke, after which the
// CRL at the leaf's distribution point lists the certificate.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { fetchHttp, splitPemChain } from '../support/acme.js';
import { opensslVerifyStrict } from '../support/openssl.js';
import { assertIssued, describeRun, run, startClientEnv, uniqueName, writeDnsHook, type ClientEnv } from './common.js';

let env: ClientEnv;
let config: string;
let hook: string;
let wellKnown: string;
let responder: http.Server;
// curl (dehydrated's HTTP stack) trusts this bundle for the ACME server's own HTTPS.
let dehydratedEnv: Record<string, string>;

before(async () => {
  env = await startClientEnv();
  const base = join(env.dir, 'dehydrated');
  wellKnown = join(env.dir, 'well-known');
  await mkdir(base);
  await mkdir(wellKnown);
  config = join(base, 'config');
  // KEYSIZE 2048: the RSA account key (dehydrated signs with RS256) is generated faster; leaves are P-384.
  await writeFile(config, [
    `CA="${env.ca.directoryUrl}"`,
    `BASEDIR="${base}"`,
    `WELLKNOWN="${wellKnown}"`,
    'CONTACT_EMAIL="dehydrated-test@example.com"',
    'KEYSIZE=2048',
    'KEY_ALGO=secp384r1',
    '',
  ].join('\n'));
  hook = await writeDnsHook(env.dir, env.dns, 'dehydrated');
  dehydratedEnv = { CURL_CA_BUNDLE: env.ca.trustBundlePath };
  // The web server a subscriber points at dehydrated's WELLKNOWN directory, on the port the VA was told to use.
  responder = http.createServer((req, res) => {
    const token = /^\/\.well-known\/acme-challenge\/([A-Za-z0-9_-]+)$/.exec(req.url ?? '')?.[1];
    if (!token) return void res.writeHead(404).end();
    readFile(join(wellKnown, token)).then((body) => res.end(body), () => res.writeHead(404).end());
  });
  await new Promise<void>((resolve) => responder.listen(env.httpPort, '127.0.0.1', resolve));
  assert.equal((responder.address() as AddressInfo).port, env.httpPort);

  const registered = await dehydrated(['--register', '--accept-terms']);
  if (registered.code !== 0) throw new Error(describeRun('dehydrated --register', registered));
});
after(async () => {
  responder?.closeAllConnections();
  await new Promise((resolve) => responder?.close(resolve));
  await env?.close();
});

const dehydrated = (args: string[]) => run('dehydrated', ['--config', config, ...args], dehydratedEnv, 90_000);
const certFile = (domain: string, file: string) => readFile(join(env.dir, 'dehydrated', 'certs', domain, file), 'utf8');
/** The issuer of the last certificate in a chain file: the root the chain leads to. */
const lastIssuer = (chainPem: string) => new X509Certificate(splitPemChain(chainPem).at(-1)!).issuer;

async function issue(names: string[], extra: string[]): Promise<{ output: string; fullchain: string; chain: string }> {
  const result = await dehydrated(['--cron', ...names.flatMap((n) => ['--domain', n]), ...extra]);
  assert.equal(result.code, 0, describeRun(`dehydrated --cron ${extra.join(' ')}`, result));
  return { output: result.output, fullchain: await certFile(names[0]!, 'fullchain.pem'), chain: await certFile(names[0]!, 'chain.pem') };
}

let httpName: string;

test('dehydrated: http-01 through its WELLKNOWN directory; the default chain leads to the ECDSA root', async () => {
  httpName = uniqueName('dehydrated-http');
  const issued = await issue([httpName], ['--challenge', 'http-01']);
  assertIssued(issued.fullchain, env.ca, [httpName]);
  assert.match(lastIssuer(issued.chain), /CN=cobble Dev ECDSA Root E1/);
});

test('dehydrated: dns-01 through its hook, for a name and its wildcard', async () => {
  const name = uniqueName('dehydrated-dns');
  const issued = await issue([name, `*.${name}`], ['--challenge', 'dns-01', '--hook', hook]);
  assertIssued(issued.fullchain, env.ca, [name, `*.${name}`]);
});

test('dehydrated: --preferred-chain follows rel="alternate" to the chain through the cross-signed intermediate', async () => {
  const name = uniqueName('dehydrated-chain');
  const issued = await issue([name], ['--challenge', 'http-01', '--preferred-chain', 'cobble Dev RSA Root R1']);
  assert.match(issued.output, /Using preferred chain with CN = cobble Dev RSA Root R1/);
  assert.match(lastIssuer(issued.chain), /CN=cobble Dev RSA Root R1/);
  const toRsaRoot = opensslVerifyStrict(issued.fullchain, env.ca.rootsPem.rsa);
  assert.ok(toRsaRoot.ok, `the alternate chain verifies to the RSA root:\n${toRsaRoot.output}`);
  assert.equal(opensslVerifyStrict(issued.fullchain, env.ca.rootsPem.ecdsa).ok, false, 'and not to the ECDSA root');
});

test('dehydrated: --revoke; the CRL at the leaf\'s distribution point then lists the certificate', async () => {
  const fullchain = await certFile(httpName, 'fullchain.pem');
  const leaf = new x509.X509Certificate(splitPemChain(fullchain)[0]!);
  const crlUrl = leaf.getExtension(x509.CRLDistributionPointsExtension)!.distributionPoints[0]!.distributionPoint!.fullName![0]!.uniformResourceIdentifier!;
  const crl = async () => {
    const fetched = await fetchHttp(crlUrl);
    assert.equal(fetched.status, 200);
    return fetched.body;
  };
  const before = opensslVerifyStrict(fullchain, env.ca.rootsPem.ecdsa, await crl());
  assert.ok(before.ok, `before revocation the CRL does not list it:\n${before.output}`);

  const revoked = await dehydrated(['--revoke', join(env.dir, 'dehydrated', 'certs', httpName, 'cert.pem')]);
  assert.equal(revoked.code, 0, describeRun('dehydrated --revoke', revoked));
  assert.match(revoked.output, /Renaming certificate to .*-revoked/);

  const afterRevocation = opensslVerifyStrict(fullchain, env.ca.rootsPem.ecdsa, await crl());
  assert.equal(afterRevocation.ok, false);
  assert.match(afterRevocation.output, /certificate revoked/);
});
