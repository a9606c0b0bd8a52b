// HPKE key lifecycle for one aggregator: pending (decrypts, not advertised, so every replica loads it before
// clients see it) → active (advertised; the most recently activated is current and listed first) → expired (still
// decrypts reports sealed to it) → deleted (retired: its reports are refused with outdatedConfig). The rotator
// walks keys through these states on a schedule; an operator can do each step by hand (add, activate, retire).
import { randomInt } from 'node:crypto';
import { encodeHpkeConfig, decodeHpkeConfig, type HpkeConfig } from '../messages/index.js';
import { AEAD_AES_128_GCM, KDF_HKDF_SHA256, KEM_X25519_HKDF_SHA256, HpkeRecipient, generateKeyPair } from '../hpke/index.js';
import type { DapStore } from '../store/index.js';
import { KeyStore } from '../store/keys.js';

export interface KeyRotationPolicy {
  /** How long a new key waits as pending before it is advertised. */
  pendingMs: number;
  /** How long a key stays the advertised one. */
  activeMs: number;
  /** How long an expired key still decrypts before it is deleted (≥ 2× clients' cache lifetime). */
  expiredMs: number;
}

export const DEFAULT_ROTATION: KeyRotationPolicy = { pendingMs: 3_600_000, activeMs: 28 * 86_400_000, expiredMs: 7 * 86_400_000 };

interface LoadedKey {
  config: HpkeConfig;
  recipient: HpkeRecipient;
  state: 'pending' | 'active' | 'expired';
  since: number;
}

export class Keyring {
  private keys = new Map<number, LoadedKey>();

  constructor(private readonly store: DapStore) {}

  async load(): Promise<void> {
    const next = new Map<number, LoadedKey>();
    for (const row of await this.store.listHpkeKeys()) {
      const prev = this.keys.get(row.config_id);
      next.set(row.config_id, {
        config: decodeHpkeConfig(new Uint8Array(row.config)),
        recipient: prev?.recipient ?? new HpkeRecipient(new Uint8Array(row.private_key)),
        state: row.state,
        since: Number(row.state_changed_at),
      });
    }
    this.keys = next;
  }

  /** Active configs, the current (most recently activated) first: the HpkeConfigList clients receive. */
  advertised(): HpkeConfig[] {
    return [...this.keys.values()].filter((k) => k.state === 'active').sort((a, b) => b.since - a.since).map((k) => k.config);
  }

  recipient(configId: number): HpkeRecipient | undefined {
    return this.keys.get(configId)?.recipient;
  }

  list(): { configId: number; state: string; since: number; publicKey: Uint8Array }[] {
    return [...this.keys.values()].map((k) => ({ configId: k.config.id, state: k.state, since: k.since, publicKey: k.config.publicKey }));
  }

  async create(state: 'pending' | 'active', now = Date.now()): Promise<HpkeConfig> {
    const used = new Set((await this.store.listHpkeKeys()).map((k) => k.config_id));
    if (used.size >= 256) throw new Error('all 256 HPKE config IDs are in use; delete expired keys first');
    let id = randomInt(256);
    while (used.has(id)) id = (id + 1) % 256;
    const kp = generateKeyPair();
    const config: HpkeConfig = { id, kemId: KEM_X25519_HKDF_SHA256, kdfId: KDF_HKDF_SHA256, aeadId: AEAD_AES_128_GCM, publicKey: kp.publicKey };
    await this.store.putHpkeKey({ configId: id, config: encodeHpkeConfig(config), privateKey: kp.privateKey, state, at: now });
    await this.load();
    return config;
  }

  /** A new key, pending: it decrypts at once but is advertised only once activated (by hand or by the rotator). */
  add(now = Date.now()): Promise<HpkeConfig> {
    return this.create('pending', now);
  }

  /** Makes a key current; the previously current key expires (still decrypts). Returns the IDs expired. */
  async activate(configId: number, now = Date.now()): Promise<number[]> {
    const expired = await new KeyStore(this.store.db).activate(configId, now);
    if (!expired) throw new KeyError(`no HPKE key with config ID ${configId}; \`cobble dap keys list\` shows them`);
    await this.load();
    return expired;
  }

  /** Deletes a key that is not current: reports sealed to it get outdatedConfig, and clients refetch. */
  async retire(configId: number): Promise<void> {
    const r = await new KeyStore(this.store.db).retire(configId);
    if (r === 'unknown') throw new KeyError(`no HPKE key with config ID ${configId}; \`cobble dap keys list\` shows them`);
    if (r === 'current') throw new KeyError(`HPKE key ${configId} is the current key; activate another one first (\`cobble dap keys add\`, then \`activate\`)`);
    await this.load();
  }

  /** First start: make sure one key is advertised. */
  async ensureActive(now = Date.now()): Promise<void> {
    await this.load();
    if (!this.advertised().length) await this.create('active', now);
  }

  /** One step of the rotation state machine; run periodically by every aggregator process. */
  async rotate(policy: KeyRotationPolicy = DEFAULT_ROTATION, now = Date.now()): Promise<string[]> {
    await this.load();
    const actions: string[] = [];
    const all = [...this.keys.values()];
    for (const k of all.filter((k) => k.state === 'pending' && now - k.since >= policy.pendingMs)) {
      await this.store.setHpkeKeyState(k.config.id, 'active', now);
      for (const old of all.filter((o) => o.state === 'active')) {
        await this.store.setHpkeKeyState(old.config.id, 'expired', now);
        actions.push(`expired ${old.config.id}`);
      }
      actions.push(`activated ${k.config.id}`);
    }
    const newestActive = all.filter((k) => k.state === 'active').sort((a, b) => b.since - a.since)[0];
    const hasPending = all.some((k) => k.state === 'pending');
    if (newestActive && !hasPending && now - newestActive.since >= policy.activeMs - policy.pendingMs) {
      const c = await this.create('pending', now);
      actions.push(`created pending ${c.id}`);
    }
    for (const k of all.filter((k) => k.state === 'expired' && now - k.since >= policy.expiredMs)) {
      await this.store.deleteHpkeKey(k.config.id);
      actions.push(`deleted ${k.config.id}`);
    }
    await this.load();
    return actions;
  }
}

/** A key operation that cannot be done as asked; the message says what to do instead. */
export class KeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyError';
  }
}
