// Issue 10's acceptance: certbot (unmodified) revokes with a reason — keyCompromise signed with the certificate key,
// superseded with the account key; the CRL shard named in each leaf (`openssl crl`) lists it with the reason, the OCSP
// responder named in the leaf (`openssl ocsp`) says revoked, and a CSR with the compromised key is then refused.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { fetchHttp, splitPemChain } from './support/acme.js';
import { assertIssued, certbotRunner, describeRun, run, startClientEnv, uniqueName, type ClientEnv, type RunResult } from './clients/common.js';

let env: ClientEnv;
let certbot: (args: string[]) => Promise<RunResult>;

before(async () => {
  env = await startClientEnv({ crl: { shards: 4, revocationDelayMs: 100 }, ocsp: { enabled: true } });
  certbot = certbotRunner(env.ca, env.dir);
});
after(() => env?.close());
// Not spawnSync: `openssl ocsp` asks the responder in this very process, whose event loop must keep running.
const openssl = (args: string[]) => run('openssl', args, {}, 20_000);

function uri(leaf: x509.X509Certificate, kind: 'crl' | 'ocsp'): string {
  if (kind === 'crl') return leaf.getExtension(x509.CRLDistributionPointsExtension)!.distributionPoints[0]!.distributionPoint!.fullName![0]!.uniformResourceIdentifier!;
  const aia = leaf.getExtension(x509.AuthorityInfoAccessExtension)!;
  return aia.ocsp[0]!.value;
}

async function issue(certName: string): Promise<{ dir: string; leaf: x509.X509Certificate; chainPem: string }> {
  const name = uniqueName(`certbot-${certName}`);
  const issued = await certbot([
    'certonly', '--standalone', '--http-01-address', '127.0.0.1', '--http-01-port', String(env.httpPort), '--cert-name', certName, '-d', name,
  ]);
  assert.equal(issued.code, 0, describeRun('certbot certonly', issued));
  const dir = join(env.dir, 'config', 'live', certName);
  const chainPem = await readFile(join(dir, 'fullchain.pem'), 'utf8');
  assertIssued(chainPem, env.ca, [name]);
  return { dir, leaf: new x509.X509Certificate(splitPemChain(chainPem)[0]!), chainPem };
}

/** `openssl crl -text` of the shard at the leaf's distribution point, and the shard's IDP URL. */
async function crlText(leaf: x509.X509Certificate, file: string): Promise<string> {
  const fetched = await fetchHttp(uri(leaf, 'crl'));
  assert.equal(fetched.status, 200);
  await writeFile(file, fetched.body);
  const shown = await openssl(['crl', '-inform', 'DER', '-in', file, '-noout', '-text']);
  assert.equal(shown.code, 0, shown.output);
  return shown.output;
}

test('certbot revokes (keyCompromise with the certificate key, superseded with the account); CRL shard, OCSP and the blocked key agree', async () => {
  const registered = await certbot(['register', '--agree-tos', '--email', 'revocation@example.com']);
  assert.equal(registered.code, 0, describeRun('certbot register', registered));
  const compromised = await issue('compromised');
  const replaced = await issue('replaced');
  for (const { leaf } of [compromised, replaced]) {
    assert.match(uri(leaf, 'crl'), /^http:\/\/127\.0\.0\.1:\d+\/crl\/ecdsa\/[0-3]\.crl$/, 'the leaf names one of the 4 shards');
    assert.match(uri(leaf, 'ocsp'), /^http:\/\/127\.0\.0\.1:\d+\/ocsp$/, 'with OCSP enabled the leaf names the responder');
  }

  const byKey = await certbot([
    'revoke', '--cert-path', join(compromised.dir, 'cert.pem'), '--key-path', join(compromised.dir, 'privkey.pem'),
    '--reason', 'keycompromise', '--no-delete-after-revoke',
  ]);
  assert.equal(byKey.code, 0, describeRun('certbot revoke --key-path --reason keycompromise', byKey));
  const byAccount = await certbot(['revoke', '--cert-path', join(replaced.dir, 'cert.pem'), '--reason', 'superseded', '--no-delete-after-revoke']);
  assert.equal(byAccount.code, 0, describeRun('certbot revoke --reason superseded', byAccount));

  const rootFile = join(env.dir, 'root.pem');
  await writeFile(rootFile, env.ca.rootsPem.ecdsa!);
  for (const [{ dir, leaf }, reason, ocspReason] of [[compromised, 'Key Compromise', 'keyCompromise'], [replaced, 'Superseded', 'superseded']] as const) {
    // openssl prints the serial in upper-case hex; the shard's IDP is the leaf's distribution point, byte for byte.
    const text = await crlText(leaf, join(dir, 'shard.crl'));
    const entry = text.slice(text.indexOf(`Serial Number: ${leaf.serialNumber.toUpperCase()}`));
    assert.ok(text.includes(`Serial Number: ${leaf.serialNumber.toUpperCase()}`), `the shard lists ${leaf.serialNumber}:\n${text}`);
    assert.match(entry.split('Serial Number:')[1]!, new RegExp(`CRL Reason Code:\\s*\\n\\s*${reason}`));
    assert.match(text, /Issuing Distribution Point: critical/);
    assert.ok(text.includes(`URI:${uri(leaf, 'crl')}`), 'the IDP names the leaf\'s distribution point');
    assert.match(text, /Only User Certificates/);

    const ocsp = await openssl([
      'ocsp', '-issuer', join(dir, 'chain.pem'), '-cert', join(dir, 'cert.pem'), '-url', uri(leaf, 'ocsp'),
      '-CAfile', rootFile, '-verify_other', join(dir, 'chain.pem'), '-no_nonce',
    ]);
    assert.equal(ocsp.code, 0, ocsp.output);
    assert.match(ocsp.output, /Response verify OK/);
    assert.match(ocsp.output, /cert\.pem: revoked/);
    assert.match(ocsp.output, new RegExp(`Reason: ${ocspReason}`));
  }

  // The compromised key is blocked: a CSR with it is refused (badPublicKey), whatever account sends it.
  const name = uniqueName('certbot-blocked');
  const csrFile = join(env.dir, 'blocked.csr');
  const csr = await openssl(['req', '-new', '-key', join(compromised.dir, 'privkey.pem'), '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`, '-outform', 'DER', '-out', csrFile]);
  assert.equal(csr.code, 0, csr.output);
  const refused = await certbot([
    'certonly', '--standalone', '--http-01-address', '127.0.0.1', '--http-01-port', String(env.httpPort), '--csr', csrFile,
    '--cert-path', join(env.dir, 'blocked-cert.pem'), '--fullchain-path', join(env.dir, 'blocked-fullchain.pem'), '--chain-path', join(env.dir, 'blocked-chain.pem'),
  ]);
  assert.notEqual(refused.code, 0, describeRun('certbot certonly --csr with the compromised key', refused));
  const log = await readFile(join(env.dir, 'logs', 'letsencrypt.log'), 'utf8');
  assert.match(log.slice(log.lastIndexOf('/finalize')), /urn:ietf:params:acme:error:badPublicKey/);
});
