// Web Crypto's CSPRNG (globalThis.crypto in Node 20 and in browsers), so that the library has no `node:` import and
// a DAP client bundles it for the browser as it is.
const MAX_REQUEST = 65_536; // getRandomValues refuses larger requests

export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += MAX_REQUEST) globalThis.crypto.getRandomValues(out.subarray(i, Math.min(n, i + MAX_REQUEST)));
  return out;
}
