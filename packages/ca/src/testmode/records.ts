// The records test mode's DNS server serves: TXT (dns-01), CAA and A/AAAA overrides of its fixed loopback addresses,
// kept in memory and changed by whoever drives the test (lego through the httpreq endpoint, the management API).
import { isIPv4, isIPv6 } from 'node:net';

/** A CAA record as served: `flags` is the whole flags byte (128 = issuer critical), sent as given. */
export interface TestCaaRecord {
  flags: number;
  tag: string;
  value: string;
}

export interface TestDnsRecords {
  /** Adds a TXT value at `name`; a name holds several at once (a name and its wildcard share `_acme-challenge`). */
  addTxt(name: string, value: string): void;
  /** Removes one TXT value at `name` and leaves the others. */
  removeTxt(name: string, value: string): void;
  /** Replaces every TXT value at `name`. */
  setTxt(name: string, values: readonly string[]): void;
  clearTxt(name: string): void;
  txt(name: string): string[];
  /** Replaces every CAA record at `name`. */
  setCaa(name: string, records: readonly TestCaaRecord[]): void;
  clearCaa(name: string): void;
  caa(name: string): TestCaaRecord[];
  /** Replaces the A (`family` 4) or AAAA (6) addresses of `name`; without any, `name` is loopback again. */
  setAddresses(family: 4 | 6, name: string, addresses: readonly string[]): void;
  clearAddresses(family: 4 | 6, name: string): void;
  /** The addresses set for `name`; undefined when it has the default (127.0.0.1 / ::1). */
  addresses(family: 4 | 6, name: string): string[] | undefined;
  /** Forgets every record and address. */
  clear(): void;
}

/** DNS names compare case-insensitively, with or without the root's trailing dot. */
function key(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function checkCaa(record: TestCaaRecord): TestCaaRecord {
  if (!Number.isInteger(record.flags) || record.flags < 0 || record.flags > 255) throw new RangeError(`CAA flags must be a byte (0-255), got ${record.flags}`);
  // RFC 8659 §4.1: the tag is 1-15 ASCII letters and digits.
  if (!/^[A-Za-z0-9]{1,15}$/.test(record.tag)) throw new RangeError(`CAA tag must be 1-15 letters and digits, got ${JSON.stringify(record.tag)}`);
  return { flags: record.flags, tag: record.tag, value: record.value };
}

function checkAddress(family: 4 | 6, address: string): string {
  if (!(family === 4 ? isIPv4 : isIPv6)(address)) throw new RangeError(`not an IPv${family} address: ${JSON.stringify(address)}`);
  return address;
}

export function createTestDnsRecords(): TestDnsRecords {
  const txt = new Map<string, string[]>();
  const caa = new Map<string, TestCaaRecord[]>();
  const addresses = { 4: new Map<string, string[]>(), 6: new Map<string, string[]>() };
  const put = <T>(map: Map<string, T[]>, name: string, values: T[]) => {
    if (values.length === 0) map.delete(key(name));
    else map.set(key(name), values);
  };
  return {
    addTxt: (name, value) => put(txt, name, [...(txt.get(key(name)) ?? []), value]),
    removeTxt: (name, value) => put(txt, name, (txt.get(key(name)) ?? []).filter((v) => v !== value)),
    setTxt: (name, values) => put(txt, name, [...values]),
    clearTxt: (name) => txt.delete(key(name)),
    txt: (name) => [...(txt.get(key(name)) ?? [])],
    setCaa: (name, records) => put(caa, name, records.map(checkCaa)),
    clearCaa: (name) => caa.delete(key(name)),
    caa: (name) => (caa.get(key(name)) ?? []).map((r) => ({ ...r })),
    setAddresses: (family, name, list) => put(addresses[family], name, list.map((a) => checkAddress(family, a))),
    clearAddresses: (family, name) => addresses[family].delete(key(name)),
    addresses: (family, name) => {
      const list = addresses[family].get(key(name));
      return list && [...list];
    },
    clear: () => {
      txt.clear();
      caa.clear();
      addresses[4].clear();
      addresses[6].clear();
    },
  };
}
