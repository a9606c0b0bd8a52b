// Accounts (RFC 8555 §7.3): creation with contact checks, key policy and blocked keys, the new-accounts-per-IP limit;
// updates, deactivation and key rollover.
import { createPublicKey } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { AcmeProblem, newId, type Account } from '../core/index.js';
import { spkiSha256 } from '../policy/index.js';
import type { RaContext } from './context.js';
import { newAccountTransactions } from './ratelimits/index.js';

const MAX_CONTACTS = 10;
const EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

export function checkContacts(contact: unknown): string[] {
  if (contact === undefined) return [];
  if (!Array.isArray(contact)) throw new AcmeProblem('malformed', 'contact must be an array of URIs');
  if (contact.length > MAX_CONTACTS) throw new AcmeProblem('invalidContact', `at most ${MAX_CONTACTS} contacts are accepted`);
  for (const entry of contact) {
    if (typeof entry !== 'string') throw new AcmeProblem('malformed', 'each contact must be a string URI');
    if (!entry.startsWith('mailto:')) {
      throw new AcmeProblem('unsupportedContact', `contact "${entry}" is not supported; only mailto: URIs are`);
    }
    const address = entry.slice('mailto:'.length);
    if (address.includes('?') || address.includes(',')) {
      throw new AcmeProblem('invalidContact', `contact "${entry}": one address per mailto: URI and no header fields`);
    }
    if (!EMAIL.test(address)) throw new AcmeProblem('invalidContact', `contact "${entry}" is not a valid email address`);
  }
  return contact as string[];
}

export function publicPart(jwk: JWK): Record<string, unknown> {
  const { kty, crv, x, y, n, e } = jwk;
  return Object.fromEntries(Object.entries({ kty, crv, x, y, n, e }).filter(([, v]) => v !== undefined));
}

export function spkiOfJwk(jwk: JWK): Buffer {
  return createPublicKey({ key: jwk as any, format: 'jwk' }).export({ type: 'spki', format: 'der' });
}

export class Accounts {
  constructor(private readonly ctx: RaContext) {}

  get(id: string): Promise<Account | undefined> {
    return this.ctx.sa.getAccount(id);
  }

  findByKey(thumbprint: string): Promise<Account | undefined> {
    return this.ctx.sa.getAccountByThumbprint(thumbprint);
  }

  /** A key on the blocked-keys table (compromised, or blocked by an operator) may not be an account key. */
  private async refuseBlockedKey(jwk: JWK): Promise<void> {
    if (await this.ctx.sa.isKeyBlocked(spkiSha256(spkiOfJwk(jwk)))) {
      throw new AcmeProblem('badPublicKey', 'this key is blocked (it was reported compromised or blocked by the CA); use a new key');
    }
  }

  /** Creates an account, or returns the existing one for the same key (RFC 8555 §7.3.1). */
  async create(request: {
    jwk: JWK;
    thumbprint: string;
    contact: unknown;
    termsAgreed: boolean;
    externalAccountBinding?: Record<string, unknown>;
    /** The client's address, for the new-accounts-per-IP limit. */
    ip: string;
  }): Promise<{ account: Account; created: boolean }> {
    const existing = await this.ctx.sa.getAccountByThumbprint(request.thumbprint);
    if (existing) return { account: existing, created: false };
    const contact = checkContacts(request.contact);
    await this.refuseBlockedKey(request.jwk);
    const limits = newAccountTransactions(request.ip);
    await this.ctx.limiter.spend(limits);
    const account: Account = {
      id: newId(),
      jwk: request.jwk as Record<string, unknown>,
      thumbprint: request.thumbprint,
      status: 'valid',
      contact,
      termsAgreed: request.termsAgreed,
      externalAccountBinding: request.externalAccountBinding,
      createdAt: this.ctx.clock.now(),
    };
    if ((await this.ctx.sa.createAccount(account)) === 'exists') {
      // Two concurrent newAccount requests with one key: the other one won; return its account.
      await this.ctx.limiter.refund(limits);
      const winner = await this.ctx.sa.getAccountByThumbprint(request.thumbprint);
      if (winner) return { account: winner, created: false };
    }
    return { account, created: true };
  }

  async update(account: Account, update: { contact?: unknown; status?: unknown; termsOfServiceAgreed?: unknown }): Promise<Account> {
    if (update.status !== undefined && update.status !== 'deactivated') {
      throw new AcmeProblem('malformed', `an account's status can only be set to "deactivated", not ${JSON.stringify(update.status)}`);
    }
    const changes: { contact?: string[]; status?: 'deactivated'; termsAgreed?: boolean } = {};
    if (update.contact !== undefined) changes.contact = checkContacts(update.contact);
    if (update.status === 'deactivated') changes.status = 'deactivated';
    if (update.termsOfServiceAgreed === true) changes.termsAgreed = true;
    await this.ctx.sa.updateAccount(account.id, changes);
    return (await this.ctx.sa.getAccount(account.id))!;
  }

  /** Key rollover (RFC 8555 §7.3.5). Returns the other account's ID when the new key is already in use. */
  async changeKey(account: Account, newJwk: JWK): Promise<{ account: Account } | { conflictAccountId: string }> {
    const thumbprint = await calculateJwkThumbprint(newJwk, 'sha256');
    if (thumbprint === account.thumbprint) throw new AcmeProblem('malformed', 'the new key is the same as the current account key');
    const holder = await this.ctx.sa.getAccountByThumbprint(thumbprint);
    if (holder) return { conflictAccountId: holder.id };
    await this.refuseBlockedKey(newJwk);
    if ((await this.ctx.sa.updateAccountKey(account.id, publicPart(newJwk), thumbprint)) === 'conflict') {
      const winner = await this.ctx.sa.getAccountByThumbprint(thumbprint);
      return { conflictAccountId: winner?.id ?? account.id };
    }
    return { account: (await this.ctx.sa.getAccount(account.id))! };
  }
}
