// The operator's tools (`cobble ca admin`): revoke by serial, account or name; block a key; pause an account; and
// incidents — select affected certificates, tell their clients through ARI to renew now, follow the replacements,
// and after the deadline revoke what is left. Everything goes through the SA (any of its databases) in batches keyed
// by certificate ID, so a million certificates are never held at once, and the state lives in the database, so a
// run that is killed is run again and carries on.
import { newId } from '../core/index.js';
import type { Clock } from '../core/clock.js';
import type { StorageAuthority } from '../sa/index.js';
import { IncidentStore, type CertificateCandidate, type CertificateFilter, type Incident, type IncidentProgress } from '../sa/incidents.js';

/** A refusal the operator fixes (a name taken, a deadline not reached): the CLI prints it as is. */
export class AdminError extends Error {}

/** Certificates per transaction: large enough to amortize a commit, small enough for any database's parameter limit. */
export const DEFAULT_BATCH = 500;

/** RFC 5280 CRLReason codes the CA may use (7 is unused; removeFromCRL is for delta CRLs). */
export const CA_REVOCATION_REASONS: Record<string, number> = {
  unspecified: 0,
  keyCompromise: 1,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  privilegeWithdrawn: 9,
};

export interface Progress {
  phase: string;
  done: number;
  /** Known for work on a known set (an incident's selection), unknown for scans. */
  total?: number;
}

export interface AdminOptions {
  clock: Clock;
  batchSize?: number;
  onProgress?: (progress: Progress) => void;
  /** Called after certificates were revoked, so that their CRLs are signed again (the CRL updater's regenerateAll). */
  afterRevocation?: () => Promise<void>;
}

export interface RevokeOutcome {
  /** Certificates the request matched (unrevoked and unexpired, or listed by serial). */
  matched: number;
  revoked: number;
  alreadyRevoked: number;
  /** Serials the CA never issued. */
  unknown: string[];
}

/** How an incident selects certificates; every criterion given must hold. */
export interface IncidentSelection {
  /** Issued (notBefore) at or after, epoch ms. */
  issuedAfter?: number;
  /** Issued before, epoch ms. */
  issuedBefore?: number;
  profile?: string;
  issuer?: string;
  /** Lower-case hex serials; the selection is then these certificates (still filtered by the rest). */
  serials?: string[];
  /** A name pattern: `*` matches any run of characters (`*.example.com`, `shop.*`); matched against every name. */
  namePattern?: string;
}

export interface IncidentSpec {
  name: string;
  selection: IncidentSelection;
  deadline: number;
  reason: number;
  explanationUrl?: string;
}

/** The hex the SA keys serials by, from what operators paste (upper case, colons, 0x). */
export function normalizeSerial(serial: string): string | undefined {
  let hex = serial.trim().replace(/^0x/i, '').replace(/:/g, '').toLowerCase();
  if (!/^[0-9a-f]{1,64}$/.test(hex)) return undefined;
  if (hex.length % 2) hex = `0${hex}`;
  // DER's sign byte is not part of the number the SA stores.
  return hex.replace(/^(00)+(?=[0-9a-f]{2})/, '');
}

