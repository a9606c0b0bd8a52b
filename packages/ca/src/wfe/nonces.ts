// Anti-replay nonces (RFC 8555 §6.5). Kept in memory: a restart invalidates outstanding nonces, which clients
// handle by retrying on badNonce. The set is bounded; the oldest nonces are forgotten first.
import { randomPooled } from '../core/index.js';

export class NonceService {
  private readonly valid = new Set<string>();

  constructor(private readonly capacity = 100_000) {}

  issue(): string {
    const nonce = randomPooled(16).toString('base64url');
    this.valid.add(nonce);
    if (this.valid.size > this.capacity) {
      // A Set iterates in insertion order, so the first entry is the oldest.
      const oldest = this.valid.values().next().value as string;
      this.valid.delete(oldest);
    }
    return nonce;
  }

  /** True once per issued nonce. */
  redeem(nonce: string): boolean {
    return this.valid.delete(nonce);
  }
}
