// PKCS#10 requests signed by a Signer: the `cross-csr` ceremony asks another CA to cross-sign our key.
import 'reflect-metadata';
import * as csr from '@peculiar/asn1-csr';
import { bytesEqual, toArrayBuffer } from './bytes.js';
import { verifySignature, type Signer } from './signer.js';
import { AsnConvert, asn1, assembleSigned, parseName, splitSigned } from './x509.js';

export async function createCertificateRequest(subject: Uint8Array, signer: Signer): Promise<Uint8Array> {
  const info = new csr.CertificationRequestInfo({
    version: 0,
    subject: parseName(subject),
    subjectPKInfo: AsnConvert.parse(toArrayBuffer(signer.publicKey), asn1.SubjectPublicKeyInfo),
    attributes: new csr.Attributes(),
  });
  const tbs = new Uint8Array(AsnConvert.serialize(info));
  const signature = await signer.sign(tbs);
  if (!verifySignature(signer.publicKey, signer.signatureAlgorithm, tbs, signature)) {
    throw new Error(`the CSR signature from ${signer.description} does not verify`);
  }
  const der = assembleSigned(tbs, signer.signatureAlgorithm, signature);
  if (!bytesEqual(splitSigned(der).tbs, tbs)) throw new Error('CSR encoding is not stable');
  return der;
}
