// OCSP (RFC 6960) on @peculiar/asn1-ocsp's schemas: reading requests, and signing BasicOCSPResponses with a delegated
// responder's key. What a certificate's status is stays the caller's business; this file only encodes and decodes.
import { createHash } from 'node:crypto';
import * as ocsp from '@peculiar/asn1-ocsp';
import { derSequenceItems, toArrayBuffer } from './bytes.js';
import { CRL_REASONS, type CrlReasonName } from './crl.js';
import type { Signer } from './signer.js';
import { AsnConvert, OctetString, algorithmIdentifier, asn1, certificateParts } from './x509.js';

/** Hash algorithms a CertID may use: SHA-1 is what most clients (OpenSSL by default) still send. */
const CERT_ID_HASHES: Record<string, 'sha1' | 'sha256' | 'sha384' | 'sha512'> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

export type OcspErrorStatus = 'malformedRequest' | 'internalError' | 'tryLater' | 'sigRequired' | 'unauthorized';

/** One certificate asked about: the CertID as sent (echoed in the answer) and its parts. */
export interface OcspCertQuery {
  certId: ocsp.CertID;
  hash: 'sha1' | 'sha256' | 'sha384' | 'sha512';
  issuerNameHash: Buffer;
  issuerKeyHash: Buffer;
  /** Lower-case hex of the serial's INTEGER content octets (the form the CA stores). */
  serial: string;
}

export class OcspRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OcspRequestError';
  }
}

/** Decodes an OCSPRequest; throws OcspRequestError (→ malformedRequest) on anything unreadable. */
export function parseOcspRequest(der: Uint8Array): OcspCertQuery[] {
  let request: ocsp.OCSPRequest;
  try {
    request = AsnConvert.parse(toArrayBuffer(der), ocsp.OCSPRequest);
  } catch (err) {
    throw new OcspRequestError(`not a DER OCSPRequest: ${(err as Error).message}`);
  }
  const list = request.tbsRequest.requestList;
  if (list.length === 0) throw new OcspRequestError('the OCSPRequest asks about no certificate');
  return list.map(({ reqCert }) => {
    const hash = CERT_ID_HASHES[reqCert.hashAlgorithm.algorithm];
    if (!hash) throw new OcspRequestError(`unsupported CertID hash algorithm ${reqCert.hashAlgorithm.algorithm}`);
    return {
      certId: reqCert,
      hash,
      issuerNameHash: Buffer.from(reqCert.issuerNameHash.buffer),
      issuerKeyHash: Buffer.from(reqCert.issuerKeyHash.buffer),
      serial: Buffer.from(reqCert.serialNumber).toString('hex'),
    };
  });
}

/** RFC 6960 §4.1.1: the hash of the issuer's DER subject and of its subjectPublicKey BIT STRING value (no unused-bits octet). */
export function issuerHashes(issuerCertificate: Uint8Array, hash: OcspCertQuery['hash']): { nameHash: Buffer; keyHash: Buffer } {
  const parts = certificateParts(issuerCertificate);
  return { nameHash: createHash(hash).update(parts.subject).digest(), keyHash: createHash(hash).update(subjectPublicKeyBits(parts.spki)).digest() };
}

function subjectPublicKeyBits(spki: Uint8Array): Uint8Array {
  const bitString = derSequenceItems(spki)[1];
  if (!bitString || bitString.tag !== 0x03) throw new Error('the SubjectPublicKeyInfo has no subjectPublicKey BIT STRING');
  return bitString.value.subarray(1);
}

export type OcspCertStatus =
  | { status: 'good' }
  | { status: 'revoked'; revokedAt: Date; reason?: CrlReasonName }
  | { status: 'unknown' };

export interface OcspSingleAnswer {
  certId: ocsp.CertID;
  status: OcspCertStatus;
  thisUpdate: Date;
  nextUpdate: Date;
}

const wholeSeconds = (date: Date) => new Date(Math.floor(date.getTime() / 1000) * 1000);

/**
 * A successful OCSPResponse: BasicOCSPResponse signed by `signer` (the delegated responder's key), naming the responder
 * by key hash and carrying its certificate so that clients can check the delegation (RFC 6960 §4.2.2.2).
 */
