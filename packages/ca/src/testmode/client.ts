// A typed client of test mode's management API (management.ts), for tests in Node (startTestCa hands one out).
import type { FaultCounts, FaultSettings, FaultSettingsInput } from './faults.js';
import type { CertificateStatus, ChainCertificate } from './management.js';
import type { TestCaaRecord } from './records.js';

export type { CertificateStatus, ChainCertificate } from './management.js';
export type { FaultCounts, FaultSettings, FaultSettingsInput } from './faults.js';

export interface ManagementClient {
  /** Base URL of the API, e.g. http://127.0.0.1:40123. */
  url: string;
  /** The root of every issuer's chains, default (chain 0) and alternates. */
  roots(): Promise<ChainCertificate[]>;
  /** The certificates served after the leaf, for every issuer's chains. */
  intermediates(): Promise<ChainCertificate[]>;
  /** Status by serial (hex, any case, colons allowed); rejects when the CA never issued it. */
  certificate(serial: string): Promise<CertificateStatus>;
  /** Revokes as the CA (any RFC 5280 reason code, default 0); rejects when already revoked. */
  revoke(serial: string, reason?: number): Promise<CertificateStatus>;
  /** RFC 9773: serves this window (RFC 3339 or Date) from renewalInfo for the certificate until cleared. */
  setAriWindow(serial: string, window: { start: string | Date; end: string | Date; explanationURL?: string }): Promise<void>;
  /** Back to the computed ARI window. */
  clearAriWindow(serial: string): Promise<void>;
  /** Adds a TXT value at `host` (e.g. `_acme-challenge.example.com`). */
  setTxt(host: string, value: string): Promise<void>;
  clearTxt(host: string): Promise<void>;
  /** Replaces the CAA records at `host`; `flags` defaults to 0. */
  setCaa(host: string, policies: Array<Omit<TestCaaRecord, 'flags'> & { flags?: number }>): Promise<void>;
  clearCaa(host: string): Promise<void>;
  /** Replaces the A (or AAAA) addresses of `host`, which otherwise is 127.0.0.1 (::1). */
  setA(host: string, addresses: string[]): Promise<void>;
  clearA(host: string): Promise<void>;
  setAaaa(host: string, addresses: string[]): Promise<void>;
  clearAaaa(host: string): Promise<void>;
  /** Clears every DNS record and address override; certificates and accounts stay. */
  reset(): Promise<void>;
  /** The fault knobs in force. */
  faults(): Promise<FaultSettings>;
  /** Replaces every fault knob (left out = off) and answers the settings now in force. */
  setFaults(settings: FaultSettingsInput): Promise<FaultSettings>;
  /** How many faults the CA injected since it started. */
  injectedFaults(): Promise<FaultCounts>;
}

export function managementClient(url: string): ManagementClient {
  const call = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    const response = await fetch(url + path, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }),
    });
    if (!response.ok) {
      const problem = (await response.json().catch(() => ({}))) as { error?: string };
      throw new Error(`${method} ${path}: ${response.status} ${problem.error ?? response.statusText}`);
    }
    return (response.status === 204 ? undefined : await response.json()) as T;
  };
  return {
    url,
    roots: () => call('GET', '/roots'),
    intermediates: () => call('GET', '/intermediates'),
    certificate: (serial) => call('GET', `/certificates/${encodeURIComponent(serial)}`),
    revoke: (serial, reason = 0) => call('POST', '/revoke', { serial, reason }),
    setAriWindow: (serial, { start, end, explanationURL }) =>
      call('POST', '/set-ari-window', { serial, start: new Date(start).toISOString(), end: new Date(end).toISOString(), ...(explanationURL ? { explanationURL } : {}) }),
    clearAriWindow: (serial) => call('POST', '/clear-ari-window', { serial }),
    setTxt: (host, value) => call('POST', '/set-txt', { host, value }),
    clearTxt: (host) => call('POST', '/clear-txt', { host }),
    setCaa: (host, policies) => call('POST', '/set-caa', { host, policies }),
    clearCaa: (host) => call('POST', '/clear-caa', { host }),
    setA: (host, addresses) => call('POST', '/set-a', { host, addresses }),
    clearA: (host) => call('POST', '/clear-a', { host }),
    setAaaa: (host, addresses) => call('POST', '/set-aaaa', { host, addresses }),
    clearAaaa: (host) => call('POST', '/clear-aaaa', { host }),
    reset: () => call('POST', '/reset', {}),
    faults: () => call('GET', '/faults'),
    setFaults: (settings) => call('POST', '/faults', settings),
    injectedFaults: () => call('GET', '/faults/injected'),
  };
}
