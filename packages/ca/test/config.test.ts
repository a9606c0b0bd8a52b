// Configuration: strict YAML validation with errors that name the file, the key and the expectation; defaults;
// and the `cobble ca serve` command's handling of a bad file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, caConfigSchema, loadCaConfigFile, parseCaConfig } from '../src/index.js';

async function withYaml(text: string, fn: (path: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'cobble-config-'));
  const path = join(dir, 'ca.yaml');
  await writeFile(path, text);
  try {
    await fn(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("defaults: HTTPS on 127.0.0.1:14000, data in ./data, Let's Encrypt's three profiles (classic by default), VA on 80/443", () => {
  const config = parseCaConfig({});
  assert.equal(config.dataDir, './data');
  assert.deepEqual(config.listen, { host: '127.0.0.1', port: 14000, httpPort: 14002 });
  assert.deepEqual(config.va, { httpPort: 80, tlsPort: 443 });
  assert.equal(config.profiles.default, 'classic');
  assert.equal(config.profiles.definitions.classic!.validity, 90 * 86_400_000);
  assert.equal(config.profiles.definitions.tlsserver!.authorizationReuse, 7 * 3_600_000);
  assert.equal(config.profiles.definitions.shortlived!.validity, 160 * 3_600_000);
  assert.deepEqual(config.profiles.definitions.shortlived!.identifierTypes, ['dns', 'ip']);
  assert.equal(config.caa.recheckAfter, 7 * 3_600_000);
  assert.equal(caConfigSchema.parse({}).listen.port, 14000);
});

test('a full valid file loads', async () => {
  await withYaml(
    `dataDir: /tmp/x
listen: { host: 127.0.0.1, port: 0, httpPort: 0 }
va: { httpPort: 5002, tlsPort: 5001, dnsServer: "127.0.0.1:8053", timeoutMs: 3000 }
acme:
  termsOfService: https://example.com/tos
  externalAccountBinding:
    keys: { kid-1: "${Buffer.alloc(32, 1).toString('base64url')}" }
caa: { identities: [example.com], recheckAfter: 0 }
policy: { blockedSuffixes: [example.net] }
profiles:
  default: short
  definitions:
    short:
      description: one week
      validity: 7d
      authorizationReuse: 1h
      pendingAuthorizationLifetime: 1h
      orderLifetime: 2h
      commonName: false
      keyEncipherment: false
      subjectKeyIdentifier: false
      maxNames: 10
`,
    async (path) => {
      const config = await loadCaConfigFile(path);
      assert.equal(config.va.dnsServer, '127.0.0.1:8053');
      assert.equal(config.acme.externalAccountBinding?.required, true);
      assert.equal(config.caa.recheckAfter, 0);
      assert.deepEqual(Object.keys(config.profiles.definitions), ['short'], 'given definitions replace the built-in ones');
      assert.equal(config.profiles.definitions.short!.validity, 7 * 86_400_000);
      assert.deepEqual(config.profiles.definitions.short!.identifierTypes, ['dns']);
    },
  );
});

test('an unknown key is refused with the file, the key path and the allowed keys', async () => {
  await withYaml('listen:\n  port: 0\n  prot: 1\n', async (path) => {
    await assert.rejects(loadCaConfigFile(path), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.file, path);
      assert.equal(err.keyPath, 'listen.prot');
      assert.match(err.message, new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: unknown key "listen\\.prot"; expected one of: host, port, httpPort`));
      return true;
    });
  });
  await withYaml('dataDir: ./d\nissuer: {}\n', async (path) => {
    await assert.rejects(loadCaConfigFile(path), /unknown key "issuer"; expected one of: dataDir, database, listen, va, caa, policy, profiles, rateLimits, nonces, cache, acme, issuance, stats, metrics, crl, ocsp, log, issuers, testMode/);
  });
});

test('a bad value names the key and what is expected', async () => {
  await withYaml('listen:\n  port: 70000\n', async (path) => {
    await assert.rejects(loadCaConfigFile(path), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.keyPath, 'listen.port');
      assert.match(err.message, /key "listen\.port": .*65535/);
      return true;
    });
  });
  await withYaml('va:\n  dnsServer: "8.8.8.8"\n', async (path) => {
    await assert.rejects(loadCaConfigFile(path), /key "va\.dnsServer": expected "host:port"/);
  });
  await withYaml('profiles:\n  default: gold\n', async (path) => {
    await assert.rejects(loadCaConfigFile(path), /key "profiles\.default": "gold" is not one of the defined profiles \(classic, tlsserver, shortlived\)/);
  });
  await withYaml('caa:\n  recheckAfter: 7 hours\n', async (path) => {
    await assert.rejects(loadCaConfigFile(path), /key "caa\.recheckAfter": expected a duration such as "30m", "7h" or "90d"/);
  });
  await withYaml('acme:\n  termsOfService: not a url\n', async (path) => {
    await assert.rejects(loadCaConfigFile(path), /key "acme\.termsOfService"/);
  });
});

test('broken YAML and a missing file are ConfigErrors naming the file', async () => {
  await withYaml('listen: [unclosed\n', async (path) => {
    await assert.rejects(loadCaConfigFile(path), (err: unknown) => err instanceof ConfigError && err.message.startsWith(`${path}: not valid YAML`));
  });
  await assert.rejects(loadCaConfigFile('/nonexistent/ca.yaml'), /\/nonexistent\/ca\.yaml: cannot read the configuration file/);
});

test('`cobble ca serve --config` with an unknown key exits 1 and prints the file and key', async () => {
  const bin = fileURLToPath(new URL('../../cli/bin/cobble.js', import.meta.url));
  await withYaml('listen:\n  bogus: true\n', async (path) => {
    const result = spawnSync(process.execPath, [bin, 'ca', 'serve', '--config', path], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(result.status, 1);
    assert.match(result.stderr, new RegExp(`cobble ca: ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: unknown key "listen\\.bogus"`));
  });
  const usage = spawnSync(process.execPath, [bin, 'ca', 'frob'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /usage: cobble ca serve/);
});

test('test mode refuses remote perspectives, which cannot see its DNS records', () => {
  const perspectives = { remotes: [{ name: 'a', rir: 'ARIN', url: 'https://127.0.0.1:1' }, { name: 'b', rir: 'RIPE', url: 'https://127.0.0.1:2' }], tls: { cert: 'c.pem', key: 'k.pem', ca: 'ca.pem' } };
  assert.throws(() => parseCaConfig({ testMode: { enabled: true }, va: { perspectives } }, 'ca.yaml'),
    (err: unknown) => err instanceof ConfigError && /ca\.yaml: key "va\.perspectives": test mode answers DNS on this machine only/.test(err.message));
  assert.ok(parseCaConfig({ va: { perspectives } }).va.perspectives, 'without test mode the same perspectives are accepted');
});
