// Shared helpers for the official test vectors (read as they are from ../shared/testdata/vdaf).
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const VECTOR_ROOT = fileURLToPath(new URL('../../../../shared/testdata/vdaf/', import.meta.url));

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

export function unhex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'hex'));
}

export function listVectors(dir: string, prefix: string): string[] {
  return readdirSync(VECTOR_ROOT + dir)
    .filter((n) => n.startsWith(prefix) && n.endsWith('.json'))
    .sort();
}

export function loadVector(dir: string, name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(VECTOR_ROOT + dir + '/' + name, 'utf8')) as Record<string, unknown>;
}
