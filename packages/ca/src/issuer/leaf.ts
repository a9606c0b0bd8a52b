// Subscriber certificates on the hot path. Why not a schema library here: encoding a leaf TBS through an ASN.1
// schema costs several milliseconds (measured ~8 ms against ~1 ms for the P-384 signature itself). The BR
// subscriber profile is fixed, so the constant parts (issuer name, algorithm, the seven fixed extensions) are
// encoded once per issuer by @peculiar/x509, and only serial, validity, subject, key and SAN are written per leaf.

import { SIGNATURE_ALGORITHMS, certificateParts, type Signer } from '@cobble/pki';
import * as x509 from '@peculiar/x509';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const DOMAIN_VALIDATED = '2.23.140.1.2.1';
const VERSION_3 = Buffer.from('a003020102', 'hex');
const OID_SAN = Buffer.from('0603551d11', 'hex');
const OID_COMMON_NAME = Buffer.from('0603550403', 'hex');
const BOOLEAN_TRUE = Buffer.from('0101ff', 'hex');

export function tlv(tag: number, ...parts: Uint8Array[]): Buffer {
  const value = Buffer.concat(parts);
  const n = value.length;
  const header = n < 0x80 ? [tag, n] : n < 0x100 ? [tag, 0x81, n] : n < 0x10000 ? [tag, 0x82, n >> 8, n & 0xff] : [tag, 0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return Buffer.concat([Buffer.from(header), value]);
}

/** UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5). */
function time(date: Date): Buffer {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '') + 'Z';
  const year = date.getUTCFullYear();
  return year >= 1950 && year < 2050 ? tlv(0x17, Buffer.from(digits.slice(2), 'latin1')) : tlv(0x18, Buffer.from(digits, 'latin1'));
}

export interface LeafIssuer {
  /** Signs a leaf and returns its DER. */
  issue(request: { serial: Buffer; names: string[]; commonName?: string; spkiDer: Uint8Array; keyIsRsa: boolean; notBefore: Date; notAfter: Date }): Promise<Buffer>;
}

/** Precomputes everything constant for one issuing intermediate and the given AIA/CRL URLs. */
export function leafIssuer(params: {
  intermediateDer: Uint8Array;
  /** SubjectKeyIdentifier of the intermediate, hex. */
  intermediateKeyId: string;
  signer: Signer;
  aiaIssuerUrl: string;
  crlUrl: string;
}): LeafIssuer {
  const algorithm = SIGNATURE_ALGORITHMS[params.signer.signatureAlgorithm];
  const algorithmIdentifier = Buffer.from(algorithm.algorithmIdentifierHex, 'hex');
  const issuerName = Buffer.from(certificateParts(params.intermediateDer).subject);
  const der = (extension: x509.Extension) => Buffer.from(extension.rawData);
  const keyUsage = (rsa: boolean) =>
    der(new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | (rsa ? x509.KeyUsageFlags.keyEncipherment : 0), true));
  const before = der(new x509.BasicConstraintsExtension(false, undefined, true));
  const keyUsageEc = keyUsage(false);
  const keyUsageRsa = keyUsage(true);
  const after = Buffer.concat([
    der(new x509.ExtendedKeyUsageExtension([SERVER_AUTH])),
    der(new x509.AuthorityKeyIdentifierExtension(params.intermediateKeyId)),
    der(new x509.AuthorityInfoAccessExtension({ caIssuers: [new x509.GeneralName('url', params.aiaIssuerUrl)] })),
    der(new x509.CertificatePolicyExtension([DOMAIN_VALIDATED])),
    der(new x509.CRLDistributionPointsExtension([params.crlUrl])),
  ]);
  return {
    async issue(request) {
      // RFC 5280 §4.2.1.6: with an empty subject the SAN carries the identity and must be critical.
      const san = tlv(
        0x30,
        OID_SAN,
        request.commonName === undefined ? BOOLEAN_TRUE : Buffer.alloc(0),
        tlv(0x04, tlv(0x30, ...request.names.map((name) => tlv(0x82, Buffer.from(name, 'latin1'))))),
      );
      const subject =
        request.commonName === undefined
          ? tlv(0x30)
          : tlv(0x30, tlv(0x31, tlv(0x30, OID_COMMON_NAME, tlv(0x0c, Buffer.from(request.commonName, 'utf8')))));
      const tbs = tlv(
        0x30,
        VERSION_3,
        tlv(0x02, request.serial),
        algorithmIdentifier,
        issuerName,
        tlv(0x30, time(request.notBefore), time(request.notAfter)),
        subject,
        request.spkiDer,
        tlv(0xa3, tlv(0x30, before, request.keyIsRsa ? keyUsageRsa : keyUsageEc, after, san)),
      );
      const signature = await params.signer.sign(tbs);
      return tlv(0x30, tbs, algorithmIdentifier, tlv(0x03, Buffer.from([0]), signature));
    },
  };
}
