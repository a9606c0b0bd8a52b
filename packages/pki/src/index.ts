// @cobble/pki: keys and signers (PKCS#11 token, encrypted key file), certificate/CRL/CSR building with
// lint-then-sign, profiles, serials, and the lint suite. See README.md for the Signer contract.
export {
  EC_SPKI_PREFIXES, KEY_ALGORITHMS, SIGNATURE_ALGORITHMS, allowedSignatureAlgorithms, defaultSignatureAlgorithm, keyAlgorithmOfSpki, publicKeyObject,
  type KeyAlgorithm, type SignatureAlgorithm,
} from './algorithms.js';
export { bytesEqual, ecdsaRawToDer, fromHex, toHex } from './bytes.js';
export {
  KeyObjectSigner, checkSignatureAlgorithm, generateSoftwareKey, throwawaySigner, verifySignature, type Signer,
} from './signer.js';
export { KeyFileError, decryptKey, generateEncryptedKey, loadKeyFileSigner, type GeneratedKeyFile } from './keyfile.js';
export { Pkcs11Error, Pkcs11Session, type TokenSelector } from './pkcs11.js';
export { cryptoKeySigner, openSigner, type KeyFileConfig, type OpenedSigner, type Pkcs11KeyConfig, type SignerConfig } from './open-signer.js';
export { SOFTHSM_MODULE, softHsmAvailable, useSoftHsm, type SoftHsm } from './softhsm.js';
export { newSerialNumber, serialHex, type SerialOptions } from './serial.js';
export { fromPem, fromPemAll, toPem, type PemLabel } from './pem.js';
export {
  IssuanceCheckError, encodeTbsCertificate, issueCertificate, issueTbs, signCertificate,
  type CertificateTemplate, type IssueCertificateOptions, type IssueTbsOptions, type IssuedCertificate,
} from './certificate.js';
export { CRL_REASONS, encodeTbsCrl, issueCrl, type CrlEntry, type CrlReasonName, type CrlTemplate, type IssuedCrl } from './crl.js';
export { createCertificateRequest } from './csr.js';
export {
  OcspRequestError, createOcspRequest, issuerHashes, ocspAsn1, ocspErrorResponse, parseOcspRequest, readOcspResponse, signOcspResponse,
  type OcspCertQuery, type OcspCertStatus, type OcspErrorStatus, type OcspSingleAnswer,
} from './ocsp.js';
export { leafEncoder, type LeafEncoder, type LeafFields, type LeafIssuerProfile } from './leaf.js';
export {
  crossCertificateTemplate, intermediateTemplate, leafTemplate, ocspSignerTemplate, rootTemplate,
  type CrossProfile, type LeafProfile, type OcspSignerProfile, type RootProfile, type SubordinateProfile,
} from './profiles.js';
export {
  OID, certificateParts, encodeName, nameToString, subjectKeyIdentifierOf, subjectKeyIdentifierOfCertificate,
  type Extension, type KeyUsageName, type PolicySpec, type SubjectFields,
} from './x509.js';
export {
  CertificateView, CrlView, LINT_NAMES, LintFailure, certificateLints, crlLints, lintCertificate, lintCrl,
  type CertificateKind, type CertificateLintInput, type CrlKind, type CrlLintInput, type Lint, type LintFinding, type LintSource,
} from './lint/index.js';