function namePredicate(pattern: string): (name: string) => boolean {
  const regex = new RegExp(`^${pattern.toLowerCase().split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return (name) => regex.test(name);
}

function matchesName(candidate: CertificateCandidate, test: (name: string) => boolean): boolean {
  return candidate.identifiers.some((i) => test(i.value.toLowerCase()));
}

export class CaAdmin {
  readonly store: IncidentStore;
  private readonly batch: number;

  constructor(
    readonly sa: StorageAuthority,
    private readonly options: AdminOptions,
  ) {
    this.store = new IncidentStore(sa.db);
    this.batch = options.batchSize ?? DEFAULT_BATCH;
  }

  private progress(progress: Progress): void {
    this.options.onProgress?.(progress);
  }

  private async revoked(count: number): Promise<void> {
    if (count > 0) await this.options.afterRevocation?.();
  }

  // ---- revocation ----

  /** Revokes certificates by serial (the CA's own reasons, e.g. after a report). */
  async revokeSerials(serials: readonly string[], reason: number, dryRun = false): Promise<RevokeOutcome> {
    const outcome: RevokeOutcome = { matched: 0, revoked: 0, alreadyRevoked: 0, unknown: [] };
    const wanted = [...new Set(serials)];
    for (let i = 0; i < wanted.length; i += this.batch) {
      const chunk = wanted.slice(i, i + this.batch);
      const found = await this.store.certificatesBySerials(chunk);
      const known = new Set(found.map((c) => c.serial));
      outcome.unknown.push(...chunk.filter((s) => !known.has(s)));
      outcome.matched += found.length;
      const live = found.filter((c) => !c.revoked);
      outcome.alreadyRevoked += found.length - live.length;
      if (!dryRun) outcome.revoked += await this.store.revokeCertificates(live.map((c) => c.id), reason, this.options.clock.now());
      this.progress({ phase: 'revoke', done: Math.min(i + this.batch, wanted.length), total: wanted.length });
    }
    await this.revoked(outcome.revoked);
    return outcome;
  }

  /** Scans unrevoked, unexpired certificates by ID and revokes those `keep` accepts, a batch per transaction. */
  private async revokeScan(filter: Omit<CertificateFilter, 'activeAt'>, keep: (c: CertificateCandidate) => boolean, reason: number, dryRun: boolean): Promise<RevokeOutcome> {
    const outcome: RevokeOutcome = { matched: 0, revoked: 0, alreadyRevoked: 0, unknown: [] };
    const activeAt = this.options.clock.now();
    let cursor = '';
    for (;;) {
      const page = await this.store.certificatePage({ ...filter, activeAt }, cursor, this.batch);
      if (page.length === 0) break;
      cursor = page[page.length - 1]!.id;
      const chosen = page.filter(keep);
      outcome.matched += chosen.length;
      if (!dryRun) outcome.revoked += await this.store.revokeCertificates(chosen.map((c) => c.id), reason, this.options.clock.now());
      this.progress({ phase: 'revoke', done: outcome.matched });
    }
    await this.revoked(outcome.revoked);
    return outcome;
  }

  /** Every unexpired certificate the account ordered. */
  revokeAccount(accountId: string, reason: number, dryRun = false): Promise<RevokeOutcome> {
    return this.revokeScan({ accountId }, () => true, reason, dryRun);
  }

  /** Every unexpired certificate with this name (exact, or a `*` pattern). */
  revokeName(name: string, reason: number, dryRun = false): Promise<RevokeOutcome> {
    const test = namePredicate(name);
    return this.revokeScan({}, (c) => matchesName(c, test), reason, dryRun);
  }

  // ---- keys and accounts ----

  /** Refuses the key (hex SHA-256 of its SubjectPublicKeyInfo) in new accounts and CSRs. */
  async blockKey(spkiSha256: string, comment?: string): Promise<{ alreadyBlocked: boolean }> {
    const alreadyBlocked = await this.sa.isKeyBlocked(spkiSha256);
    if (!alreadyBlocked) await this.sa.blockKey(spkiSha256, 'admin', this.options.clock.now(), comment);
    return { alreadyBlocked };
  }

  /** A paused account gets `unauthorized` on new orders until unpaused. */
  async pause(accountId: string, comment?: string): Promise<{ changed: boolean }> {
    await this.requireAccount(accountId);
    return { changed: await this.store.pause(accountId, this.options.clock.now(), comment) };
  }

  async unpause(accountId: string): Promise<{ changed: boolean }> {
    await this.requireAccount(accountId);
    return { changed: await this.store.unpause(accountId) };
  }

  private async requireAccount(accountId: string): Promise<void> {
    if (!(await this.sa.getAccount(accountId))) throw new AdminError(`no account with ID ${accountId} (the last part of its account URL)`);
  }

  // ---- incidents ----

  /**
   * Creates the incident and selects its certificates, a batch per transaction with the cursor beside them; called
   * again with the same name, it resumes a selection that was interrupted. With `dryRun`, only counts.
   */
  async createIncident(spec: IncidentSpec, dryRun = false): Promise<{ incident?: Incident; selected: number; resumed: boolean }> {
    const existing = await this.store.incident(spec.name);
    if (existing && existing.state !== 'selecting') throw new AdminError(`incident "${spec.name}" already exists (${existing.state}); choose another name or see "incident status"`);
    if (existing && JSON.stringify(existing.selection) !== JSON.stringify(spec.selection)) {
      throw new AdminError(`incident "${spec.name}" was started with another selection; run it again with the same options to resume, or choose another name`);
    }
    let incident = existing;
    if (!incident && !dryRun) {
      const created = { id: newId(), name: spec.name, selection: spec.selection as Record<string, unknown>, explanationUrl: spec.explanationUrl, deadline: spec.deadline, reason: spec.reason, createdAt: this.options.clock.now() };
      if ((await this.store.createIncident(created)) === 'exists') return this.createIncident(spec, dryRun);
      incident = (await this.store.incident(spec.name))!;
    }
    const { selection } = spec;
    const test = selection.namePattern === undefined ? undefined : namePredicate(selection.namePattern);
    const activeAt = this.options.clock.now();
    const accept = (c: CertificateCandidate & { revoked?: boolean; notAfter?: number }) =>
      (test === undefined || matchesName(c, test)) &&
      (selection.issuedAfter === undefined || c.notBefore >= selection.issuedAfter) &&
      (selection.issuedBefore === undefined || c.notBefore < selection.issuedBefore) &&
      (selection.profile === undefined || c.profile === selection.profile) &&
      (selection.issuer === undefined || c.issuerName === selection.issuer) &&
      c.revoked !== true &&
      (c.notAfter === undefined || c.notAfter > activeAt);
    let selected = 0;
    const save = async (rows: CertificateCandidate[], cursor: string) => {
      selected += rows.length;
      if (incident) await this.store.addSelected(incident.id, rows, cursor);
      this.progress({ phase: 'select', done: selected, ...(selection.serials ? { total: selection.serials.length } : {}) });
    };
    const resumeFrom = incident?.selectCursor ?? '';
    if (selection.serials) {
      // The cursor is the index of the next serial, zero-padded so that it sorts as it counts.
      for (let i = resumeFrom ? Number(resumeFrom) : 0; i < selection.serials.length; i += this.batch) {
        const chunk = selection.serials.slice(i, i + this.batch);
        await save((await this.store.certificatesBySerials(chunk)).filter(accept), String(i + chunk.length).padStart(12, '0'));
      }
    } else {
      const filter: CertificateFilter = { activeAt, issuedAfter: selection.issuedAfter, issuedBefore: selection.issuedBefore, profile: selection.profile, issuer: selection.issuer };
      let cursor = resumeFrom;
      for (;;) {
        const page = await this.store.certificatePage(filter, cursor, this.batch);
        if (page.length === 0) break;
        cursor = page[page.length - 1]!.id;
        await save(page.filter(accept), cursor);
      }
    }
    if (incident) {
      await this.store.setIncidentState(incident.id, 'open');
      incident = await this.store.incident(spec.name);
      selected = (await this.store.progress(incident!.id)).selected;
    }
    return { incident, selected, resumed: existing !== undefined };
  }

  async incidentStatus(name: string): Promise<{ incident: Incident; progress: IncidentProgress }> {
    const incident = await this.requireIncident(name);
    return { incident, progress: await this.store.progress(incident.id) };
  }

  async setDeadline(name: string, deadline: number): Promise<Incident> {
    const incident = await this.requireIncident(name);
    await this.store.setIncidentDeadline(incident.id, deadline);
    return (await this.store.incident(name))!;
  }

  /**
   * After the deadline, revokes every selected certificate not yet revoked, with the incident's reason. Each batch is
   * one transaction that revokes (only unrevoked certificates) and marks the batch processed, so a run killed at any
   * point is run again and revokes each remaining certificate exactly once. `force` revokes before the deadline.
   */
  async revokeIncident(name: string, options: { dryRun?: boolean; force?: boolean } = {}): Promise<{ handled: number; revoked: number; progress: IncidentProgress }> {
    const incident = await this.requireIncident(name);
    const now = this.options.clock.now();
    if (incident.state === 'selecting') throw new AdminError(`incident "${name}" is still selecting certificates; run "incident create" with the same options again to finish the selection`);
    if (now < incident.deadline && !options.force) {
      throw new AdminError(`incident "${name}" has its replacement deadline at ${new Date(incident.deadline).toISOString()}; wait for it, move it with "incident deadline", or pass --force`);
    }
    const before = await this.store.progress(incident.id);
    if (options.dryRun) return { handled: before.selected - before.processed, revoked: 0, progress: before };
    await this.store.setIncidentState(incident.id, 'revoking');
    let cursor = '';
    let handled = 0;
    let revoked = 0;
    const total = before.selected - before.processed;
    for (;;) {
      const batch = await this.store.revokeIncidentBatch(incident.id, cursor, this.batch, incident.reason, this.options.clock.now());
      if (batch.lastId === undefined) break;
      cursor = batch.lastId;
      handled += batch.handled;
      revoked += batch.revoked;
      this.progress({ phase: 'revoke', done: handled, total });
    }
    await this.store.setIncidentState(incident.id, 'revoked', this.options.clock.now());
    // Also after a resumed run that found nothing left: the killed run may have died before signing the CRLs.
    await this.options.afterRevocation?.();
    return { handled, revoked, progress: await this.store.progress(incident.id) };
  }

  private async requireIncident(name: string): Promise<Incident> {
    const incident = await this.store.incident(name);
    if (!incident) throw new AdminError(`no incident named "${name}"; "cobble ca admin incident list" shows them`);
    return incident;
  }

  listIncidents(): Promise<Incident[]> {
    return this.store.listIncidents();
  }
}