export async function signOcspResponse(params: {
  signer: Signer;
  responderCertificate: Uint8Array;
  producedAt: Date;
  answers: OcspSingleAnswer[];
}): Promise<Uint8Array> {
  const { signer, responderCertificate } = params;
  const data = new ocsp.ResponseData({
    responderID: new ocsp.ResponderID({ byKey: new OctetString(toArrayBuffer(createHash('sha1').update(subjectPublicKeyBits(signer.publicKey)).digest())) }),
    producedAt: wholeSeconds(params.producedAt),
    responses: params.answers.map((a) => new ocsp.SingleResponse({
      certID: a.certId,
      certStatus: certStatus(a.status),
      thisUpdate: wholeSeconds(a.thisUpdate),
      nextUpdate: wholeSeconds(a.nextUpdate),
    })),
  });
  const tbs = new Uint8Array(AsnConvert.serialize(data));
  const signature = await signer.sign(tbs);
  const basic = new ocsp.BasicOCSPResponse({
    tbsResponseData: data,
    signatureAlgorithm: algorithmIdentifier(signer.signatureAlgorithm),
    signature: toArrayBuffer(signature),
    certs: [AsnConvert.parse(toArrayBuffer(responderCertificate), asn1.Certificate)],
  });
  return new Uint8Array(AsnConvert.serialize(new ocsp.OCSPResponse({
    responseStatus: ocsp.OCSPResponseStatus.successful,
    responseBytes: new ocsp.ResponseBytes({ responseType: ocsp.id_pkix_ocsp_basic, response: new OctetString(AsnConvert.serialize(basic)) }),
  })));
}

function certStatus(status: OcspCertStatus): ocsp.CertStatus {
  if (status.status === 'good') return new ocsp.CertStatus({ good: null });
  if (status.status === 'unknown') return new ocsp.CertStatus({ unknown: null });
  return new ocsp.CertStatus({
    revoked: new ocsp.RevokedInfo({
      revocationTime: wholeSeconds(status.revokedAt),
      revocationReason: status.reason && status.reason !== 'unspecified' ? new asn1.CRLReason(CRL_REASONS[status.reason]) : undefined,
    }),
  });
}

/** An unsuccessful OCSPResponse (no responseBytes, nothing signed). */
export function ocspErrorResponse(status: OcspErrorStatus): Uint8Array {
  return new Uint8Array(AsnConvert.serialize(new ocsp.OCSPResponse({ responseStatus: ocsp.OCSPResponseStatus[status] })));
}

/** For tests and clients: the statuses in a response, and the parsed BasicOCSPResponse with its exact signed bytes. */
export function readOcspResponse(der: Uint8Array): { status: keyof typeof ocsp.OCSPResponseStatus; basic?: ocsp.BasicOCSPResponse; tbs?: Uint8Array } {
  const response = AsnConvert.parse(toArrayBuffer(der), ocsp.OCSPResponse);
  const status = ocsp.OCSPResponseStatus[response.responseStatus] as keyof typeof ocsp.OCSPResponseStatus;
  if (!response.responseBytes) return { status };
  const bytes = new Uint8Array(response.responseBytes.response.buffer);
  const basic = AsnConvert.parse(toArrayBuffer(bytes), ocsp.BasicOCSPResponse);
  return { status, basic, tbs: derSequenceItems(bytes)[0]!.raw };
}

/** For tests and clients: an OCSPRequest for one certificate (SHA-1 CertID, as OpenSSL sends by default). */
export function createOcspRequest(issuerCertificate: Uint8Array, serialHexDigits: string, hash: OcspCertQuery['hash'] = 'sha1'): Uint8Array {
  const oid = Object.keys(CERT_ID_HASHES).find((k) => CERT_ID_HASHES[k] === hash)!;
  const { nameHash, keyHash } = issuerHashes(issuerCertificate, hash);
  const certId = new ocsp.CertID({
    hashAlgorithm: new asn1.AlgorithmIdentifier({ algorithm: oid, parameters: null }),
    issuerNameHash: new OctetString(toArrayBuffer(nameHash)),
    issuerKeyHash: new OctetString(toArrayBuffer(keyHash)),
    serialNumber: toArrayBuffer(Buffer.from(serialHexDigits, 'hex')),
  });
  return new Uint8Array(AsnConvert.serialize(new ocsp.OCSPRequest({ tbsRequest: new ocsp.TBSRequest({ requestList: [new ocsp.Request({ reqCert: certId })] }) })));
}

export { ocsp as ocspAsn1 };
