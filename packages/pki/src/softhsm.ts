// SoftHSM2 tokens in a directory of their own, for tests and the ceremony demo. Never touches the system
// token directory: SOFTHSM2_CONF points at a config inside `dir`.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

export interface SoftHsm {
  /** The config file; the process must run with SOFTHSM2_CONF set to it before the module is initialized. */
  conf: string;
  module: string;
  /** Initializes a fresh token in the first free slot and returns its slot ID. */
  initToken(label: string, pin: string, soPin: string): number;
}

export function softHsmAvailable(): boolean {
  return existsSync(SOFTHSM_MODULE);
}

/** Writes `dir/softhsm2.conf` with tokens under `dir/tokens` and points this process's SOFTHSM2_CONF at it. */
export function useSoftHsm(dir: string): SoftHsm {
  const root = resolve(dir);
  const tokens = join(root, 'tokens');
  mkdirSync(tokens, { recursive: true });
  const conf = join(root, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  process.env.SOFTHSM2_CONF = conf;
  return {
    conf,
    module: SOFTHSM_MODULE,
    initToken(label, pin, soPin) {
      const out = execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', soPin], {
        env: { ...process.env, SOFTHSM2_CONF: conf }, encoding: 'utf8',
      });
      const match = /to slot (\d+)/.exec(out);
      if (!match) throw new Error(`softhsm2-util did not report a slot: ${out.trim()}`);
      return Number(match[1]);
    },
  };
}
