// Table shapes as Kysely sees them. Column types are kept to what SQLite, MariaDB and PostgreSQL share: varchar for
// keys and short strings, text for JSON/PEM, bigint for epoch-millisecond times, integer for flags.
export interface AccountsTable {
  id: string;
  thumbprint: string;
  jwk: string;
  status: string;
  contact: string;
  terms_agreed: number;
  eab: string | null;
  created_at: number;
}

export interface OrdersTable {
  id: string;
  account_id: string;
  expires: number;
  identifiers: string;
  not_before: number | null;
  not_after: number | null;
  error: string | null;
  began_processing: number;
  /** When the order's finalize began (ms); NULL when it is not processing. */
  processing_since: number | null;
  certificate_id: string | null;
  created_at: number;
  profile: string;
  /** RFC 9773: the ARI certificate ID of the certificate this order replaces. */
  replaces: string | null;
}

export interface AuthorizationsTable {
  id: string;
  account_id: string;
  identifier_type: string;
  identifier_value: string;
  wildcard: number;
  status: string;
  expires: number;
  token: string;
  created_at: number;
  profile: string;
  validated_at: number | null;
  validation_method: string | null;
}

export interface OrderAuthorizationsTable {
  order_id: string;
  authz_id: string;
  position: number;
}

export interface ChallengesTable {
  id: string;
  authz_id: string;
  type: string;
  status: string;
  validated_at: number | null;
  error: string | null;
  validation_records: string | null;
  /** When the challenge was claimed for validation (NULL unless processing): the sweeper's clue to a dead validation. */
  processing_since: number | null;
}

export interface CertificatesTable {
  id: string;
  serial: string;
  account_id: string;
  order_id: string;
  pem: string;
  issuer_name: string;
  not_before: number;
  not_after: number;
  revoked_at: number | null;
  revoked_reason: number | null;
  profile: string;
  /** The CRL shard named in the certificate's CRL distribution point; null for leaves issued before sharding. */
  crl_shard: number | null;
}

/** Each CRL shard's last CRL number (they only increase) and when it was signed. */
export interface CrlShardsTable {
  issuer_name: string;
  shard: number;
  crl_number: number;
  this_update: number;
}

export interface BlockedKeysTable {
  /** Hex SHA-256 of the DER SubjectPublicKeyInfo. */
  spki_sha256: string;
  added_at: number;
  /** Why it is blocked: 'key-compromise' (a revocation proved it), 'admin', 'debian-weak-keys', ... */
  source: string;
  comment: string | null;
}

export interface SerialsTable {
  serial: string;
  account_id: string;
  created_at: number;
  expires: number;
}

/** Stats: one row per certificate issued since the stats tables exist (sa/stats.ts writes it at issuance). */
export interface StatsCertificatesTable {
  certificate_id: string;
  issued_at: number;
  not_after: number;
}

/** Stats: each DNS name of a certificate with its registered domain (eTLD+1, ICANN section). */
export interface StatsNamesTable {
  certificate_id: string;
  name: string;
  registered_domain: string;
}

/** Stats: the figures of one UTC day ("2026-12-04"), as of `computed_at`. */
export interface StatsDailyTable {
  day: string;
  computed_at: number;
  active_certificates: number;
  names: number;
  registered_domains: number;
  issued: number;
}

/** RFC 9773: which order replaces a certificate (one, unless that order went invalid). */
export interface CertificateReplacementsTable {
  serial: string;
  order_id: string;
  account_id: string;
  created_at: number;
}

export interface IncidentsTable {
  id: string;
  name: string;
  /** JSON of the query that selected the certificates. */
  selection: string;
  explanation_url: string | null;
  /** The replacement deadline; after it `incident revoke` revokes what is left. */
  deadline: number;
  /** RFC 5280 CRLReason for the bulk revocation. */
  reason: number;
  /** 'selecting' (resumable from select_cursor), 'open', 'revoking', 'revoked'. */
  state: string;
  select_cursor: string | null;
  created_at: number;
  revoked_at: number | null;
}

export interface IncidentCertificatesTable {
  incident_id: string;
  certificate_id: string;
  serial: string;
  /** Hex SHA-256 of the certificate's sorted names: a newer certificate with the same key replaces it. */
  names_key: string;
  not_before: number;
  replaced_at: number | null;
  /** Serial of the replacing certificate. */
  replaced_by: string | null;
  /** When `incident revoke` handled it (revoked it, or found it already revoked). */
  processed_at: number | null;
}

export interface AccountPausesTable {
  account_id: string;
  paused_at: number;
  comment: string | null;
}

/** Test mode: an ARI window set through the management API, served instead of the computed one. */
export interface RenewalWindowsTable {
  serial: string;
  window_start: number;
  window_end: number;
  explanation_url: string | null;
  set_at: number;
}

export interface Database {
  accounts: AccountsTable;
  orders: OrdersTable;
  authorizations: AuthorizationsTable;
  order_authorizations: OrderAuthorizationsTable;
  challenges: ChallengesTable;
  certificates: CertificatesTable;
  serials: SerialsTable;
  blocked_keys: BlockedKeysTable;
  crl_shards: CrlShardsTable;
  certificate_replacements: CertificateReplacementsTable;
  incidents: IncidentsTable;
  incident_certificates: IncidentCertificatesTable;
  account_pauses: AccountPausesTable;
  renewal_windows: RenewalWindowsTable;
  stats_certificates: StatsCertificatesTable;
  stats_names: StatsNamesTable;
  stats_daily: StatsDailyTable;
}
